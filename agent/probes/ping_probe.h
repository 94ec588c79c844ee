#ifndef NETPROBE_AGENT_PROBES_PING_PROBE_H_
#define NETPROBE_AGENT_PROBES_PING_PROBE_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/icmp_socket.h"
#include "agent/net/resolver.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/probe.h"
#include "agent/probes/target_tally.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe {

// ICMP/ICMPv6 echo to many targets, like fping: one socket per address family
// for the whole request, replies matched to requests by (identifier,
// sequence) in a table, never a socket per target. RTTs from kernel software
// timestamps (TX from the error queue, RX from the reply). ICMP errors that
// quote our requests become events naming the router that sent them.
// Not thread-safe: loop thread only.
class PingProbe final : public Probe {
 public:
  using Sink = EventSink<v1::PingEvent>;

  PingProbe(PingPlan plan, EventLoop* loop, Resolver* resolver,
            std::shared_ptr<Sink> sink, std::function<void()> done);
  ~PingProbe() override;

  void Start() override;
  void Stop(StopReason reason) override;

  // Events this probe may emit while its sink reports !Writable(): answers
  // and timeouts of requests in flight (bounded by the table) plus summaries.
  static size_t MaxEventsBeyondHighWater(const PingPlan& plan) {
    return kMaxInFlight * 2 + plan.targets.size() + 2;
  }

 private:
  // Requests in flight per socket; keeps 16-bit ICMP sequences unambiguous.
  static constexpr size_t kMaxInFlight = 60000;
  // How far ahead of the rate the sender may run in a burst.
  static constexpr absl::Duration kBurstWindow = absl::Milliseconds(1);

  struct Target {
    std::string host;
    SocketAddress address;
    uint32_t sent = 0;  // per-target sequence of the last request sent
    uint32_t highest_answered = 0;
    absl::Duration next_due;
    EventLoop::TimerId timer = 0;
    TargetTally tally;
  };
  struct Pending {
    size_t target = 0;
    uint32_t sequence = 0;       // per target, reported
    uint32_t wire_sequence = 0;  // in the payload
    absl::Time user_sent;        // fallback when no TX timestamp comes
    absl::Time kernel_sent = absl::InfinitePast();
    EventLoop::TimerId timer = 0;
  };
  // What became of a recent wire sequence, to tell duplicates and late
  // answers from strangers.
  struct Recent {
    uint32_t wire_sequence = 0;
    uint32_t target = 0;
    uint32_t sequence = 0;
    enum class State : uint8_t { kNone, kAnswered, kTimedOut } state = State::kNone;
  };
  struct Family {
    std::optional<IcmpSocket> socket;
    uint32_t next_wire_sequence = 1;
    uint32_t next_tx_id = 0;
    std::unordered_map<uint16_t, Pending> pending;  // by 16-bit wire sequence
    std::unordered_map<uint32_t, uint16_t> tx_ids;  // TX timestamp id -> sequence
    // By 16-bit wire sequence; at most 65536 entries, grown as packets finish.
    std::unordered_map<uint16_t, Recent> recent;
  };

  void OnResolved(size_t target, absl::StatusOr<SocketAddress> address);
  void Begin();
  void Pump();
  void ScheduleNext(size_t target);
  void Send(size_t target);
  void OnSocketReady(Family& family, uint32_t events);
  void HandleErrorQueue(Family& family);
  void HandlePacket(Family& family, const IcmpSocket::Received& packet);
  void Answer(Family& family, uint16_t sequence16, std::optional<uint32_t> wire_sequence,
              const IcmpSocket::Received& packet, int ttl, size_t bytes, bool intact);
  void Fail(Family& family, uint16_t sequence16, std::optional<uint32_t> wire_sequence,
            const SocketAddress& quoted_destination, v1::AttemptResult result);
  void OnTimeout(Family& family, uint16_t sequence16, uint32_t wire_sequence);
  void Emit(v1::PingReply reply);
  void CheckFinished();
  void EmitSummaries();
  void ReleaseAll();
  Family& FamilyOf(int af) { return af == AF_INET6 ? v6_ : v4_; }
  void FillEndpoint(const Target& target, v1::Endpoint* out) const;

  const PingPlan plan_;
  EventLoop* const loop_;
  Resolver* const resolver_;
  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  const uint32_t token_;
  const absl::Duration send_spacing_;

  std::vector<Target> targets_;
  size_t unresolved_ = 0;
  bool begun_ = false;
  bool finished_ = false;
  bool pumping_ = false;
  bool waiting_for_sink_ = false;
  EventLoop::TimerId pace_timer_ = 0;
  absl::Duration next_send_ = absl::ZeroDuration();
  std::deque<size_t> ready_;
  Family v4_, v6_;
  uint64_t malformed_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PING_PROBE_H_
