#ifndef NETPROBE_AGENT_SCHEDULE_PROBE_REQUEST_H_
#define NETPROBE_AGENT_SCHEDULE_PROBE_REQUEST_H_

#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/schedule.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "netprobe/v1/throughput.pb.h"
#include "netprobe/v1/traceroute.pb.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// The request of a scheduled probe or a /probe module: one of the probes
// that answer within a bounded time. Throughput only in scheduled probes (a
// module's run is a scrape: no place for a link load).
using ProbeRequest =
    std::variant<v1::PingRequest, v1::TcpConnectRequest, v1::UdpEchoRequest,
                 v1::TracerouteRequest, v1::ThroughputRequest>;

// The request a config entry holds; INVALID_ARGUMENT naming `field` when it
// holds none.
absl::StatusOr<ProbeRequest> RequestOf(const v1::ScheduledProbe& probe,
                                       absl::string_view field);
absl::StatusOr<ProbeRequest> RequestOf(const v1::ProbeModule& module,
                                       absl::string_view field);

// "Ping", "TcpConnect", "UdpEcho", "Traceroute" or "Throughput": the
// policy's and GetInfo's names.
const char* KindOf(const ProbeRequest& request);

// `request` aimed at `target` alone (a module run for /probe?target=).
ProbeRequest WithTarget(ProbeRequest request, const std::string& target);

// Validates `request` as its RPC would, requires that it ends by itself
// (ping and udp_echo need a count, at most kMaxRunCount; traceroute's rounds
// unset, one trace, or 1..kMaxRunCount, never 0 = until cancelled;
// throughput a duration, not a byte count) and returns an upper bound of how
// long one run takes (throughput: omit + duration + kThroughputSetup, what a
// test that goes as planned takes). Errors name `field`.
inline constexpr uint32_t kMaxRunCount = 1000;
// A throughput run's allowance for connecting, the parameter exchange and
// the result exchange around its measured seconds.
inline constexpr absl::Duration kThroughputSetup = absl::Seconds(3);
absl::StatusOr<absl::Duration> LongestRun(const ProbeRequest& request,
                                          absl::string_view field);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_PROBE_REQUEST_H_
