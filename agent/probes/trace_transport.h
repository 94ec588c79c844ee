#ifndef NETPROBE_AGENT_PROBES_TRACE_TRANSPORT_H_
#define NETPROBE_AGENT_PROBES_TRACE_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/net/icmp_error.h"
#include "agent/net/icmp_socket.h"
#include "agent/net/raw_tcp_socket.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/net/udp_socket.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/tx_timestamps.h"

namespace netprobe {

// The sockets of one trace (traceroute, mtr, tracepath) and what travels on
// them: a probe with a given TTL on one flow, known by its `wire` number,
// and the answers (a router's ICMP error, the target's own answer) matched
// back to that number by an identity load balancers do not hash (Paris
// traceroute):
//  - UDP: one connected UDP socket per flow (its source port is the flow, the
//    destination port is constant); the TTL is set per packet (a control
//    message); the wire number is in the payload, which the kernel hands
//    back with each ICMP error on the socket's error queue (IP_RECVERR), with
//    the router that sent it. Unprivileged.
//  - ICMP: echo requests on the agent's ICMP socket (the ping probe's: raw
//    with CAP_NET_RAW, else a ping socket whose errors come on its error
//    queue); the wire number is the 16-bit echo sequence, and a compensating
//    payload word keeps the checksum constant within a flow (the flow picks
//    it).
//  - TCP: SYNs from one raw TCP socket connected to the target (CAP_NET_RAW);
//    each flow has its own source port, reserved by a bound TCP socket kept
//    for the trace; the destination port and the rest of the header are
//    constant; the wire number is the sequence number, which routers' ICMP
//    errors quote (the raw socket's error queue, IP_RECVERR) and the target
//    answers as ack - 1 in its SYN-ACK (open) or RST (closed). The kernel
//    answers a SYN-ACK with RST: nothing listens on the reserved ports.
// Kernel TX timestamps come back through `on_sent`. Not thread-safe: loop
// thread only.
class TraceTransport {
 public:
  struct Answer {
    enum class Kind : uint8_t {
      kIcmpError,  // time exceeded, unreachable, ... (type and code)
      kEchoReply,  // ICMP method: the target's echo reply
      kTcpSynAck,  // TCP method: the target's port is open
      kTcpReset,   // TCP method: the target's port is closed
    };
    Kind kind = Kind::kIcmpError;
    uint32_t wire = 0;  // as WireKey() gives it
    uint8_t type = 0, code = 0;
    SocketAddress from;
    absl::Time received = absl::InfinitePast();  // the kernel's; InfinitePast: none
    uint32_t reply_ttl = 0;                      // 0: unknown
    uint32_t quoted_ttl = 0;                     // 0: unknown
    uint32_t next_hop_mtu = 0;                   // frag needed / packet too big
    std::vector<icmp::MplsEntry> mpls;           // RFC 4950, top of the stack first
  };
  struct Callbacks {
    std::function<void(const Answer&)> on_answer;
    // The kernel's TX timestamp of the probe sent as `wire`.
    std::function<void(uint32_t wire, absl::Time sent)> on_sent;
    // After each batch of readiness handled (the caller pumps its pacer).
    std::function<void()> on_wake;
    // True once the caller ended: nothing more is read or reported.
    std::function<bool()> finished;
  };
  struct Options {
    TraceroutePlan::Method method = TraceroutePlan::Method::kUdp;
    SocketAddress target;  // with the port (UDP, TCP)
    uint32_t flows = 1;
    uint32_t token = 0;  // tells our probes from others'
    // Of the first probe: the ICMP flows' checksums (flow_id) depend on it.
    uint32_t payload_size = 0;
    SocketSetup setup;
    // IPv6: the flow label of every probe (nullopt: 0, no label). Either way
    // the kernel's automatic labels are off on every socket of the trace, so
    // the label stays constant within a flow. Open() fills setup.flow_label
    // and target's sin6_flowinfo from it.
    std::optional<uint32_t> flow_label;
  };

  // A random token telling one trace's probes from every other's.
  static uint32_t NewToken();

  // Opens and watches the sockets. INVALID_ARGUMENT / the socket's error.
  static absl::StatusOr<std::unique_ptr<TraceTransport>> Open(EventLoop* loop,
                                                              Options options,
                                                              Callbacks callbacks);
  // Open() for `plan` toward its resolved target `address`: checks what only
  // the resolved address tells (the source address's family, a flow label
  // on IPv4, the packet length's minimum), INVALID_ARGUMENT naming the field.
  static absl::StatusOr<std::unique_ptr<TraceTransport>> ForPlan(
      EventLoop* loop, const TraceroutePlan& plan, SocketAddress address, uint32_t token,
      Callbacks callbacks);
  ~TraceTransport() { Close(); }
  // Unwatches and closes the sockets; nothing more is sent or reported. Safe
  // from inside a callback (the object stays until destroyed).
  void Close();
  TraceTransport(const TraceTransport&) = delete;
  TraceTransport& operator=(const TraceTransport&) = delete;

  // Sends the probe `wire` on `flow` with `ttl`, `payload_size` bytes after
  // the UDP / ICMP header (TCP: none, SYNs carry no data). 0, or the errno the kernel
  // refused it with (no route, a local filter, EMSGSIZE).
  int Send(uint32_t flow, int ttl, uint32_t wire, uint32_t payload_size);
  // The number an answer for `wire` comes back as (ICMP: its 16 bits).
  uint32_t WireKey(uint32_t wire) const;
  // The MTU of the interface holding the flow's source address (where its
  // packets leave; what IP_PMTUDISC_PROBE checks a send against), else the
  // path MTU the kernel knows (IP_MTU, lowered by what it learnt). UDP only:
  // UNIMPLEMENTED for the other methods.
  absl::StatusOr<uint32_t> LocalMtu(uint32_t flow) const;
  // How many wire numbers may be in flight without ambiguity.
  size_t MaxInFlight() const;
  // The flow's constant identity: its UDP or TCP source port, or the ICMP
  // checksum of its echo requests.
  uint32_t flow_id(uint32_t flow) const { return flows_[flow].flow_id; }
  // Answers that were not ours or quoted too little to tell which probe.
  uint64_t unmatched() const { return unmatched_; }
  int family() const { return options_.target.family(); }
  // The target, with the port probed (UDP, TCP).
  const SocketAddress& target() const { return options_.target; }
  // The payload after the UDP / ICMP header of the plan's packet length.
  uint32_t payload_size() const { return options_.payload_size; }
  TraceroutePlan::Method method() const { return options_.method; }
  uint32_t token() const { return options_.token; }
  uint32_t flows() const { return static_cast<uint32_t>(flows_.size()); }
  // ICMP method: the echo identifier of its socket (nullopt once closed).
  std::optional<uint16_t> icmp_id() const {
    if (icmp_ == nullptr) return std::nullopt;
    return icmp_->id();
  }

 private:
  struct Flow {
    std::unique_ptr<DatagramSocket> udp;  // UDP method
    bool unconnected = false;
    uint32_t flow_id = 0;
    TxTimestamps<uint32_t> tx;  // UDP: -> wire
  };

  TraceTransport(EventLoop* loop, Options options, Callbacks callbacks);
  absl::Status OpenSockets();
  bool Finished() const { return callbacks_.finished(); }
  void OnUdpReady(uint32_t flow, uint32_t events);
  void HandleUdpErrorQueue(uint32_t flow);
  void OnIcmpReady(uint32_t events);
  void HandleIcmpErrorQueue();
  void HandleIcmpPacket(const IcmpSocket::Received& packet);
  void OnTcpReady(uint32_t events);
  void HandleTcpErrorQueue();
  void HandleTcpSegment(const SynSocket::Received& segment);
  // The flow whose source port is `port`; nullopt when none is.
  std::optional<uint32_t> FlowOfPort(uint16_t port) const;

  EventLoop* const loop_;
  const Options options_;
  const Callbacks callbacks_;
  std::unique_ptr<IcmpSocket> icmp_;  // ICMP method
  TxTimestamps<uint32_t> icmp_tx_;    // -> wire
  std::unique_ptr<SynSocket> tcp_;    // TCP method (it holds the flows' ports)
  TxTimestamps<uint32_t> tcp_tx_;     // -> wire
  std::vector<Flow> flows_;
  uint64_t unmatched_ = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TRACE_TRANSPORT_H_
