#ifndef NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_
#define NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/socket_address.h"
#include "agent/net/tcp_socket.h"
#include "agent/probes/pacer.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/probe_capture.h"
#include "agent/probes/tcp_connect_request.h"
#include "common/target_tally.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe {

// Non-blocking TCP connects driven by the event loop: `count` attempts per
// target, one every `interval` (paced by the core's Pacer, one SYN of the
// policy's send budgets each), at most `concurrency` in flight, each bounded
// by `timeout`. Completion is read from SO_ERROR once the socket is writable;
// an optional payload exchange follows. Every attempt becomes an event; each
// target ends with a summary. The lifecycle is ProbeBase's.
// Not thread-safe: loop thread only.
class TcpConnectProbe final : public ProbeBase<v1::TcpConnectEvent> {
 public:
  TcpConnectProbe(TcpConnectPlan plan, EventLoop* loop, BlockingWork work,
                  std::shared_ptr<Sink> sink, std::function<void()> done);
  ~TcpConnectProbe() override;

  void Start() override;

  // Events this probe may emit while its sink reports !Writable(): the
  // results of attempts in flight (no attempt starts then). The closing
  // events (StreamEnd, summaries) have their own reserved room.
  static size_t MaxEventsBeyondHighWater(const TcpConnectPlan& plan) {
    return plan.concurrency + (plan.capture ? ProbeCapture::kEventsBeyondHighWater : 0);
  }

 private:
  struct Target {
    HostPort spec;
    SocketAddress address;
    TargetTally tally;
  };
  struct Attempt {
    size_t target = 0;
    uint32_t sequence = 0;
    std::unique_ptr<TcpSocket> socket;
    absl::Duration started;  // monotonic, just before connect()
    absl::Time wall_time;
    EventLoop::TimerId timer = 0;
    bool connected = false;
    size_t payload_sent = 0;
    v1::TcpAttempt event;
    uint64_t capture_key = 0;  // its packets' key (a capture's)
  };
  // A capture's view of an attempt, kept past its end (its last packets come
  // after): by local port.
  struct CapturedAttempt {
    size_t target = 0;
    uint32_t sequence = 0;
    uint64_t key = 0;
  };

  void OnResolved(size_t target, absl::StatusOr<SocketAddress> address);
  void Begin();
  void StartPacing();
  std::optional<ProbeCapture::Match> ClassifyCaptured(const CapturedIp& ip);
  std::string CaptureLabel(size_t target, uint32_t sequence) const;
  // The pacer's gate: a writable sink (else pause until it drains) and room
  // under `concurrency`.
  bool MayStart();
  void StartAttempt(size_t target, uint32_t sequence);
  // `seen_at`: when the loop learned the socket was ready (monotonic).
  void OnSocketEvent(int fd, uint32_t events, absl::Duration seen_at);
  void OnConnected(Attempt& attempt);
  void ContinueExchange(Attempt& attempt, uint32_t events);
  void OnTimeout(int fd);
  // Ends an attempt: closes its socket, emits its event, tallies it, and
  // lets the pacer start the next.
  void FinishAttempt(int fd, v1::AttemptResult result);
  void FinishUnstarted(size_t target, uint32_t sequence, absl::Time wall,
                       v1::AttemptResult result);
  void CheckFinished();
  void Release() override;
  void AppendSummaries(std::vector<v1::TcpConnectEvent>* out) override;
  void BeforeCutShort() override;
  std::string CutShortDetail() const override;
  void FillEndpoint(const Target& target, v1::Endpoint* out) const;

  const TcpConnectPlan plan_;
  const BlockingWork work_;

  std::vector<Target> targets_;
  size_t unresolved_ = 0;
  std::optional<Pacer> pacer_;                                   // from Begin() on
  std::unordered_map<int, std::unique_ptr<Attempt>> in_flight_;  // by fd
  // With a capture: attempts by local port (the newest on a reused port),
  // the oldest forgotten beyond ProbeCapture::kMaxNotes.
  std::unordered_map<uint16_t, CapturedAttempt> captured_attempts_;
  std::deque<uint16_t> captured_order_;
  uint64_t next_capture_key_ = 1;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TCP_CONNECT_PROBE_H_
