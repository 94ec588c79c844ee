#ifndef NETPROBE_AGENT_PROBES_MULTICAST_PROBE_H_
#define NETPROBE_AGENT_PROBES_MULTICAST_PROBE_H_

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/multicast_receiver.h"
#include "agent/net/udp_socket.h"
#include "agent/probes/multicast_request.h"
#include "agent/probes/probe_base.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Joins a multicast group (any-source or source-specific) and emits one event
// per datagram received, with the kernel's receive time, TTL and destination;
// optionally sends to the group as well. Ends on count, duration or Stop(),
// leaving the group and closing its sockets, with a summary.
//
// The receive socket is bound to group:port with SO_REUSEADDR, so several
// requests (and other programs) joined to one group:port each get a copy,
// and with IP_MULTICAST_ALL off, so it sees only its own join's datagrams.
// A receiver cannot pause: events beyond the stream's queue are dropped and
// counted by the sink; datagrams beyond the socket's buffer are dropped and
// counted by the kernel (kernel_drops in the summary). The summary is a
// closing event (ProbeBase), so it is never dropped. Sockets come from
// loop->sockets(). Not thread-safe: loop thread only.
class MulticastProbe final : public ProbeBase<v1::MulticastEvent> {
 public:
  MulticastProbe(MulticastPlan plan, EventLoop* loop, std::shared_ptr<Sink> sink,
                 std::function<void()> done);
  ~MulticastProbe() override;

  void Start() override;

 private:
  // Datagrams read per readiness callback, so a flood cannot starve the loop.
  static constexpr int kMaxReadsPerWake = 256;
  // Distinct sources remembered; beyond it distinct_sources stops growing.
  static constexpr size_t kMaxTrackedSources = 65536;

  absl::Status Join();
  absl::Status OpenSender();
  void OnReceivable(uint32_t events);
  void OnDatagram(const DatagramSocket::Received& datagram);
  void SendOne();
  void ScheduleSend();
  void OnSenderEvents(uint32_t events);
  void Release() override;
  void AppendSummaries(std::vector<v1::MulticastEvent>* out) override;
  std::string CutShortDetail() const override;

  const MulticastPlan plan_;

  std::unique_ptr<MulticastReceiver> receiver_;  // joined while open
  std::unique_ptr<DatagramSocket> sender_;
  DatagramSocket::Received buffer_;  // reused for every receive
  EventLoop::TimerId duration_timer_ = 0;
  EventLoop::TimerId send_timer_ = 0;
  absl::Duration next_send_;

  absl::Time joined_at_ = absl::InfinitePast();
  absl::Time first_at_ = absl::InfinitePast();
  uint64_t received_ = 0;
  uint64_t sent_ = 0;
  uint64_t send_errors_ = 0;
  uint64_t kernel_drops_ = 0;
  uint32_t send_sequence_ = 0;
  std::unordered_set<std::string> sources_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_MULTICAST_PROBE_H_
