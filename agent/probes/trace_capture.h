#ifndef NETPROBE_AGENT_PROBES_TRACE_CAPTURE_H_
#define NETPROBE_AGENT_PROBES_TRACE_CAPTURE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "agent/net/captured_packet.h"
#include "agent/probes/trace_transport.h"

namespace netprobe {

// The BPF filter of a trace's own packets on `transport`: its probes to the
// target and the target's answers (UDP, TCP: the target's host and port;
// ICMP: echo with its identifier) and the ICMP errors quoting them (time
// exceeded, unreachable, ...).
std::string TraceCaptureFilter(const TraceTransport& transport);

// The wire key (TraceTransport::WireKey) of the probe a captured packet
// belongs to: a probe, the target's answer to it, an ICMP error quoting it,
// our kernel's RST to a SYN-ACK (TCP); nullopt when not this trace's (another
// prober's, or quoted too short to tell).
std::optional<uint32_t> TraceCapturedWire(const TraceTransport& transport,
                                          const CapturedIp& ip);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_CAPTURE_H_
