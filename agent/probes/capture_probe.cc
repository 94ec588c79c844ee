#include "agent/probes/capture_probe.h"

#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/traffic_counters.h"
#include "common/packet_records.h"
#include "common/proto_time.h"

namespace netprobe {

CaptureProbe::CaptureProbe(CapturePlan plan, EventLoop* loop, BlockingWork work,
                           std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)) {}

CaptureProbe::~CaptureProbe() { Release(); }

void CaptureProbe::Start() {
  PcapHandle::Options options;
  options.interface = plan_.interface;
  options.snaplen = plan_.snaplen;
  options.promiscuous = plan_.promiscuous;
  options.buffer_bytes = kRingBytes;
  absl::StatusOr<std::unique_ptr<PcapHandle>> opened =
      loop_->sockets()->OpenPcap(options);
  if (!opened.ok()) return Fail(opened.status());
  pcap_ = *std::move(opened);
  if (plan_.effective_filter.empty()) {
    Begin();
    return;
  }
  // The loop leaves the handle alone until the compiled filter is posted back;
  // the worker's reference keeps it open if the probe is released meanwhile.
  std::weak_ptr<char> alive = this->alive();
  work_.Submit(
      BlockingPool::Queue::kDiagnostics, alive,
      [this, alive, loop = loop_, pcap = pcap_, filter = plan_.effective_filter] {
        auto compiled =
            std::make_shared<absl::StatusOr<PcapHandle::Filter>>(pcap->Compile(filter));
        loop->Post([this, alive, compiled] {
          if (!alive.lock()) return;
          OnFilterCompiled(std::move(*compiled));
        });
      });
}

void CaptureProbe::OnFilterCompiled(absl::StatusOr<PcapHandle::Filter> filter) {
  if (finished()) return;
  if (!filter.ok()) {
    // The caller's own filter is what failed to compile (the agent's
    // exclusion is generated and always compiles).
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "filter: '", plan_.filter, "' does not compile: ", filter.status().message())));
  }
  if (absl::Status installed = pcap_->Install(*filter); !installed.ok()) {
    return Fail(std::move(installed));
  }
  Begin();
}

void CaptureProbe::Begin() {
  if (absl::Status watched = loop_->Watch(pcap_->fd(), EPOLLIN,
                                          [this](uint32_t events) {
                                            if (events & (EPOLLERR | EPOLLHUP))
                                              errored_ = true;
                                            OnReadable();
                                          });
      !watched.ok()) {
    return Fail(std::move(watched));
  }
  watching_ = true;
  v1::CaptureEvent event;
  v1::CaptureHeader* header = event.mutable_header();
  header->set_link_type(static_cast<uint32_t>(pcap_->link_type()));
  header->set_link_type_name(pcap_->link_type_name());
  header->set_snaplen(static_cast<uint32_t>(pcap_->snaplen()));
  header->set_interface(plan_.interface);
  header->set_effective_filter(plan_.effective_filter);
  Emit(std::move(event));
  duration_timer_ = loop_->RunAfter(plan_.duration, [this] {
    duration_timer_ = 0;
    StartDrain();
  });
  stats_timer_ = loop_->RunAfter(kStatsInterval, [this] { OnStatsTimer(); });
}

void CaptureProbe::OnReadable() {
  int handled = 0;
  absl::Status failed;
  while (handled < kMaxPacketsPerWake && !limit_reached_ &&
         !(draining_ && drain_left_ == 0)) {
    int want = kMaxPacketsPerWake - handled;
    if (draining_) want = static_cast<int>(std::min<uint64_t>(drain_left_, want));
    absl::StatusOr<int> n =
        pcap_->Dispatch(want, [this](const PcapHandle::Frame& f) { OnPacket(f); });
    if (!n.ok()) {
      failed = n.status();
      break;
    }
    if (*n == 0) break;
    handled += *n;
    if (draining_) drain_left_ -= std::min<uint64_t>(drain_left_, *n);
  }
  // The handle is closed only here, never inside its own dispatch callback.
  if (limit_reached_) return EndCapture(v1::StreamEnd::REASON_LIMIT, limit_detail_);
  if (failed.ok() && errored_ && handled == 0) {
    failed = absl::UnavailableError("the capture socket reported an error");
  }
  if (!failed.ok()) {
    // The interface went away (or down): a result, not an RPC error.
    return EndCapture(
        v1::StreamEnd::REASON_FAILED,
        absl::StrCat("capture on '", plan_.interface, "' stopped: ", failed.message()));
  }
  if (draining_ && drain_left_ == 0) return EndDuration();
  // A batch begun here waits up to kBatchDelay for more packets.
  if (batch_packets_ != 0 && batch_timer_ == 0) {
    batch_timer_ = loop_->RunAfter(kBatchDelay, [this] {
      batch_timer_ = 0;
      EmitBatch();
    });
  }
}

void CaptureProbe::OnPacket(const PcapHandle::Frame& frame) {
  if (limit_reached_) return;
  const size_t size = frame.data.size();
  if (delivered_bytes_ + size > plan_.max_bytes) {
    limit_reached_ = true;
    limit_detail_ = absl::StrCat("max_bytes ", plan_.max_bytes, " reached");
    return;
  }
  if (batch_packets_ == 0 && !Writable()) {
    ++agent_dropped_;
    TrafficCounters::Get().CapturePacketDropped();
    return;
  }
  if (plan_.packed_records) {
    // One buffer per batch, no message per packet.
    std::string* records = batch_.mutable_packets()->mutable_records();
    if (batch_packets_ == 0) records->reserve(std::max<size_t>(last_records_size_, 4096));
    AppendPacketRecord(
        frame.seconds, frame.nanos, frame.original_length,
        absl::string_view(reinterpret_cast<const char*>(frame.data.data()), size),
        records);
  } else {
    v1::Packet* packet = batch_.mutable_packets()->add_packets();
    packet->mutable_time()->set_seconds(frame.seconds);
    packet->mutable_time()->set_nanos(static_cast<int32_t>(frame.nanos));
    packet->set_captured_length(static_cast<uint32_t>(size));
    packet->set_original_length(frame.original_length);
    packet->set_data(frame.data.data(), size);
  }
  ++batch_packets_;
  ++delivered_;
  delivered_bytes_ += size;
  batch_bytes_ += size;
  if (delivered_ >= plan_.max_packets) {
    limit_reached_ = true;
    limit_detail_ = absl::StrCat("max_packets ", plan_.max_packets, " reached");
  }
  if (batch_packets_ >= static_cast<size_t>(kMaxBatchPackets) ||
      batch_bytes_ >= kMaxBatchBytes) {
    EmitBatch();
  }
}

void CaptureProbe::StartDrain() {
  if (pcap_ == nullptr || !watching_) return EndDuration();
  absl::StatusOr<PcapHandle::Stats> now = pcap_->ReadStats();
  if (!now.ok()) return EndDuration();
  kernel_ = *now;
  final_stats_ = true;
  // What the kernel counted as received and is neither delivered nor dropped
  // is still in the ring, some of it in a block the kernel has not handed
  // over yet (TPACKET_V3 retires a block after the buffer timeout): exactly
  // that many packets are taken (FIFO), so that at the end
  // received == delivered + dropped by the agent + dropped by the kernel
  // (except on lo and "any": see the drain timer).
  const uint64_t accounted = delivered_ + agent_dropped_ + kernel_.kernel_dropped;
  drain_left_ = kernel_.received > accounted ? kernel_.received - accounted : 0;
  draining_ = true;
  OnReadable();
  if (finished() || drain_left_ == 0) return;
  drain_timer_ = loop_->RunAfter(kDrainWait, [this] {
    drain_timer_ = 0;
    // Not handed over in 100 ms, ten buffer timeouts: these were never ours
    // to deliver. The kernel counts a packet in received when it enters the
    // ring, and a ring block reaches us within the buffer timeout; what it
    // counted and libpcap then discarded in user space (on lo and "any" the
    // outgoing copy of every looped packet, which the kernel counts twice;
    // packets that arrived before the filter was installed) never arrives.
    // Counting those as dropped by the agent reported a drop per looped
    // packet of every capture on lo that ended by its duration.
    drain_left_ = 0;
    EndDuration();
  });
}

void CaptureProbe::EndDuration() {
  EndCapture(v1::StreamEnd::REASON_LIMIT,
             absl::StrCat("duration ", absl::FormatDuration(plan_.duration), " reached"));
}

void CaptureProbe::EmitBatch() {
  if (batch_timer_ != 0) loop_->Cancel(batch_timer_);
  batch_timer_ = 0;
  if (batch_packets_ == 0) return;
  last_records_size_ = batch_.packets().records().size();
  // Started while the sink was writable: within the queue's high-water mark.
  Emit(std::move(batch_));
  batch_.Clear();
  batch_packets_ = 0;
  batch_bytes_ = 0;
}

void CaptureProbe::OnStatsTimer() {
  stats_timer_ = 0;
  if (finished()) return;
  // Stats count what was delivered: the packets they count go first.
  EmitBatch();
  v1::CaptureEvent stats = StatsEvent();
  const v1::CaptureStats& s = stats.stats();
  // While packets flow, and only when there is room: every stats event
  // carries totals, so one skipped loses nothing.
  const bool changed = s.received() != last_stats_.received() ||
                       s.kernel_dropped() != last_stats_.kernel_dropped() ||
                       s.agent_dropped() != last_stats_.agent_dropped() ||
                       s.delivered() != last_stats_.delivered();
  if (changed && Writable()) {
    last_stats_ = s;
    Emit(std::move(stats));
  }
  stats_timer_ = loop_->RunAfter(kStatsInterval, [this] { OnStatsTimer(); });
}

v1::CaptureEvent CaptureProbe::StatsEvent() {
  if (pcap_ != nullptr && watching_ && !final_stats_) {
    if (absl::StatusOr<PcapHandle::Stats> now = pcap_->ReadStats(); now.ok()) {
      kernel_ = *now;
    }
  }
  v1::CaptureEvent event;
  v1::CaptureStats* stats = event.mutable_stats();
  stats->set_received(kernel_.received);
  stats->set_kernel_dropped(kernel_.kernel_dropped);
  stats->set_interface_dropped(kernel_.interface_dropped);
  stats->set_agent_dropped(agent_dropped_);
  stats->set_delivered(delivered_);
  stats->set_delivered_bytes(delivered_bytes_);
  return event;
}

void CaptureProbe::EndCapture(v1::StreamEnd::Reason reason, std::string detail) {
  if (finished()) return;
  EmitBatch();
  Release();  // the last pcap_stats, for the final stats
  v1::StreamEnd end;
  end.set_reason(reason);
  end.set_detail(std::move(detail));
  ToProto(loop_->clock()->Wall(), end.mutable_time());
  Complete(Closing(std::move(end)));
}

std::vector<v1::CaptureEvent> CaptureProbe::Closing(v1::StreamEnd end) {
  std::vector<v1::CaptureEvent> out;
  out.push_back(StatsEvent());
  *out.emplace_back().mutable_end() = std::move(end);
  return out;
}

void CaptureProbe::AppendShutdownClosing(v1::StreamEnd end,
                                         std::vector<v1::CaptureEvent>* out) {
  for (v1::CaptureEvent& event : Closing(std::move(end)))
    out->push_back(std::move(event));
}

void CaptureProbe::BeforeCutShort() {
  if (watching_ && !limit_reached_) OnReadable();
  if (!finished()) EmitBatch();
}

std::string CaptureProbe::CutShortDetail() const { return "the capture was stopped"; }

void CaptureProbe::Release() {
  if (duration_timer_ != 0) loop_->Cancel(duration_timer_);
  if (stats_timer_ != 0) loop_->Cancel(stats_timer_);
  if (drain_timer_ != 0) loop_->Cancel(drain_timer_);
  if (batch_timer_ != 0) loop_->Cancel(batch_timer_);
  duration_timer_ = stats_timer_ = drain_timer_ = batch_timer_ = 0;
  if (pcap_ != nullptr && watching_) {
    if (!final_stats_) {
      if (absl::StatusOr<PcapHandle::Stats> last = pcap_->ReadStats(); last.ok()) {
        kernel_ = *last;
      }
    }
    loop_->Unwatch(pcap_->fd());
    watching_ = false;
  }
  pcap_.reset();
}

}  // namespace netprobe
