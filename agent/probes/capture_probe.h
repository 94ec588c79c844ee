#ifndef NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_
#define NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/net/event_loop.h"
#include "agent/net/pcap_handle.h"
#include "agent/net/resolver.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/probe_base.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe {

// A live capture: libpcap on the plan's interface, its fd on the loop, packets
// emitted in batches, pcap_stats and the agent's own drops as periodic stats.
// Ends at the first limit reached (packets or bytes delivered, duration) with
// final stats and a StreamEnd, in that order (clients read the totals before
// the end), as at an agent shutdown. The lifecycle is ProbeBase's.
//
// Flow control: a batch is started only while the sink is writable; packets
// that arrive while it is not are dropped and counted (agent_dropped), never
// queued, so a slow client costs at most the stream's queue of batches.
// The filter is compiled on the blocking pool's diagnostics queue (it may
// resolve names).
// Not thread-safe: loop thread only.
class CaptureProbe final : public ProbeBase<v1::CaptureEvent> {
 public:
  // Stream queue for captures, in batches of at most kMaxBatchBytes; the
  // stream takes no new batch once 4 MiB are queued (StreamLimits), so a
  // stalled client holds at most about 4.5 MiB of packets in the agent.
  static constexpr size_t kQueueBatches = 16;
  // Room beyond kQueueBatches for a batch begun while the stream was
  // writable and a stats event; the closing events have their own room.
  static size_t MaxEventsBeyondHighWater(const CapturePlan&) { return 4; }

  // The kernel ring per capture (libpcap's buffer size).
  static constexpr int kRingBytes = 16 << 20;

  // Stats are emitted at most this often, while packets flow.
  static constexpr absl::Duration kStatsInterval = absl::Seconds(1);
  // Most packets in one batch; packets handed out per readiness callback
  // (so a flood cannot starve the loop's other work).
  static constexpr int kMaxBatchPackets = 4096;
  static constexpr int kMaxPacketsPerWake = 4096;
  // How long a batch may wait for more packets before it is sent (unless
  // full first): at high rates a message per kernel block handed over
  // (several hundred a second) cost more than the packets in them, on both
  // sides. tcpdump without --immediate-mode holds packets up to 1 s.
  static constexpr absl::Duration kBatchDelay = absl::Milliseconds(50);
  // Longest wait at the duration's end for packets the kernel counted but
  // has not handed over (several of libpcap's 10 ms block timeouts).
  static constexpr absl::Duration kDrainWait = absl::Milliseconds(100);

  CaptureProbe(CapturePlan plan, EventLoop* loop, BlockingWork work,
               std::shared_ptr<Sink> sink, std::function<void()> done);
  ~CaptureProbe() override;

  void Start() override;

 private:
  static constexpr size_t kMaxBatchBytes = 512 << 10;

  void OnFilterCompiled(absl::StatusOr<PcapHandle::Filter> filter);
  void Begin();
  void OnReadable();
  void OnPacket(const PcapHandle::Frame& frame);
  void EmitBatch();
  // At the duration's end: reads the final pcap_stats and takes from the ring
  // the packets they count as received but not yet read, waiting up to
  // kDrainWait for the kernel to hand them over, and ending as soon as they
  // are in. What is not handed over by then is not counted as dropped: it is
  // what libpcap discarded in user space (see the drain timer).
  void StartDrain();
  void EndDuration();
  void OnStatsTimer();
  v1::CaptureEvent StatsEvent();
  // A limit was reached or the capture failed: the batch so far, then the
  // final stats and a StreamEnd.
  void EndCapture(v1::StreamEnd::Reason reason, std::string detail);
  // [final stats, end].
  std::vector<v1::CaptureEvent> Closing(v1::StreamEnd end);

  // Reads the last pcap_stats, closes the handle, cancels timers.
  void Release() override;
  // The final stats travel in Closing(), before the StreamEnd.
  void AppendSummaries(std::vector<v1::CaptureEvent>*) override {}
  void AppendShutdownClosing(v1::StreamEnd end,
                             std::vector<v1::CaptureEvent>* out) override;
  // What the ring holds already is delivered, not lost with the handle.
  void BeforeCutShort() override;
  std::string CutShortDetail() const override;

  const CapturePlan plan_;
  const BlockingWork work_;

  // Shared with the worker while it compiles the filter.
  std::shared_ptr<PcapHandle> pcap_;
  bool watching_ = false;
  EventLoop::TimerId duration_timer_ = 0;
  EventLoop::TimerId stats_timer_ = 0;
  EventLoop::TimerId batch_timer_ = 0;  // sends batch_ kBatchDelay after its first packet

  v1::CaptureEvent batch_;  // packets not yet emitted
  size_t batch_packets_ = 0;
  size_t batch_bytes_ = 0;  // captured bytes in batch_
  // Size of the last batch of packed records: the next one reserves as much,
  // so a steady flow appends to one allocation per batch.
  size_t last_records_size_ = 0;

  bool errored_ = false;  // epoll reported EPOLLERR/EPOLLHUP on the handle
  // Set inside a dispatch callback; acted on once libpcap has returned.
  bool limit_reached_ = false;
  std::string limit_detail_;
  PcapHandle::Stats kernel_;  // last pcap_stats read
  bool final_stats_ = false;  // kernel_ is the final read (StartDrain)
  bool draining_ = false;     // the duration is over: only drain_left_ more
  uint64_t drain_left_ = 0;
  EventLoop::TimerId drain_timer_ = 0;
  uint64_t delivered_ = 0;
  uint64_t delivered_bytes_ = 0;
  uint64_t agent_dropped_ = 0;
  v1::CaptureStats last_stats_;  // last stats emitted
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_CAPTURE_PROBE_H_
