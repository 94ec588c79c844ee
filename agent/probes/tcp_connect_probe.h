#ifndef NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_
#define NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/socket_address.h"
#include "agent/net/unique_fd.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "agent/probes/target_tally.h"
#include "agent/probes/tcp_connect_request.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe {

// Non-blocking TCP connects driven by the event loop: `count` attempts per
// target, one every `interval`, at most `concurrency` in flight, each bounded
// by `timeout`. Completion is read from SO_ERROR once the socket is writable.
// Every attempt becomes an event; each target ends with a summary.
// Not thread-safe: loop thread only.
class TcpConnectProbe final : public Probe {
 public:
  using Sink = EventSink<v1::TcpConnectEvent>;

  TcpConnectProbe(TcpConnectPlan plan, EventLoop* loop, Resolver* resolver,
                  std::shared_ptr<Sink> sink, std::function<void()> done);
  ~TcpConnectProbe() override;

  void Start() override;
  void Stop(StopReason reason) override;

  // The most events this probe can emit while its sink reports !Writable():
  // results of attempts in flight plus the summaries and the end notice.
  static size_t MaxEventsBeyondHighWater(const TcpConnectPlan& plan) {
    return plan.concurrency + plan.targets.size() + 2;
  }

 private:
  struct Target {
    HostPort spec;
    SocketAddress address;
    uint32_t next_sequence = 1;  // the next attempt to start
    absl::Duration next_due;
    EventLoop::TimerId timer = 0;
    TargetTally tally;
  };
  struct Attempt {
    size_t target = 0;
    uint32_t sequence = 0;
    UniqueFd fd;
    absl::Duration started;  // monotonic, just before connect()
    absl::Time wall_time;
    EventLoop::TimerId timer = 0;
    bool connected = false;
    size_t payload_sent = 0;
    v1::TcpAttempt event;
  };

  void OnResolved(size_t target, absl::StatusOr<SocketAddress> address);
  void Begin();
  void Pump();
  void ScheduleNext(size_t target);
  void StartAttempt(size_t target);
  // `seen_at`: when the loop learned the socket was ready (monotonic).
  void OnSocketEvent(int fd, uint32_t events, absl::Duration seen_at);
  static bool IsWritableNow(int fd);
  void OnConnected(Attempt& attempt);
  void ContinueExchange(Attempt& attempt, uint32_t events);
  void OnTimeout(int fd);
  // Ends an attempt: closes its socket, emits its event, tallies it.
  void Complete(int fd, v1::AttemptResult result);
  void CompleteUnstarted(size_t target, uint32_t sequence, absl::Time wall,
                         v1::AttemptResult result);
  void CheckFinished();
  void EmitSummaries();
  void ReleaseAll();
  void FillEndpoint(const Target& target, v1::Endpoint* out) const;

  const TcpConnectPlan plan_;
  EventLoop* const loop_;
  Resolver* const resolver_;
  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  // Callbacks from other threads hold a weak reference: dead probe, no call.
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  std::vector<Target> targets_;
  size_t unresolved_ = 0;
  bool begun_ = false;
  bool finished_ = false;
  bool waiting_for_sink_ = false;
  bool pumping_ = false;
  EventLoop::TimerId budget_timer_ = 0;  // waits for the policy's send budget
  std::deque<size_t> ready_;             // targets with an attempt due; each at most once
  std::unordered_map<int, std::unique_ptr<Attempt>> in_flight_;  // by fd
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_
