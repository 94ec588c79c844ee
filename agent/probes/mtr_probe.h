#ifndef NETPROBE_AGENT_PROBES_MTR_PROBE_H_
#define NETPROBE_AGENT_PROBES_MTR_PROBE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
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

// mtr mode of a Traceroute request (plan.mtr()): round after round, one
// probe per (TTL, flow), every TTL of a round in flight at once, rounds
// plan.interval apart (the core's Pacer: a target per (hop, flow), count =
// plan.rounds, 0: until stopped), on a TraceTransport, started by TraceProbe. Each answer
// is emitted as it comes, with its round; a probe unanswered within plan.wait is a
// TIMEOUT reply.
//  - The trace of a flow ends at the lowest TTL where the target answered
//    (or an unreachable ended it): later rounds do not probe beyond it,
//    probes in flight beyond it are dropped, and hops beyond it are neither
//    reported nor counted. Answers beyond it that came before the end was
//    known (the first round: every TTL at once) were emitted already; their
//    hops are not summarised.
//  - Silent hops (plan.max_silent_hops, mtr's --max-unknown): a hop is
//    silent while none of its probes has been answered and at least one
//    timed out (mtr's "???"). Hops after such a run of max_silent_hops hops
//    are not probed in the next rounds nor reported; if a hop of the run
//    answers later, the hops after it are probed again (mtr decides anew
//    each round too). The summary's stopped_silent: a run cut the trace at
//    the end.
//  - A path change: a hop (TTL, flow) answered from another address than
//    the last one it answered from: a path_change event, counted in the
//    hop and the summary.
// Memory does not grow with the rounds: the probes in flight (by wire key)
// and the hops' statistics (DurationSamples keeps a bounded reservoir).
// At the end (the rounds done, the deadline, a shutdown) the hops' mtr
// statistics and the summary with the rounds completed; a client cancel
// ends it with nothing more. Not thread-safe: loop thread only.
class MtrProbe final : public TraceProbe {
 public:
  MtrProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
           std::shared_ptr<Sink> sink, std::function<void()> done);
  ~MtrProbe() override;

  // While the sink is above its high-water mark sends pause; the probes in
  // flight (the rounds of one wait, every hop and flow) each end in a reply
  // and perhaps a path change.
  static size_t MaxEventsBeyondHighWater(const TraceroutePlan& plan) {
    const uint64_t rounds =
        static_cast<uint64_t>(absl::FDivDuration(plan.wait, plan.interval)) + 1;
    const uint64_t probes = static_cast<uint64_t>(plan.hops()) * plan.flows * rounds;
    return static_cast<size_t>(std::min<uint64_t>(2 * probes, 120000)) + 1;
  }

 private:
  struct Pending {
    uint32_t hop = 0, flow = 0, round = 0;
    absl::Time user_sent;
    absl::Time kernel_sent = absl::InfinitePast();
    EventLoop::TimerId timer = 0;
  };
  struct Hop {
    TraceHopStats stats;
    std::string last_address;  // of its latest answer
  };
  // A round's probes: issued by the pacer (sent, or skipped beyond a silent
  // run), and still in flight.
  struct Round {
    size_t issued = 0;
    size_t open = 0;
  };

  void Prepare() override;
  uint32_t PacerCount() const override { return *plan_.rounds; }
  absl::Duration PacerInterval() const override { return plan_.interval; }
  void Send(size_t pacer_target, uint32_t sequence) override;
  void OnSentAt(uint32_t wire, absl::Time sent) override;
  void OnAnswer(const TraceTransport::Answer& answer) override;
  size_t InFlight() const override { return in_flight_.size(); }
  // TCP: a flow's next round waits until nothing of its previous one is in
  // flight (as TracerouteProbe::MayStart: a SYN meeting the target's
  // half-open connection from the one before gets no answer of its own).
  bool MayStart(size_t pacer_target) const override;
  void OnTimeout(uint32_t wire);
  // A probe of `round` ended: answered, timed out or dropped
  // (`was_in_flight`), or skipped or refused by the kernel.
  void Closed(uint32_t round, bool was_in_flight);
  // The trace of `flow` ends at hop `end`: probes in flight beyond it are
  // dropped, uncounted.
  void EndFlowAt(uint32_t flow, uint32_t end);
  // The last hop probed and reported for `flow`: its end, or the end of a
  // silent run before it (cached in last_hop_ until a hop of the flow
  // answers or times out).
  uint32_t LastHop(uint32_t flow) const;
  bool CutBySilence(uint32_t flow) const;
  void CheckFinished() override;
  Hop& HopOf(uint32_t hop, uint32_t flow) {
    return hops_[static_cast<size_t>(hop) * plan_.flows + flow];
  }
  void NewReply(const Pending& probe, v1::TracerouteReply* reply) const;
  void Release() override;
  void BeforeCutShort() override;
  void AppendSummaries(std::vector<v1::TracerouteEvent>* out) override;
  std::string CutShortDetail() const override;

  std::vector<Hop> hops_;      // by hop * flows + flow
  std::vector<uint32_t> end_;  // by flow: the hop where its trace ends
  mutable std::vector<std::optional<uint32_t>> last_hop_;  // by flow; unset: stale
  std::unordered_map<uint32_t, Pending> in_flight_;        // by wire key
  std::map<uint32_t, Round> rounds_;                       // not yet completed
  // Pacer targets retired (beyond the end), and how many rounds each had
  // been issued then: rounds from that number on miss them.
  std::vector<bool> retired_;
  std::vector<uint32_t> issued_;       // by pacer target: rounds issued
  std::vector<uint32_t> outstanding_;  // by flow: probes in flight
  std::map<uint32_t, size_t> missing_from_;
  uint32_t rounds_done_ = 0;
  uint32_t next_wire_ = 1;
  uint64_t path_changes_ = 0;
  uint64_t unmatched_ = 0;  // answers for no probe in flight
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_MTR_PROBE_H_
