#ifndef NETPROBE_AGENT_PROBES_TRACEROUTE_PROBE_H_
#define NETPROBE_AGENT_PROBES_TRACEROUTE_PROBE_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/pacer.h"
#include "agent/probes/trace_probe.h"
#include "agent/probes/trace_reply.h"
#include "agent/probes/trace_transport.h"
#include "agent/probes/traceroute_request.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// One traceroute toward one target: probes with TTLs first..max, for every
// flow and probe index, all TTLs of a round in flight at once (paced by the
// core's Pacer, round after round), on a TraceTransport (the sockets, the
// Paris flow identity and the matching of answers), started by TraceProbe.
// Results are emitted per (flow, probe index) in TTL order, like
// traceroute's lines, so the trace ends at the first TTL where the target
// (or an unreachable) answered and nothing beyond it is reported; probes
// beyond it are not sent, or are dropped unreported when in flight. With
// plan.max_silent_hops N, the trace of a flow also ends at the last of N
// silent hops in a row (every probe of the hop timed out), as if it ended
// there, and the summary says stopped_silent.
// RTTs: the kernel's software TX timestamp to the kernel's RX timestamp of
// the answer (CLOCK_REALTIME both). Not thread-safe: loop thread only.
class TracerouteProbe final : public TraceProbe {
 public:
  TracerouteProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                  std::shared_ptr<Sink> sink, std::function<void()> done);
  ~TracerouteProbe() override;

  // Probes in flight end in one event each while the sink is above its
  // high-water mark (sends pause then).
  static size_t MaxEventsBeyondHighWater(const TraceroutePlan& plan) {
    return static_cast<size_t>(std::min<uint64_t>(plan.attempts(), 60000)) + 1 +
           (plan.capture ? ProbeCapture::kEventsBeyondHighWater : 0);
  }

 private:
  struct Attempt {
    // kDraining (TCP): in flight beyond the end of the trace; its answer or
    // timeout is dropped unreported, but the flow's next round waits for it.
    enum class State : uint8_t { kUnsent, kInFlight, kDone, kSkipped, kDraining };
    State state = State::kUnsent;
    uint32_t wire = 0;
    absl::Time user_sent;
    absl::Time kernel_sent = absl::InfinitePast();
    EventLoop::TimerId timer = 0;
    v1::TracerouteReply reply;  // kDone: waiting for its turn in its column
  };
  struct Flow {
    // The first TTL (index) where the trace ended; hops() while unknown.
    uint32_t end = 0;
    // Probes sent and not yet answered or timed out (draining ones included).
    uint32_t outstanding = 0;
  };

  void Prepare() override;
  // A probe index is a round: every TTL at once, round after round.
  uint32_t PacerCount() const override { return plan_.probes_per_hop; }
  absl::Duration PacerInterval() const override { return absl::ZeroDuration(); }
  void Send(size_t pacer_target, uint32_t sequence) override;
  bool MayStart(size_t pacer_target) const override;
  uint32_t FlowOf(size_t index) const {
    return static_cast<uint32_t>(
        index % (static_cast<size_t>(plan_.flows) * plan_.probes_per_hop) /
        plan_.probes_per_hop);
  }
  // An attempt leaves the flight (answered, timed out, or drained).
  void Landed(size_t index);
  size_t IndexOf(uint32_t hop, uint32_t flow, uint32_t probe) const {
    return (static_cast<size_t>(hop) * plan_.flows + flow) * plan_.probes_per_hop + probe;
  }
  void OnAnswer(const TraceTransport::Answer& answer) override;
  void OnSentAt(uint32_t wire, absl::Time sent) override;
  size_t InFlight() const override { return in_flight_.size(); }
  void OnTimeout(size_t index);
  // Marks attempt `index` done with `reply` and emits what its column now
  // allows, in TTL order.
  void Done(size_t index, v1::TracerouteReply reply);
  void Advance(uint32_t flow, uint32_t probe);
  // Every probe of the hop is done (answered, timed out, refused).
  bool HopComplete(uint32_t hop, uint32_t flow) const;
  // The trace of `flow` ends at hop `end`: probes beyond it are dropped.
  void EndFlowAt(uint32_t flow, uint32_t end);
  // Ends the trace of `flow` after plan_.max_silent_hops silent hops in a row.
  void StopIfSilent(uint32_t flow);
  void CheckFinished() override;
  void NewReply(size_t index, v1::TracerouteReply* reply) const;
  std::optional<std::string> CaptureLabel(uint32_t wire) const override;
  std::string CaptureLabelOf(size_t index) const;
  void Release() override;
  void AppendSummaries(std::vector<v1::TracerouteEvent>* out) override;
  std::string CutShortDetail() const override;

  std::vector<Flow> flows_;
  std::vector<Attempt> attempts_;
  std::vector<TraceHopStats> hops_;  // by hop * flows + flow
  std::vector<uint32_t> cursor_;     // by flow * probes_per_hop + probe: next hop
  std::vector<uint32_t> taken_;      // by pacer target: attempts the pacer started
  // In flight by wire key (TraceTransport::WireKey).
  std::unordered_map<uint32_t, size_t> in_flight_;
  uint32_t next_wire_ = 1;
  // With a capture: every probe sent, by wire key (the last on a reused key).
  std::unordered_map<uint32_t, size_t> captured_wires_;
  uint64_t unmatched_ = 0;  // answers for no probe in flight
  bool stopped_silent_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACEROUTE_PROBE_H_
