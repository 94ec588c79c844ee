#ifndef NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_
#define NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/net/event_loop.h"
#include "agent/net/pcap_handle.h"
#include "agent/net/resolver.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe {

// A live capture: libpcap on the plan's interface, its fd on the loop, packets
// emitted in batches, pcap_stats and the agent's own drops as periodic stats.
// Ends at the first limit reached (packets or bytes delivered, duration) with
// final stats and a StreamEnd, or on Stop().
//
// Flow control: a batch is started only while the sink is writable; packets
// that arrive while it is not are dropped and counted (agent_dropped), never
// queued, so a slow client costs at most the stream's queue of batches.
// The filter is compiled on the resolver's worker (it may resolve names).
// Not thread-safe: loop thread only.
class CaptureProbe final : public Probe {
 public:
  using Sink = EventSink<v1::CaptureEvent>;

  // Stream queue for captures, in batches: at most kMaxBatchBytes each, so a
  // stalled client holds at most about 4 MiB of packets in the agent.
  static constexpr size_t kQueueBatches = 16;
  // Room beyond kQueueBatches for the stats and end events.
  static size_t MaxEventsBeyondHighWater(const CapturePlan&) { return 4; }

  // The kernel ring per capture (libpcap's buffer size).
  static constexpr int kRingBytes = 16 << 20;

  CaptureProbe(CapturePlan plan, EventLoop* loop, Resolver* resolver,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~CaptureProbe() override;

  void Start() override;
  void Stop(StopReason reason) override;

 private:
  static constexpr int kMaxBatchPackets = 1024;
  static constexpr size_t kMaxBatchBytes = 256 << 10;
  // Packets handed out per readiness callback, so a flood cannot starve the
  // loop's other work.
  static constexpr int kMaxPacketsPerWake = 4096;
  static constexpr absl::Duration kStatsInterval = absl::Seconds(1);

  void OnFilterCompiled(absl::StatusOr<PcapHandle::Filter> filter);
  void Begin();
  void OnReadable();
  void OnPacket(const PcapHandle::Frame& frame);
  void EmitBatch();
  void OnStatsTimer();
  v1::CaptureEvent StatsEvent();
  // A limit was reached: release, then final stats and StreamEnd once the
  // stream has room for them.
  void Complete(v1::StreamEnd::Reason reason, std::string detail);
  void EmitEnd(v1::StreamEnd::Reason reason, const std::string& detail);
  void End(absl::Status status);
  // Reads the last pcap_stats, closes the handle, cancels timers.
  void Release();

  const CapturePlan plan_;
  EventLoop* const loop_;
  Resolver* const resolver_;
  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  // Shared with the worker while it compiles the filter.
  std::shared_ptr<PcapHandle> pcap_;
  bool watching_ = false;
  EventLoop::TimerId duration_timer_ = 0;
  EventLoop::TimerId stats_timer_ = 0;

  v1::CaptureEvent batch_;  // packets not yet emitted
  size_t batch_bytes_ = 0;

  bool released_ = false;
  bool ended_ = false;
  bool errored_ = false;  // epoll reported EPOLLERR/EPOLLHUP on the handle
  // Set inside a dispatch callback; acted on once libpcap has returned.
  bool limit_reached_ = false;
  std::string limit_detail_;
  PcapHandle::Stats kernel_;  // last pcap_stats read
  uint64_t delivered_ = 0;
  uint64_t delivered_bytes_ = 0;
  uint64_t agent_dropped_ = 0;
  v1::CaptureStats last_stats_;  // last stats emitted
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_
