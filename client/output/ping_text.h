#ifndef NETPROBE_CLIENT_OUTPUT_PING_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_PING_TEXT_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe::client {

// iputils' header, IPv4 with the IP packet size, IPv6 without:
//   "PING web (198.18.0.11) 56(84) bytes of data."
//   "PING web6(2001:db8::11) 56 data bytes"
std::string FormatPingHeader(const v1::Endpoint& target, uint32_t size);

// One reply the way iputils ping prints it:
//   "64 bytes from 198.18.0.11: icmp_seq=1 ttl=64 time=0.045 ms"
//   "From 198.18.1.1 icmp_seq=2 Time to live exceeded"
//   "no answer yet for icmp_seq=3" (a timeout: ping -O prints it, else none)
std::string FormatPingReply(const v1::PingReply& reply);

// ping -D's prefix of a line: "[1733312345.123456] ".
std::string FormatPingTimestamp(absl::Time time);

// ping's closing block for one target; `elapsed` (ping's "time 4005ms"),
// when known, from the first request to the end of the run.
std::string FormatPingSummary(const v1::TargetSummary& summary,
                              std::optional<absl::Duration> elapsed = std::nullopt);

// One reply the way fping -c prints it with many targets (sequence from 0),
// the target as given padded to `width` (the longest target's), with the
// target's running average and loss:
//   "198.18.0.11 : [0], 64 bytes, 0.045 ms (0.045 avg, 0% loss)"
//   "web         : [1], timed out (0.045 avg, 50% loss)"
//   "198.18.0.12 : [0], timed out (NaN avg, 100% loss)"
std::string FormatFpingReply(const v1::PingReply& reply, size_t width,
                             std::optional<absl::Duration> avg, double loss_percent);

// fping's per-target line, the target padded to `width`:
//   "198.18.0.11 : xmt/rcv/%loss = 3/3/0%, min/avg/max = 0.040/0.045/0.050"
std::string FormatFpingSummary(const v1::TargetSummary& summary, size_t width = 0);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_PING_TEXT_H_
