#ifndef NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_
#define NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/sockets_listing.h"
#include "agent/probes/sockets_request.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe {

// The host's sockets, as ss lists them: netlink sock_diag dumps (and, when
// asked, the owning processes from /proc) run on the blocking pool's
// diagnostics queue, in the caller's turn; the loop only emits. One snapshot, or in watch
// mode a first snapshot and then, every interval, what changed: new or
// changed sockets and the ones gone, until the plan's watch_duration (a
// StreamEnd naming that limit). Each round travels as snapshot events of at
// most kSocketsPerEvent sockets, the last marked complete. A watch round
// waits while the stream is full (the next round's diff covers the gap), so
// nothing is dropped. The lifecycle is ProbeBase's. Not thread-safe: loop
// thread only.
class SocketsProbe final : public ProbeBase<v1::SocketsEvent> {
 public:
  static constexpr int kSocketsPerEvent = 1000;
  // The probe emits only while the sink is writable; the closing events
  // have their own room.
  static size_t MaxEventsBeyondHighWater(const SocketsPlan&) { return 2; }

  SocketsProbe(SocketsPlan plan, EventLoop* loop, BlockingWork work,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~SocketsProbe() override;

  void Start() override;

 private:
  void StartRound();
  void OnRound(SocketsRound round);
  void Pump();
  void ScheduleNextRound();
  void EndWatch();

  void Release() override;
  // No summaries: the snapshots are the result.
  void AppendSummaries(std::vector<v1::SocketsEvent>*) override {}
  std::string CutShortDetail() const override { return "the watch was stopped"; }

  // Shared with the worker while a round runs (the probe may go first).
  const std::shared_ptr<const SocketsPlan> plan_;
  const BlockingWork work_;

  // Handed to the worker with each round and back with its result.
  std::shared_ptr<SocketsListing> listing_ = std::make_shared<SocketsListing>();
  bool first_round_ = true;
  std::deque<v1::SocketsEvent> pending_;  // a round's events not emitted yet
  bool dumping_ = false;
  absl::Duration started_;  // the first round's start
  absl::Duration round_started_;
  EventLoop::TimerId next_round_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_
