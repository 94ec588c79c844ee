#include "client/output/ping_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/loss_text.h"
#include "client/output/tcp_text.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

const std::string& Shown(const v1::Endpoint& target) {
  return target.address().empty() ? target.host() : target.address();
}

}  // namespace

std::string FormatPingHeader(const v1::Endpoint& target, uint32_t size) {
  if (target.family() == v1::ADDRESS_FAMILY_IPV6) {
    return absl::StrFormat("PING %s(%s) %d data bytes\n", target.host(), Shown(target),
                           size);
  }
  // 20 bytes of IPv4 header and 8 of ICMP header.
  return absl::StrFormat("PING %s (%s) %d(%d) bytes of data.\n", target.host(),
                         Shown(target), size, size + 28);
}

std::string FormatPingTimestamp(absl::Time time) {
  const int64_t micros = absl::ToUnixMicros(time);
  return absl::StrFormat("[%d.%06d] ", micros / 1000000, micros % 1000000);
}

std::string FormatPingReply(const v1::PingReply& r) {
  const v1::AttemptResult& result = r.result();
  switch (result.outcome()) {
    case v1::OUTCOME_OK: {
      std::string line = absl::StrFormat(
          "%d bytes from %s: icmp_seq=%d ttl=%d time=%s ms", r.bytes(), Shown(r.target()),
          r.sequence(), r.reply_ttl(), Millis(r.rtt()));
      if (r.duplicate()) {
        line = absl::StrFormat("%d bytes from %s: icmp_seq=%d ttl=%d (DUP!)", r.bytes(),
                               Shown(r.target()), r.sequence(), r.reply_ttl());
      }
      if (r.out_of_order()) absl::StrAppend(&line, " (out of order)");
      if (r.corrupted()) absl::StrAppend(&line, " (payload corrupted)");
      return line + "\n";
    }
    case v1::OUTCOME_TIMEOUT:
      return absl::StrFormat("no answer yet for icmp_seq=%d\n", r.sequence());
    default:
      if (!result.reported_by().empty()) {
        return absl::StrFormat("From %s icmp_seq=%d %s\n", result.reported_by(),
                               r.sequence(), result.detail());
      }
      return absl::StrFormat(
          "ping: %s icmp_seq=%d: %s%s\n", Shown(r.target()), r.sequence(),
          result.error().empty() ? "" : result.error() + " ", result.detail());
  }
}

std::string FormatPingSummary(const v1::TargetSummary& s,
                              std::optional<absl::Duration> elapsed) {
  std::string out = absl::StrFormat("\n--- %s ping statistics ---\n", s.target().host());
  absl::StrAppendFormat(&out, "%d packets transmitted, %d received", s.sent(),
                        s.received());
  if (s.duplicates() > 0) absl::StrAppendFormat(&out, ", +%d duplicates", s.duplicates());
  if (s.errors() > 0) absl::StrAppendFormat(&out, ", +%d errors", s.errors());
  absl::StrAppendFormat(&out, ", %s packet loss", FormatLossPercent(s.loss_percent()));
  if (s.late() > 0) absl::StrAppendFormat(&out, ", %d late", s.late());
  if (s.kernel_drops() > 0) {
    absl::StrAppendFormat(&out, ", %d dropped by the kernel (receive buffer full)",
                          s.kernel_drops());
  }
  if (elapsed) {
    absl::StrAppendFormat(&out, ", time %dms", absl::ToInt64Milliseconds(*elapsed));
  }
  absl::StrAppend(&out, "\n");
  if (s.rtt().count() > 0) {
    absl::StrAppendFormat(&out, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n",
                          Millis(s.rtt().min()), Millis(s.rtt().avg()),
                          Millis(s.rtt().max()), Millis(s.rtt().stddev()));
  }
  return out;
}

std::string FormatFpingReply(const v1::PingReply& r, size_t width,
                             std::optional<absl::Duration> avg, double loss_percent) {
  const std::string who = absl::StrFormat("%-*s", width, r.target().host());
  const uint32_t index = r.sequence() == 0 ? 0 : r.sequence() - 1;
  google::protobuf::Duration mean;
  if (avg) ToProto(*avg, &mean);
  const std::string running =
      absl::StrFormat(" (%s avg, %s loss)", avg ? Millis(mean) : std::string("NaN"),
                      FormatLossPercent(loss_percent));
  switch (r.result().outcome()) {
    case v1::OUTCOME_OK:
      if (r.duplicate()) {
        return absl::StrFormat("%s : [%d], %d bytes, %s ms (DUP!)\n", who, index,
                               r.bytes(), Millis(r.rtt()));
      }
      return absl::StrFormat("%s : [%d], %d bytes, %s ms%s\n", who, index, r.bytes(),
                             Millis(r.rtt()), running);
    case v1::OUTCOME_TIMEOUT:
      return absl::StrFormat("%s : [%d], timed out%s\n", who, index, running);
    default:
      return absl::StrFormat("%s : [%d], %s%s%s\n", who, index, r.result().detail(),
                             r.result().reported_by().empty()
                                 ? ""
                                 : absl::StrCat(" from ", r.result().reported_by()),
                             running);
  }
}

std::string FormatFpingSummary(const v1::TargetSummary& s, size_t width) {
  std::string out =
      absl::StrFormat("%-*s : xmt/rcv/%%loss = %d/%d/%s", width, s.target().host(),
                      s.sent(), s.received(), FormatLossPercent(s.loss_percent()));
  if (s.rtt().count() > 0) {
    absl::StrAppendFormat(&out, ", min/avg/max = %s/%s/%s", Millis(s.rtt().min()),
                          Millis(s.rtt().avg()), Millis(s.rtt().max()));
  }
  if (s.kernel_drops() > 0) {
    absl::StrAppendFormat(&out, ", %d dropped by the kernel", s.kernel_drops());
  }
  return out + "\n";
}

}  // namespace netprobe::client
