#ifndef NETPROBE_AGENT_PROBES_BROADCAST_PROBE_H_
#define NETPROBE_AGENT_PROBES_BROADCAST_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/net/udp_socket.h"
#include "agent/probes/broadcast_request.h"
#include "agent/probes/probe_base.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Who answers on this segment: one datagram to a broadcast address out of one
// interface (SO_BINDTODEVICE, SO_BROADCAST on this socket only), then every
// datagram that reaches our socket within the window becomes a `reply` event.
// Events: `sent` first, `reply` per datagram, `summary` last.
//
// RTT = the reply's kernel RX timestamp minus the kernel TX timestamp of our
// datagram (error queue, tx id 0); user-space send time only when the kernel
// gave no TX timestamp. ICMP errors on the error queue are counted in the
// summary and otherwise ignored: hosts do not answer broadcasts with ICMP
// (RFC 1122 3.2.2), so one is about something else and ends nothing.
//
// A collector cannot pause: replies the stream queue cannot take are dropped
// and counted by the sink (Dropped events). The summary is a closing event
// (ProbeBase), so it is never dropped. Sockets come from loop->sockets().
// Not thread-safe: loop thread only.
class BroadcastProbe final : public ProbeBase<v1::BroadcastEvent> {
 public:
  BroadcastProbe(BroadcastPlan plan, EventLoop* loop, std::shared_ptr<Sink> sink,
                 std::function<void()> done);
  ~BroadcastProbe() override;

  void Start() override;

 private:
  void OnSocketReady(uint32_t events);
  void ReadErrorQueue();  // REQUIRES: socket_ open
  void ReadReplies();
  void OnWindowEnd();
  void Release() override;
  void AppendSummaries(std::vector<v1::BroadcastEvent>* out) override;
  std::string CutShortDetail() const override;

  const BroadcastPlan plan_;

  std::unique_ptr<DatagramSocket> socket_;
  EventLoop::TimerId window_timer_ = 0;
  absl::Time user_sent_ = absl::InfinitePast();
  absl::Time kernel_sent_ = absl::InfinitePast();
  uint16_t local_port_ = 0;
  DatagramSocket::Received received_;  // reused: steady-state receives do not allocate

  uint64_t replies_ = 0;
  uint64_t kernel_drops_ = 0;
  uint64_t icmp_errors_ = 0;
  std::set<std::string> responders_;  // distinct source IP addresses
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_BROADCAST_PROBE_H_
