#ifndef NETPROBE_AGENT_PROBES_UDP_ECHO_PROBE_H_
#define NETPROBE_AGENT_PROBES_UDP_ECHO_PROBE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/udp_socket.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "agent/probes/target_tally.h"
#include "agent/probes/udp_echo_request.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Datagrams to a UDP echo responder (an agent's, or any RFC 862 server), one
// connected socket per request. Each datagram carries a token, a 32-bit
// sequence and its send time (udp_echo_payload.h), so replies are matched
// whatever the server keeps. RTT from the kernel's software timestamps (TX
// from the error queue, RX from the reply); ICMP errors about our datagrams
// (port unreachable: refused) from the error queue (IP_RECVERR), with the
// router that sent them. Marks duplicates, reordering and corruption; the
// summary adds RFC 3550 jitter. Not thread-safe: loop thread only.
class UdpEchoProbe final : public Probe {
 public:
  using Sink = EventSink<v1::UdpEchoEvent>;

  UdpEchoProbe(UdpEchoPlan plan, EventLoop* loop, Resolver* resolver,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~UdpEchoProbe() override;

  void Start() override;
  void Stop(StopReason reason) override;

  // Events this probe may emit while its sink reports !Writable(): answers
  // and timeouts of datagrams in flight plus the summary.
  static size_t MaxEventsBeyondHighWater(const UdpEchoPlan& plan);

 private:
  struct Pending {
    absl::Time user_sent;
    absl::Time kernel_sent = absl::InfinitePast();
    EventLoop::TimerId timer = 0;
  };
  // What became of a recent sequence, to tell duplicates and late answers
  // from strangers; a ring indexed by sequence.
  struct Recent {
    uint32_t sequence = 0;
    enum class State : uint8_t { kNone, kAnswered, kTimedOut } state = State::kNone;
  };
  static constexpr size_t kRecent = 65536;

  void OnResolved(absl::StatusOr<SocketAddress> address);
  void FinishWith(absl::Status status);
  void ScheduleNext();
  void SendNext();
  void OnReadable(uint32_t events);
  void HandleErrorQueue();
  void HandleDatagram(const UdpSocket::Received& datagram);
  void Settle(uint32_t sequence, Recent::State state);
  void OnTimeout(uint32_t sequence);
  void Emit(v1::UdpEchoReply reply);
  void FillTarget(v1::Endpoint* target) const;
  void NewReply(uint32_t sequence, absl::Time sent, v1::UdpEchoReply* reply) const;
  void CheckFinished();
  void EmitSummary();
  void ReleaseAll();

  const UdpEchoPlan plan_;
  EventLoop* const loop_;
  Resolver* const resolver_;
  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  const uint32_t token_;

  SocketAddress target_;
  bool unconnected_ = false;  // connect() refused: sendto() each datagram
  std::optional<UdpSocket> socket_;
  bool begun_ = false;
  bool finished_ = false;
  bool waiting_for_sink_ = false;
  EventLoop::TimerId send_timer_ = 0;
  absl::Duration next_due_;
  uint32_t sent_ = 0;
  uint32_t next_tx_id_ = 0;
  uint32_t highest_answered_ = 0;
  std::unordered_map<uint32_t, Pending> pending_;  // by sequence
  std::unordered_map<uint32_t, uint32_t> tx_ids_;  // TX timestamp id -> sequence
  std::vector<Recent> recent_ = std::vector<Recent>(kRecent);
  TargetTally tally_;
  uint64_t strays_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_UDP_ECHO_PROBE_H_
