#include "agent/probes/probe_capture.h"

#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/net/socket_opener.h"

namespace netprobe {

ProbeCapture::ProbeCapture(EventLoop* loop, BlockingWork work, ProbeCapturePlan plan,
                           Hooks hooks)
    : loop_(loop), work_(std::move(work)), plan_(plan), hooks_(std::move(hooks)) {}

ProbeCapture::~ProbeCapture() { Release(false); }

void ProbeCapture::Start(std::string filter, Classifier classify,
                         std::function<void()> ready) {
  filter_ = std::move(filter);
  classify_ = std::move(classify);
  ready_ = std::move(ready);
  PcapHandle::Options options;
  options.interface = "any";
  options.snaplen = static_cast<int>(plan_.snaplen);
  options.buffer_bytes = kRingBytes;
  absl::StatusOr<std::unique_ptr<PcapHandle>> opened =
      loop_->sockets()->OpenPcap(options);
  if (!opened.ok()) {
    return hooks_.fail(absl::Status(
        opened.status().code(), absl::StrCat("capture: ", opened.status().message())));
  }
  pcap_ = *std::move(opened);
  link_type_ = pcap_->link_type();
  // As CaptureProbe: the worker's reference keeps the handle open if the
  // probe is released while it compiles.
  std::weak_ptr<char> alive = alive_;
  work_.Submit(BlockingPool::Queue::kDiagnostics, alive,
               [this, alive, loop = loop_, pcap = pcap_, filter = filter_] {
                 auto compiled = std::make_shared<absl::StatusOr<PcapHandle::Filter>>(
                     pcap->Compile(filter));
                 loop->Post([this, alive, compiled] {
                   if (!alive.lock()) return;
                   OnCompiled(std::move(*compiled));
                 });
               });
}

void ProbeCapture::OnCompiled(absl::StatusOr<PcapHandle::Filter> filter) {
  if (pcap_ == nullptr) return;  // released meanwhile
  if (!filter.ok()) {
    // Generated from the probe's own addresses: a bug, not the caller's input.
    return hooks_.fail(absl::InternalError(
        absl::StrCat("capture: the filter '", filter_,
                     "' does not compile: ", filter.status().message())));
  }
  if (absl::Status installed = pcap_->Install(*filter); !installed.ok()) {
    return hooks_.fail(std::move(installed));
  }
  if (absl::Status watched = loop_->Watch(
          pcap_->fd(), EPOLLIN, [this](uint32_t events) { OnReadable(events); });
      !watched.ok()) {
    return hooks_.fail(std::move(watched));
  }
  watching_ = true;
  v1::ProbeCaptureEvent event;
  v1::CaptureHeader* header = event.mutable_header();
  header->set_link_type(static_cast<uint32_t>(link_type_));
  header->set_link_type_name(pcap_->link_type_name());
  header->set_snaplen(static_cast<uint32_t>(pcap_->snaplen()));
  header->set_interface("any");
  header->set_effective_filter(filter_);
  header_sent_ = true;
  hooks_.emit(std::move(event));
  std::function<void()> ready = std::move(ready_);
  ready();
}

void ProbeCapture::OnReadable(uint32_t) {
  ReadRing(kMaxPacketsPerWake);
  Pump();
  if (draining_ && !drained_ && drain_left_ == 0) FinishDrain();
}

int ProbeCapture::ReadRing(int max) {
  int handled = 0;
  while (pcap_ != nullptr && watching_ && handled < max) {
    int want = max - handled;
    if (draining_ && !drained_) {
      if (drain_left_ == 0) break;
      want = static_cast<int>(std::min<uint64_t>(drain_left_, want));
    }
    absl::StatusOr<int> n =
        pcap_->Dispatch(want, [this](const PcapHandle::Frame& f) { OnFrame(f); });
    // A failed read (the interface went away) ends what this capture sees;
    // the probe goes on and the stats tell what was seen.
    if (!n.ok() || *n == 0) break;
    handled += *n;
    if (draining_ && !drained_) drain_left_ -= std::min<uint64_t>(drain_left_, *n);
  }
  return handled;
}

void ProbeCapture::OnFrame(const PcapHandle::Frame& frame) {
  ++seen_;
  const std::optional<CapturedIp> ip = ParseCapturedIp(link_type_, frame.data);
  if (!ip) return;
  std::optional<Match> match = classify_(*ip);
  if (!match) return;  // another prober's packet the filter let through
  const size_t size = frame.data.size();
  if (captured_ >= plan_.max_packets ||
      queue_.size() + batch_.packets_size() >= kMaxHeld ||
      held_bytes_ + size > kMaxHeldBytes) {
    ++agent_dropped_;
    return;
  }
  ++captured_;
  held_bytes_ += size;
  Held held;
  held.seconds = frame.seconds;
  held.nanos = frame.nanos;
  held.original_length = frame.original_length;
  held.data.assign(reinterpret_cast<const char*>(frame.data.data()), size);
  held.key = match->key;
  held.unmatched = std::move(match->unmatched);
  if (auto note = notes_.find(held.key); note != notes_.end()) {
    held.comment = note->second;
  } else {
    waiting_[held.key].push_back(first_index_ + queue_.size());
  }
  queue_.push_back(std::move(held));
}

void ProbeCapture::Note(uint64_t key, std::string comment) {
  if (auto waiting = waiting_.find(key); waiting != waiting_.end()) {
    for (uint64_t index : waiting->second) {
      if (index >= first_index_ && index - first_index_ < queue_.size()) {
        queue_[index - first_index_].comment = comment;
      }
    }
    waiting_.erase(waiting);
  }
  auto [it, inserted] = notes_.try_emplace(key, comment);
  if (!inserted) {
    it->second = std::move(comment);
  } else {
    note_order_.push_back(key);
    if (note_order_.size() > kMaxNotes) {
      notes_.erase(note_order_.front());
      note_order_.pop_front();
    }
  }
  Pump();
}

void ProbeCapture::AddToBatch(Held held, std::string comment, v1::PacketBatch* batch) {
  v1::Packet* packet = batch->add_packets();
  packet->mutable_time()->set_seconds(held.seconds);
  packet->mutable_time()->set_nanos(static_cast<int32_t>(held.nanos));
  packet->set_captured_length(static_cast<uint32_t>(held.data.size()));
  packet->set_original_length(held.original_length);
  *packet->mutable_data() = std::move(held.data);
  packet->set_comment(std::move(comment));
}

void ProbeCapture::Pump() {
  bool moved = false;
  while (!queue_.empty() && queue_.front().comment.has_value()) {
    Held held = std::move(queue_.front());
    queue_.pop_front();
    ++first_index_;
    std::string comment = std::move(*held.comment);
    AddToBatch(std::move(held), std::move(comment), &batch_);
    moved = true;
    if (static_cast<size_t>(batch_.packets_size()) >= kMaxBatchPackets) FlushBatch();
  }
  if (moved) ArmBatchTimer();
}

void ProbeCapture::ArmBatchTimer() {
  if (batch_timer_ != 0 || batch_.packets_size() == 0) return;
  batch_timer_ = loop_->RunAfter(kBatchDelay, [this] {
    batch_timer_ = 0;
    FlushBatch();
    ArmBatchTimer();  // the stream was full: try again later
  });
}

void ProbeCapture::FlushBatch() {
  if (batch_.packets_size() == 0 || !hooks_.writable()) return;
  for (const v1::Packet& packet : batch_.packets()) {
    ++delivered_;
    delivered_bytes_ += packet.data().size();
    held_bytes_ -= std::min<size_t>(held_bytes_, packet.data().size());
  }
  v1::ProbeCaptureEvent event;
  *event.mutable_packets() = std::move(batch_);
  batch_.Clear();
  hooks_.emit(std::move(event));
}

void ProbeCapture::Drain(std::function<void()> done) {
  if (draining_ || drained_) return;
  draining_ = true;
  drain_done_ = std::move(done);
  if (pcap_ == nullptr || !watching_) return FinishDrain();
  absl::StatusOr<PcapHandle::Stats> now = pcap_->ReadStats();
  if (!now.ok()) return FinishDrain();
  kernel_ = *now;
  final_stats_ = true;
  // As CaptureProbe::StartDrain: exactly what the kernel counted and has not
  // handed over yet, waiting at most kDrainWait for its block.
  const uint64_t accounted = seen_ + kernel_.kernel_dropped;
  drain_left_ = kernel_.received > accounted ? kernel_.received - accounted : 0;
  ReadRing(kMaxPacketsPerWake);
  Pump();
  if (drain_left_ == 0) return FinishDrain();
  drain_timer_ = loop_->RunAfter(kDrainWait, [this] {
    drain_timer_ = 0;
    // What the kernel counted twice (lo's outgoing copies on "any") or
    // libpcap discarded in user space never comes: not a drop.
    drain_left_ = 0;
    FinishDrain();
  });
}

void ProbeCapture::FinishDrain() {
  if (drained_) return;
  drained_ = true;
  if (drain_timer_ != 0) loop_->Cancel(drain_timer_);
  drain_timer_ = 0;
  if (drain_done_) {
    std::function<void()> done = std::move(drain_done_);
    drain_done_ = nullptr;
    done();
  }
}

void ProbeCapture::Release(bool read_ring) {
  if (batch_timer_ != 0) loop_->Cancel(batch_timer_);
  if (drain_timer_ != 0) loop_->Cancel(drain_timer_);
  batch_timer_ = drain_timer_ = 0;
  if (pcap_ != nullptr && watching_) {
    if (read_ring) {
      drained_ = true;  // no drain limit now: all the ring holds
      ReadRing(1 << 20);
      Pump();
    }
    if (!final_stats_) {
      if (absl::StatusOr<PcapHandle::Stats> last = pcap_->ReadStats(); last.ok()) {
        kernel_ = *last;
        final_stats_ = true;
      }
    }
    loop_->Unwatch(pcap_->fd());
    watching_ = false;
  }
  pcap_.reset();
  alive_ = std::make_shared<char>();  // a compile in flight finds nothing to do
}

std::vector<v1::ProbeCaptureEvent> ProbeCapture::Closing() {
  std::vector<v1::ProbeCaptureEvent> out;
  // Stopped before the filter was in (nothing was sent): no capture to close.
  if (!header_sent_) return out;
  v1::PacketBatch batch = std::move(batch_);
  batch_.Clear();
  auto close_batch = [&] {
    if (batch.packets_size() == 0) return;
    for (const v1::Packet& packet : batch.packets()) {
      ++delivered_;
      delivered_bytes_ += packet.data().size();
    }
    *out.emplace_back().mutable_packets() = std::move(batch);
    batch.Clear();
  };
  for (Held& held : queue_) {
    std::string comment =
        held.comment ? std::move(*held.comment) : std::move(held.unmatched);
    AddToBatch(std::move(held), std::move(comment), &batch);
    if (static_cast<size_t>(batch.packets_size()) >= kMaxBatchPackets) close_batch();
  }
  close_batch();
  first_index_ += queue_.size();
  queue_.clear();
  waiting_.clear();
  held_bytes_ = 0;
  v1::CaptureStats* stats = out.emplace_back().mutable_stats();
  stats->set_received(kernel_.received);
  stats->set_kernel_dropped(kernel_.kernel_dropped);
  stats->set_interface_dropped(kernel_.interface_dropped);
  stats->set_agent_dropped(agent_dropped_);
  stats->set_delivered(delivered_);
  stats->set_delivered_bytes(delivered_bytes_);
  return out;
}

std::string CaptureMs(absl::Duration rtt) {
  const double ms = absl::ToDoubleMilliseconds(rtt);
  if (ms < 1) return absl::StrFormat("%.2f ms", ms);
  if (ms < 100) return absl::StrFormat("%.1f ms", ms);
  return absl::StrFormat("%.0f ms", ms);
}

std::string CaptureOutcome(const v1::AttemptResult& result) {
  const std::string from =
      result.reported_by().empty() ? "" : absl::StrCat(" from ", result.reported_by());
  switch (result.outcome()) {
    case v1::OUTCOME_OK:
      return "ok";
    case v1::OUTCOME_TIMEOUT:
      return "timeout";
    case v1::OUTCOME_REFUSED:
      return absl::StrCat("refused", from);
    case v1::OUTCOME_HOST_UNREACHABLE:
      return absl::StrCat("host unreachable", from);
    case v1::OUTCOME_NET_UNREACHABLE:
      return absl::StrCat("net unreachable", from);
    case v1::OUTCOME_TIME_EXCEEDED:
      return absl::StrCat("time exceeded", from);
    case v1::OUTCOME_PROHIBITED:
      return absl::StrCat("prohibited", from);
    case v1::OUTCOME_PACKET_TOO_BIG:
      return absl::StrCat("packet too big", from);
    default:
      return absl::StrCat("error", result.error().empty() ? "" : " ", result.error(),
                          from);
  }
}

}  // namespace netprobe
