#include "client/output/tracepath_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

// tracepath's columns: "%2d: " + the host padded to 52 + "%3d.%03dms ".
constexpr int kHostColumn = 52;

std::string Rtt(const v1::TracerouteReply& reply) {
  const int64_t us = absl::ToInt64Microseconds(FromProto(reply.rtt()));
  return absl::StrFormat("%3d.%03dms ", us / 1000, us % 1000);
}

}  // namespace

uint32_t HopsBack(uint32_t reply_ttl) {
  if (reply_ttl == 0) return 0;
  if (reply_ttl <= 64) return 65 - reply_ttl;
  if (reply_ttl <= 128) return 129 - reply_ttl;
  return 256 - reply_ttl;
}

std::string TracepathLines::Add(const v1::TracerouteReply& reply) {
  std::string out;
  const bool local_too_big =
      reply.address().empty() && reply.result().outcome() == v1::OUTCOME_PACKET_TOO_BIG;
  if (!announced_) {
    announced_ = true;
    const uint32_t pmtu = local_too_big && reply.next_hop_mtu() != 0
                              ? reply.next_hop_mtu()
                              : reply.packet_length();
    absl::StrAppendFormat(&out, "%2d?: %-32s pmtu %d\n", reply.ttl(), "[LOCALHOST]",
                          pmtu);
    if (local_too_big) return out;
  }
  if (local_too_big) {
    absl::StrAppendFormat(&out, "%2d?: %-32s pmtu %d\n", reply.ttl(), "[LOCALHOST]",
                          reply.next_hop_mtu());
    return out;
  }
  if (reply.result().outcome() == v1::OUTCOME_TIMEOUT) {
    // One "no reply" per silent hop, as tracepath prints it once its tries
    // are spent; a hop that answers later prints its answer instead.
    if (silent_ttl_ != reply.ttl() && answered_ttl_ != reply.ttl() &&
        reply.probe() + 1 >= tries_) {
      silent_ttl_ = reply.ttl();
      absl::StrAppendFormat(&out, "%2d:  no reply\n", reply.ttl());
    }
    return out;
  }
  answered_ttl_ = reply.ttl();
  if (reply.address().empty()) {
    absl::StrAppendFormat(&out, "%2d:  send failed: %s\n", reply.ttl(),
                          reply.result().detail());
    return out;
  }
  // Without -n, tracepath prints the name where there is one.
  const std::string& host = reply.hostname().empty() ? reply.address() : reply.hostname();
  absl::StrAppendFormat(&out, "%2d:  %-*s%s", reply.ttl(), kHostColumn, host, Rtt(reply));
  const uint32_t back = HopsBack(reply.reply_ttl());
  if (reply.next_hop_mtu() != 0 && reply.next_hop_mtu() < reply.packet_length()) {
    absl::StrAppendFormat(&out, "pmtu %d", reply.next_hop_mtu());
  } else if (reply.reached()) {
    back_ = back;
    out += "reached";
  } else if (back != 0 && back != reply.ttl()) {
    absl::StrAppendFormat(&out, "asymm %2d ", back);
  }
  out += "\n";
  return out;
}

std::string TracepathLines::Summary(const v1::TracerouteSummary& summary) {
  std::string out;
  if (summary.reached_ttl() == 0) {
    absl::StrAppendFormat(&out, "     Too many hops: pmtu %d\n", summary.path_mtu());
    absl::StrAppendFormat(&out, "     Resume: pmtu %d \n", summary.path_mtu());
    return out;
  }
  absl::StrAppendFormat(&out, "     Resume: pmtu %d hops %d back %d \n",
                        summary.path_mtu(), summary.reached_ttl(),
                        back_ != 0 ? back_ : summary.reached_ttl());
  return out;
}

}  // namespace netprobe::client
