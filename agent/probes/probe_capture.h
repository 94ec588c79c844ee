#ifndef NETPROBE_AGENT_PROBES_PROBE_CAPTURE_H_
#define NETPROBE_AGENT_PROBES_PROBE_CAPTURE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/net/blocking_pool.h"
#include "agent/net/captured_packet.h"
#include "agent/net/event_loop.h"
#include "agent/net/pcap_handle.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/capture.pb.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// The capture of one probe's own packets (ProbeCaptureOptions), shared by
// every probe kind: ProbeBase runs it, a probe supplies its filter, its
// classifier and the comments of its events.
//
//  - Start(): opens libpcap on "any" (FAILED_PRECONDITION naming CAP_NET_RAW
//    without it), compiles the probe's filter on the blocking pool, installs
//    it, emits the header and only then calls `ready` (the probe starts
//    sending): no packet of the probe leaves before the capture sees it.
//  - Each packet read is handed to the classifier: the key of the probe
//    event it belongs to, or nullopt (not this probe's: skipped, not counted
//    as a drop).
//  - The probe reports each event as Note(key, comment). Packets and events
//    join in either order (the ring hands a packet over up to ~10 ms after
//    the socket saw it): packets wait, in capture order, for their comment;
//    the packets of an event noted before are commented at once.
//  - Bounded: at most kMaxHeld packets (and kMaxHeldBytes) wait for an event
//    or for the stream; max_packets captured in all. Beyond either, packets
//    are counted in CaptureStats.agent_dropped, never silently lost. A slow
//    client holds packets back (up to the same bound) rather than losing them.
//  - At the probe's end, Drain() takes from the ring what the kernel counted
//    (bounded wait, as CaptureProbe::StartDrain), Release() closes the
//    handle and Closing() hands out the packets still held (those without an
//    event get their classifier's `unmatched` comment) and the final stats.
// Not thread-safe: loop thread only.
class ProbeCapture {
 public:
  struct Match {
    uint64_t key = 0;
    // The comment when no event names `key` by the end ("ping seq=7 request,
    // no reply by the end").
    std::string unmatched;
  };
  using Classifier = std::function<std::optional<Match>(const CapturedIp&)>;
  struct Hooks {
    std::function<bool(v1::ProbeCaptureEvent)> emit;
    std::function<bool()> writable;
    std::function<void(absl::Status)> fail;  // the probe cannot run
  };

  // Events a probe with a capture may emit beyond its queue's high-water mark
  // (a batch started while the stream was writable).
  static constexpr size_t kEventsBeyondHighWater = 2;
  static constexpr size_t kMaxHeld = 16384;
  static constexpr size_t kMaxHeldBytes = 16 << 20;
  // Events remembered for packets that come later (a late reply).
  static constexpr size_t kMaxNotes = 65536;
  static constexpr size_t kMaxBatchPackets = 1024;
  static constexpr int kMaxPacketsPerWake = 4096;
  static constexpr absl::Duration kBatchDelay = absl::Milliseconds(50);
  static constexpr absl::Duration kDrainWait = absl::Milliseconds(100);
  static constexpr int kRingBytes = 4 << 20;

  ProbeCapture(EventLoop* loop, BlockingWork work, ProbeCapturePlan plan, Hooks hooks);
  ~ProbeCapture();
  ProbeCapture(const ProbeCapture&) = delete;
  ProbeCapture& operator=(const ProbeCapture&) = delete;

  void Start(std::string filter, Classifier classify, std::function<void()> ready);
  // The event `key` happened: its packets (held and to come) carry `comment`
  // (a later Note replaces it for packets still to come).
  void Note(uint64_t key, std::string comment);
  // Takes what the kernel counted and has not handed over (up to kDrainWait),
  // then runs `done` (at once when nothing is outstanding). Once: later calls
  // while draining do nothing.
  void Drain(std::function<void()> done);
  bool draining() const { return draining_; }
  bool drained() const { return drained_; }
  // Closes the handle (idempotent); with `read_ring`, what the ring holds is
  // read first, and the final pcap_stats.
  void Release(bool read_ring);
  // After Release: the packets held (in batches) and the final stats; none
  // when the capture never started (no header was sent).
  std::vector<v1::ProbeCaptureEvent> Closing();

  const std::string& filter() const { return filter_; }
  uint64_t agent_dropped() const { return agent_dropped_; }

 private:
  struct Held {
    int64_t seconds = 0;
    uint32_t nanos = 0;
    uint32_t original_length = 0;
    std::string data;
    uint64_t key = 0;
    std::string unmatched;
    std::optional<std::string> comment;
  };

  void OnCompiled(absl::StatusOr<PcapHandle::Filter> filter);
  void OnReadable(uint32_t events);
  int ReadRing(int max);
  void OnFrame(const PcapHandle::Frame& frame);
  // Moves the head packets that have their comment into the batch.
  void Pump();
  void ArmBatchTimer();
  void FlushBatch();
  void AddToBatch(Held held, std::string comment, v1::PacketBatch* batch);
  void FinishDrain();

  EventLoop* const loop_;
  const BlockingWork work_;
  const ProbeCapturePlan plan_;
  const Hooks hooks_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  std::string filter_;
  Classifier classify_;
  std::function<void()> ready_;
  std::shared_ptr<PcapHandle> pcap_;  // shared with the worker compiling
  int link_type_ = 0;
  bool watching_ = false;
  bool header_sent_ = false;

  std::deque<Held> queue_;    // capture order; the head leaves once commented
  uint64_t first_index_ = 0;  // index of queue_.front() among all queued
  std::unordered_map<uint64_t, std::vector<uint64_t>> waiting_;  // key -> indexes
  std::unordered_map<uint64_t, std::string> notes_;
  std::deque<uint64_t> note_order_;
  v1::PacketBatch batch_;  // commented, not emitted yet
  size_t held_bytes_ = 0;  // queue_ and batch_
  EventLoop::TimerId batch_timer_ = 0;

  uint64_t seen_ = 0;      // packets handed over by libpcap
  uint64_t captured_ = 0;  // kept (max_packets counts these)
  uint64_t delivered_ = 0, delivered_bytes_ = 0, agent_dropped_ = 0;
  PcapHandle::Stats kernel_;
  bool final_stats_ = false;

  bool draining_ = false, drained_ = false;
  uint64_t drain_left_ = 0;
  EventLoop::TimerId drain_timer_ = 0;
  std::function<void()> drain_done_;
};

// Comment pieces every probe uses, as a person reads them.
// "0.41 ms", "1.2 ms", "31 ms".
std::string CaptureMs(absl::Duration rtt);
// An attempt's result: "refused", "timeout", "host unreachable from
// 10.0.0.1", "error ENETDOWN".
std::string CaptureOutcome(const v1::AttemptResult& result);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PROBE_CAPTURE_H_
