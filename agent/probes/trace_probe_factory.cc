#include "agent/probes/trace_probe_factory.h"

#include "agent/probes/mtr_probe.h"
#include "agent/probes/tracepath_probe.h"
#include "agent/probes/traceroute_probe.h"

namespace netprobe {

std::unique_ptr<Probe> MakeTraceProbe(
    const TraceroutePlan& plan, EventLoop* loop, BlockingWork work,
    std::shared_ptr<EventSink<v1::TracerouteEvent>> sink, std::function<void()> done) {
  if (plan.path_mtu) {
    return std::make_unique<TracepathProbe>(plan, loop, std::move(work), std::move(sink),
                                            std::move(done));
  }
  if (plan.mtr()) {
    return std::make_unique<MtrProbe>(plan, loop, std::move(work), std::move(sink),
                                      std::move(done));
  }
  return std::make_unique<TracerouteProbe>(plan, loop, std::move(work), std::move(sink),
                                           std::move(done));
}

size_t TraceMaxEventsBeyondHighWater(const TraceroutePlan& plan) {
  if (plan.path_mtu) return TracepathProbe::MaxEventsBeyondHighWater(plan);
  if (plan.mtr()) return MtrProbe::MaxEventsBeyondHighWater(plan);
  return TracerouteProbe::MaxEventsBeyondHighWater(plan);
}

}  // namespace netprobe
