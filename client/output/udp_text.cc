#include "client/output/udp_text.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/loss_text.h"
#include "client/output/tcp_text.h"

namespace netprobe::client {
namespace {

std::string ShownWithPort(const v1::Endpoint& target) {
  const std::string& ip = target.address().empty() ? target.host() : target.address();
  return target.family() == v1::ADDRESS_FAMILY_IPV6
             ? absl::StrCat("[", ip, "]:", target.port())
             : absl::StrCat(ip, ":", target.port());
}

}  // namespace

std::string FormatUdpEchoHeader(const v1::Endpoint& target, uint32_t size) {
  const std::string host = absl::StrContains(target.host(), ':')
                               ? absl::StrCat("[", target.host(), "]")
                               : target.host();
  return absl::StrFormat("UDP ECHO %s:%d (%s) %d bytes\n", host, target.port(),
                         ShownWithPort(target), size);
}

std::string FormatUdpEchoReply(const v1::UdpEchoReply& r) {
  const v1::AttemptResult& result = r.result();
  switch (result.outcome()) {
    case v1::OUTCOME_OK: {
      std::string line =
          r.duplicate()
              ? absl::StrFormat("%d bytes from %s: seq=%d (DUP!)", r.bytes(),
                                ShownWithPort(r.target()), r.sequence())
              : absl::StrFormat("%d bytes from %s: seq=%d time=%s ms", r.bytes(),
                                ShownWithPort(r.target()), r.sequence(), Millis(r.rtt()));
      if (r.out_of_order()) absl::StrAppend(&line, " (out of order)");
      if (r.corrupted()) absl::StrAppend(&line, " (payload corrupted)");
      return line + "\n";
    }
    case v1::OUTCOME_TIMEOUT:
      return absl::StrFormat("Request timeout for seq=%d\n", r.sequence());
    default:
      if (!result.reported_by().empty()) {
        return absl::StrFormat("From %s seq=%d %s\n", result.reported_by(), r.sequence(),
                               result.detail());
      }
      return absl::StrFormat(
          "udp: %s seq=%d: %s%s\n", ShownWithPort(r.target()), r.sequence(),
          result.error().empty() ? "" : result.error() + " ", result.detail());
  }
}

std::string FormatUdpEchoSummary(const v1::TargetSummary& s) {
  std::string out =
      absl::StrFormat("\n--- %s udp echo statistics ---\n", ShownWithPort(s.target()));
  absl::StrAppendFormat(&out, "%d datagrams sent, %d received", s.sent(), s.received());
  if (s.duplicates() > 0) absl::StrAppendFormat(&out, ", +%d duplicates", s.duplicates());
  if (s.errors() > 0) absl::StrAppendFormat(&out, ", +%d errors", s.errors());
  absl::StrAppendFormat(&out, ", %s loss", FormatLossPercent(s.loss_percent()));
  if (s.reordered() > 0) absl::StrAppendFormat(&out, ", %d reordered", s.reordered());
  if (s.corrupted() > 0) absl::StrAppendFormat(&out, ", %d corrupted", s.corrupted());
  if (s.late() > 0) absl::StrAppendFormat(&out, ", %d late", s.late());
  absl::StrAppend(&out, "\n");
  if (s.rtt().count() > 0) {
    absl::StrAppendFormat(&out, "rtt min/avg/max/mdev = %s/%s/%s/%s ms",
                          Millis(s.rtt().min()), Millis(s.rtt().avg()),
                          Millis(s.rtt().max()), Millis(s.rtt().stddev()));
    if (s.has_jitter()) absl::StrAppendFormat(&out, ", jitter %s ms", Millis(s.jitter()));
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace netprobe::client
