#ifndef NETPROBE_AGENT_PROBES_TRACE_REPLY_H_
#define NETPROBE_AGENT_PROBES_TRACE_REPLY_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/net/socket_address.h"
#include "agent/probes/trace_transport.h"
#include "common/target_tally.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// What traceroute, mtr and tracepath share about answers and hops.

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

  // An answered probe of this hop.
  void Answered(const v1::TracerouteReply& reply);
  void Fill(uint32_t ttl, uint32_t flow, v1::TracerouteHop* out) const;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_REPLY_H_
