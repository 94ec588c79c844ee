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
#include "agent/net/icmp_socket.h"
#include "agent/net/resolver.h"
#include "agent/net/udp_socket.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/pacer.h"
#include "agent/probes/probe_base.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/tx_timestamps.h"
#include "common/target_tally.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe {

// Traceroute toward one target: probes with TTLs first..max, for every flow
// and probe index, all TTLs of a round in flight at once (paced by the core's
// Pacer, round after round), each answer matched to its probe by an identity
// load balancers do not hash (Paris traceroute):
//  - UDP: one connected UDP socket per flow (its source port is the flow, the
//    destination port is constant); the TTL is set per packet (a control
//    message); the probe's sequence is in the payload, which the kernel hands
//    back with each ICMP error on the socket's error queue (IP_RECVERR), with
//    the router that sent it. Unprivileged.
//  - ICMP: echo requests on the agent's ICMP socket (the ping probe's: raw
//    with CAP_NET_RAW, else a ping socket whose errors come on its error
//    queue); the sequence is the echo sequence, and a compensating payload
//    word keeps the checksum constant within a flow (the flow picks it).
// Results are emitted per (flow, probe index) in TTL order, like
// traceroute's lines, so the trace ends at the first TTL where the target
// (or an unreachable) answered and nothing beyond it is reported; probes
// beyond it are not sent, or are dropped unreported when in flight.
// RTTs: the kernel's software TX timestamp to the kernel's RX timestamp of
// the answer (CLOCK_REALTIME both). Not thread-safe: loop thread only.
class TracerouteProbe final : public ProbeBase<v1::TracerouteEvent> {
 public:
  TracerouteProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                  std::shared_ptr<Sink> sink, std::function<void()> done);
  ~TracerouteProbe() override;

  void Start() override;

  // Probes in flight end in one event each while the sink is above its
  // high-water mark (sends pause then).
  static size_t MaxEventsBeyondHighWater(const TraceroutePlan& plan) {
    return static_cast<size_t>(std::min<uint64_t>(plan.attempts(), kMaxInFlight)) + 1;
  }

 private:
  // Keeps 16-bit ICMP sequences unambiguous.
  static constexpr size_t kMaxInFlight = 60000;

  struct Attempt {
    enum class State : uint8_t { kUnsent, kInFlight, kDone, kSkipped };
    State state = State::kUnsent;
    uint32_t wire = 0;
    absl::Time user_sent;
    absl::Time kernel_sent = absl::InfinitePast();
    EventLoop::TimerId timer = 0;
    v1::TracerouteReply reply;  // kDone: waiting for its turn in its column
  };
  struct Hop {
    uint64_t sent = 0, received = 0;
    DurationSamples rtt;
    std::vector<std::string> addresses;
    bool reached = false;
  };
  struct Flow {
    std::unique_ptr<DatagramSocket> udp;  // UDP method
    bool unconnected = false;
    uint32_t flow_id = 0;
    TxTimestamps<uint32_t> tx;  // UDP: -> attempt index
    // The first TTL (index) where the trace ended; hops() while unknown.
    uint32_t end = 0;
  };

  void OnResolved(absl::StatusOr<SocketAddress> address);
  absl::Status OpenSockets();
  bool MaySend();
  void Send(size_t pacer_target, uint32_t sequence);
  size_t IndexOf(uint32_t hop, uint32_t flow, uint32_t probe) const {
    return (static_cast<size_t>(hop) * plan_.flows + flow) * plan_.probes_per_hop + probe;
  }
  void OnUdpReady(uint32_t flow, uint32_t events);
  void HandleUdpErrorQueue(uint32_t flow);
  void OnIcmpReady(uint32_t events);
  void HandleIcmpErrorQueue();
  void HandleIcmpPacket(const IcmpSocket::Received& packet);
  // An answer (ICMP error, echo reply) for the probe sent as `wire`.
  void Answer(uint32_t wire, uint8_t type, uint8_t code, bool echo_reply,
              const SocketAddress& from, absl::Time kernel_received);
  void OnTimeout(size_t index);
  // Marks attempt `index` done with `reply` and emits what its column now
  // allows, in TTL order.
  void Done(size_t index, v1::TracerouteReply reply);
  void Advance(uint32_t flow, uint32_t probe);
  // The trace of `flow` ends at hop `end`: probes beyond it are dropped.
  void EndFlowAt(uint32_t flow, uint32_t end);
  void Forget(Attempt& attempt);
  void CheckFinished();
  void NewReply(size_t index, v1::TracerouteReply* reply) const;
  void FillTarget(v1::Endpoint* out) const;
  void Release() override;
  void AppendSummaries(std::vector<v1::TracerouteEvent>* out) override;
  std::string CutShortDetail() const override;

  const TraceroutePlan plan_;
  const BlockingWork work_;
  const uint32_t token_;

  SocketAddress target_;
  uint32_t payload_size_ = 0;
  std::unique_ptr<IcmpSocket> icmp_;  // ICMP method
  TxTimestamps<uint32_t> icmp_tx_;    // -> attempt index
  std::vector<Flow> flows_;
  std::vector<Attempt> attempts_;
  std::vector<Hop> hops_;         // by hop * flows + flow
  std::vector<uint32_t> cursor_;  // by flow * probes_per_hop + probe: next hop
  // In flight by wire sequence (ICMP: its 16 bits).
  std::unordered_map<uint32_t, size_t> in_flight_;
  uint32_t next_wire_ = 1;
  std::optional<Pacer> pacer_;
  uint64_t unmatched_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACEROUTE_PROBE_H_
