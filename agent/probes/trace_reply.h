#ifndef NETPROBE_AGENT_PROBES_TRACE_REPLY_H_
#define NETPROBE_AGENT_PROBES_TRACE_REPLY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "agent/net/socket_address.h"
#include "agent/probes/pacer.h"
#include "agent/probes/trace_transport.h"
#include "agent/probes/traceroute_request.h"
#include "common/target_tally.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// What traceroute, mtr and tracepath share about targets, answers and hops.

// The pacing of a trace: a pacer target per (hop, flow), in TTL order
// (index hop * flows + flow), `count` attempts each `interval` apart, every
// target of a round due at once; the plan's rate and budgets, in bursts a
// shared socket's buffer takes.
Pacer::Options TracePacing(const TraceroutePlan& plan, uint32_t count,
                           absl::Duration interval);

// The target as asked (`plan.host`) and, once resolved (`target` valid),
// its address, port and family.
void FillTraceTarget(const TraceroutePlan& plan, const SocketAddress& target,
                     v1::Endpoint* out);

// The kernel's time when it gave one (not InfinitePast), else the user's.
inline absl::Time KernelOrUser(absl::Time kernel, absl::Time user) {
  return kernel != absl::InfinitePast() ? kernel : user;
}

// Fills `reply` (its ttl, flow, probe, target and time already set) from
// `answer`: result, address, RTT (`sent` to the answer's kernel time, or to
// `now` where the kernel gave none), reached, reply / quoted TTL and MTU.
void FillTraceReply(const TraceTransport::Answer& answer, const SocketAddress& target,
                    absl::Time sent, absl::Time now, v1::TracerouteReply* reply);

// The answer ends the trace at its hop: the target answered, or a router
// refused (!N !H !X !F), as traceroute stops there.
bool EndsTrace(const v1::TracerouteReply& reply);

// The statistics of one hop of one flow.
struct TraceHopStats {
  uint64_t sent = 0, received = 0;
  DurationSamples rtt;
  absl::Duration last = absl::ZeroDuration();
  std::vector<std::string> addresses;  // in the order first seen
  bool reached = false;
  uint64_t path_changes = 0;
  uint64_t timed_out = 0;  // probes that got no answer within their wait

  // An answered probe of this hop.
  void Answered(const v1::TracerouteReply& reply);
  void Fill(uint32_t ttl, uint32_t flow, v1::TracerouteHop* out) const;
};

// Of hops 0..last (indexes from the first TTL) of one flow, the last hop of
// the first run of `max_silent` silent hops in a row (`silent(hop)`), where
// the trace stops (traceroute's and mtr's limit on unknown hops); nullopt
// when there is no such run or `max_silent` is 0 (never).
std::optional<uint32_t> SilentRunEnd(uint32_t max_silent, uint32_t last,
                                     absl::FunctionRef<bool(uint32_t)> silent);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_REPLY_H_
