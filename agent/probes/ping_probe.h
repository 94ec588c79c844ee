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
#include "agent/probes/pacer.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/probe_capture.h"
#include "agent/probes/tx_timestamps.h"
#include "common/target_tally.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe {

// ICMP/ICMPv6 echo to many targets, like fping: one socket per address family
// for the whole request, replies matched to requests by (identifier,
// sequence) in a table, never a socket per target. RTTs from kernel software
// timestamps (TX from the error queue, RX from the reply). ICMP errors that
// quote our requests become events naming the router that sent them. Sends
// are paced by the core's Pacer; the lifecycle is ProbeBase's.
// Not thread-safe: loop thread only.
class PingProbe final : public ProbeBase<v1::PingEvent> {
 public:
  PingProbe(PingPlan plan, EventLoop* loop, BlockingWork work, std::shared_ptr<Sink> sink,
            std::function<void()> done);
  ~PingProbe() override;

  void Start() override;

  // Events this probe may emit while its sink reports !Writable(): answers
  // and timeouts of requests in flight (bounded by the table). The closing
  // events (StreamEnd, summaries) have their own reserved room.
  static size_t MaxEventsBeyondHighWater(const PingPlan& plan) {
    return kMaxInFlight * 2 + 1 +
           (plan.capture ? ProbeCapture::kEventsBeyondHighWater : 0);
  }

 private:
  // Requests in flight per socket; keeps 16-bit ICMP sequences unambiguous.
  static constexpr size_t kMaxInFlight = 60000;

  struct Target {
    std::string host;
    SocketAddress address;
    std::string address_text;  // address.ip(), once: every event names it
    uint32_t highest_answered = 0;
    TargetTally tally;
  };
  struct Pending {
    size_t target = 0;
    uint32_t sequence = 0;       // per target, reported
    uint32_t wire_sequence = 0;  // in the payload
    absl::Time user_sent;        // fallback when no TX timestamp comes
    absl::Time kernel_sent = absl::InfinitePast();
  };
  // When a request times out. Every request has the same timeout, so the
  // deadlines come in send order: one queue and one timer per family rather
  // than a timer per request. Entries of requests answered meanwhile are
  // skipped when they come up (and compacted away when they pile up).
  struct Deadline {
    absl::Duration at;  // the loop's monotonic clock
    uint32_t wire_sequence = 0;
    uint16_t sequence16 = 0;
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
    std::unique_ptr<IcmpSocket> socket;
    uint32_t next_wire_sequence = 1;
    std::unordered_map<uint16_t, Pending> pending;  // by 16-bit wire sequence
    std::deque<Deadline> deadlines;                 // in send order
    EventLoop::TimerId timeout_timer = 0;           // for the first pending one
    TxTimestamps<uint16_t> tx;                      // -> 16-bit wire sequence
    // By 16-bit wire sequence; at most 65536 entries, grown as packets finish.
    std::unordered_map<uint16_t, Recent> recent;
    uint64_t kernel_drops = 0;  // the socket's SO_RXQ_OVFL count
  };

  void OnResolved(size_t target, absl::StatusOr<SocketAddress> address);
  void Begin();
  void StartPacing();
  // The capture of the probe's own packets: which attempt a packet belongs
  // to (its key: family and wire sequence), and how comments name it.
  std::optional<ProbeCapture::Match> ClassifyCaptured(const CapturedIp& ip);
  static uint64_t CaptureKey(const Family& family, uint32_t wire_sequence);
  std::string CaptureLabel(size_t target, uint32_t sequence) const;
  bool MaySend(size_t target);
  void Send(size_t target, uint32_t sequence);
  void OnSocketReady(Family& family, uint32_t events);
  void HandleErrorQueue(Family& family);
  void HandleErrorEntry(Family& family, const IcmpSocket::ErrorEntry& entry);
  void HandlePacket(Family& family, const IcmpSocket::Received& packet);
  void Answer(Family& family, uint16_t sequence16, std::optional<uint32_t> wire_sequence,
              const IcmpSocket::Received& packet, int ttl, size_t bytes, bool intact);
  void FailAttempt(Family& family, uint16_t sequence16,
                   std::optional<uint32_t> wire_sequence,
                   const SocketAddress& quoted_destination, v1::AttemptResult result);
  // Whether `deadline`'s request is still in flight.
  static bool InFlight(const Family& family, const Deadline& deadline);
  // Drops the deadlines of requests no longer in flight from the front (and,
  // when they are most of the queue, from everywhere), then arms the timer for
  // the first one left unless `arm` is false or one is armed.
  void TrimDeadlines(Family& family, bool arm);
  void OnTimeouts(Family& family);
  // The request timed out: its event. True when it was still in flight.
  bool Expire(Family& family, uint16_t sequence16, uint32_t wire_sequence);
  void EmitReply(v1::PingReply reply);
  void CheckFinished();
  void Release() override;
  void AppendSummaries(std::vector<v1::PingEvent>* out) override;
  void BeforeCutShort() override;
  std::string CutShortDetail() const override;
  Family& FamilyOf(int af) { return af == AF_INET6 ? v6_ : v4_; }
  void FillEndpoint(const Target& target, v1::Endpoint* out) const;

  const PingPlan plan_;
  const BlockingWork work_;
  const uint32_t token_;

  std::vector<Target> targets_;
  size_t unresolved_ = 0;
  std::optional<Pacer> pacer_;  // from Begin() on
  Family v4_, v6_;
  uint64_t malformed_ = 0;
  // Reused batches of what a socket delivered (ReceiveBatch, ReadErrorQueueBatch).
  std::vector<IcmpSocket::Received> received_;
  std::vector<IcmpSocket::ErrorEntry> errors_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PING_PROBE_H_
