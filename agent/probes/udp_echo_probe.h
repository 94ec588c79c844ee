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
#include "agent/probes/pacer.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/probe_capture.h"
#include "agent/probes/tx_timestamps.h"
#include "agent/probes/udp_echo_request.h"
#include "common/target_tally.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Datagrams to a UDP echo responder (an agent's, or any RFC 862 server), one
// connected socket per request. Each datagram carries a token, a 32-bit
// sequence and its send time (udp_echo_payload.h), so replies are matched
// whatever the server keeps. RTT from the kernel's software timestamps (TX
// from the error queue, RX from the reply); ICMP errors about our datagrams
// (port unreachable: refused) from the error queue (IP_RECVERR), with the
// router that sent them. Marks duplicates, reordering and corruption; the
// summary adds RFC 3550 jitter. Sends are paced by the core's Pacer; the
// lifecycle is ProbeBase's. Not thread-safe: loop thread only.
class UdpEchoProbe final : public ProbeBase<v1::UdpEchoEvent> {
 public:
  UdpEchoProbe(UdpEchoPlan plan, EventLoop* loop, BlockingWork work,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~UdpEchoProbe() override;

  void Start() override;

  // Events this probe may emit while its sink reports !Writable(): answers
  // and timeouts of datagrams in flight (the closing events have reserved
  // room).
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
  void StartPacing();
  std::optional<ProbeCapture::Match> ClassifyCaptured(const CapturedIp& ip);
  std::string CaptureLabel(uint32_t sequence) const;
  bool MaySend();
  void Send(uint32_t sequence);
  void OnReadable(uint32_t events);
  void HandleErrorQueue();
  void HandleDatagram(const DatagramSocket::Received& datagram);
  void Settle(uint32_t sequence, Recent::State state);
  void OnTimeout(uint32_t sequence);
  void EmitReply(v1::UdpEchoReply reply);
  void FillTarget(v1::Endpoint* target) const;
  void NewReply(uint32_t sequence, absl::Time sent, v1::UdpEchoReply* reply) const;
  void CheckFinished();
  void Release() override;
  void AppendSummaries(std::vector<v1::UdpEchoEvent>* out) override;
  void BeforeCutShort() override;
  std::string CutShortDetail() const override;

  const UdpEchoPlan plan_;
  const BlockingWork work_;
  const uint32_t token_;

  SocketAddress target_;
  bool unconnected_ = false;  // connect() refused: sendto() each datagram
  std::unique_ptr<DatagramSocket> socket_;
  std::optional<Pacer> pacer_;  // once the socket is open
  uint32_t highest_answered_ = 0;
  std::unordered_map<uint32_t, Pending> pending_;  // by sequence
  TxTimestamps<uint32_t> tx_;                      // -> sequence
  std::vector<Recent> recent_ = std::vector<Recent>(kRecent);
  TargetTally tally_;
  uint64_t strays_ = 0;
  uint16_t local_port_ = 0;  // with a capture: the socket's, once bound
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_UDP_ECHO_PROBE_H_
