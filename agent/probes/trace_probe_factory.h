#ifndef NETPROBE_AGENT_PROBES_TRACE_PROBE_FACTORY_H_
#define NETPROBE_AGENT_PROBES_TRACE_PROBE_FACTORY_H_

#include <functional>
#include <memory>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "agent/probes/traceroute_request.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// The probe a Traceroute request asks for: path MTU discovery (path_mtu:
// TracepathProbe), mtr mode (rounds set: MtrProbe), or one traceroute
// (TracerouteProbe).
std::unique_ptr<Probe> MakeTraceProbe(
    const TraceroutePlan& plan, EventLoop* loop, BlockingWork work,
    std::shared_ptr<EventSink<v1::TracerouteEvent>> sink, std::function<void()> done);

// That probe's bound on the events it emits past the sink's high-water mark.
size_t TraceMaxEventsBeyondHighWater(const TraceroutePlan& plan);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_PROBE_FACTORY_H_
