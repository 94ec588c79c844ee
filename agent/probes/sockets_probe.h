#ifndef NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_
#define NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "agent/probes/sockets_listing.h"
#include "agent/probes/sockets_request.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe {

// The host's sockets, as ss lists them: netlink sock_diag dumps (and, when
// asked, the owning processes from /proc) run on the resolver's worker
// thread, which may block; the loop only emits. One snapshot, or in watch
// mode a first snapshot and then, every interval, what changed: new or
// changed sockets and the ones gone. Each round travels as snapshot events of
// at most kSocketsPerEvent sockets, the last marked complete. A watch round
// waits while the stream is full (the next round's diff covers the gap), so
// nothing is dropped. A watch with a duration ends OK when it is up.
// Not thread-safe: loop thread only.
class SocketsProbe final : public Probe {
 public:
  using Sink = EventSink<v1::SocketsEvent>;
  static constexpr int kSocketsPerEvent = 1000;
  // The probe emits only while the sink is writable, plus an end event.
  static size_t MaxEventsBeyondHighWater(const SocketsPlan&) { return 2; }

  SocketsProbe(SocketsPlan plan, EventLoop* loop, Resolver* worker,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~SocketsProbe() override;

  void Start() override;
  void Stop(StopReason reason) override;

 private:
  void StartRound();
  void OnRound(SocketsRound round);
  void Pump();
  void ScheduleNextRound();
  void End(absl::Status status);
  void Release();

  // Shared with the worker while a round runs (the probe may go first).
  const std::shared_ptr<const SocketsPlan> plan_;
  EventLoop* const loop_;
  Resolver* const worker_;
  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  // Handed to the worker with each round and back with its result.
  std::shared_ptr<SocketsListing> listing_ = std::make_shared<SocketsListing>();
  bool first_round_ = true;
  std::deque<v1::SocketsEvent> pending_;  // a round's events not emitted yet
  bool waiting_ = false;                  // for the sink to drain
  bool dumping_ = false;
  bool released_ = false;
  bool ended_ = false;
  absl::Duration round_started_;
  EventLoop::TimerId next_round_ = 0;
  EventLoop::TimerId watch_end_ = 0;  // plan_->watch_duration
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCKETS_PROBE_H_
