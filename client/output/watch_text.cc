#include "client/output/watch_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/output/label_text.h"
#include "client/output/ping_text.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

// ", path 198.18.1.1 * 198.18.0.11 (reached at hop 3)": flow 0's hops in TTL
// order, each by the first address that answered ('*': none, '|' joins
// several), like traceroute's columns on one line.
std::string FormatTracePath(const v1::ScheduledTrace& trace) {
  std::vector<std::string> hops;
  for (const v1::TracerouteHop& hop : trace.hops()) {
    if (hop.flow() != 0) continue;
    hops.push_back(hop.addresses().empty() ? "*" : absl::StrJoin(hop.addresses(), "|"));
  }
  const uint32_t reached = trace.summary().reached_ttl();
  return absl::StrCat(
      ", path ", hops.empty() ? "-" : absl::StrJoin(hops, " "),
      reached > 0 ? absl::StrCat(" (reached at hop ", reached, ")") : " (not reached)");
}

// ", send 941.3 Mbit/s, 12 retransmits, limited by the network": each
// direction's goodput at the receiver (summed over the streams), the agent's
// retransmits while it sent, and the verdict on its sending.
std::string FormatThroughput(const v1::ThroughputSummary& summary) {
  std::string out;
  for (const bool agent_sends : {true, false}) {
    for (const v1::ThroughputTotals& totals : summary.totals()) {
      if (totals.stream_id() != 0 || totals.agent_sends() != agent_sends) continue;
      if (agent_sends && !summary.remote_results()) continue;  // not counted there
      absl::StrAppend(
          &out, ", ", agent_sends ? "send " : "receive ",
          absl::StrFormat("%.1f Mbit/s", totals.receiver_bits_per_second() / 1e6));
      if (agent_sends && totals.retransmits() >= 0) {
        absl::StrAppend(&out, ", ", totals.retransmits(), " retransmits");
      }
    }
  }
  switch (summary.limited_by()) {
    case v1::THROUGHPUT_LIMIT_NETWORK:
      absl::StrAppend(&out, ", limited by the network");
      break;
    case v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW:
      absl::StrAppend(&out, ", limited by the receive window");
      break;
    case v1::THROUGHPUT_LIMIT_SEND_BUFFER:
      absl::StrAppend(&out, ", limited by the send buffer");
      break;
    case v1::THROUGHPUT_LIMIT_APPLICATION:
      absl::StrAppend(&out, ", limited by the application (bitrate)");
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

std::string FormatScheduledResult(const v1::ScheduledResult& result) {
  std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", FromProto(result.started()),
                                    absl::UTCTimeZone()),
                   " ", result.probe(), " #", result.run(), " ");
  if (result.has_summary()) {
    absl::StrAppend(&out, absl::StripSuffix(FormatFpingSummary(result.summary()), "\n"));
  }
  if (result.has_traceroute())
    absl::StrAppend(&out, FormatTracePath(result.traceroute()));
  if (result.has_throughput())
    absl::StrAppend(&out, FormatThroughput(result.throughput()));
  if (!result.error().empty()) {
    absl::StrAppend(&out, result.has_summary() ? ", " : "", "error: ", result.error());
  }
  if (!result.labels().empty())
    absl::StrAppend(&out, " ", FormatLabelSet(result.labels()));
  return out + "\n";
}

}  // namespace netprobe::client
