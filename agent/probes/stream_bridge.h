#ifndef NETPROBE_AGENT_PROBES_STREAM_BRIDGE_H_
#define NETPROBE_AGENT_PROBES_STREAM_BRIDGE_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/traffic_counters.h"

namespace netprobe {

// Limits of one stream's queue, in events and in bytes.
struct StreamLimits {
  // Writable() turns false at this many queued events: pausing probes stop
  // starting new work. It turns true again (resume callbacks run) at half.
  size_t high_water = 256;
  // Events beyond this many are dropped and counted. Pausing probes set it
  // above high_water by their maximum number of in-flight results, so nothing
  // they emit is ever dropped; captures set it equal to high_water. The
  // closing events (Finish) are never dropped: they come on top.
  size_t hard_limit = 256;
  // Bytes of queued events (their encoded size; the batch being written is
  // apart, at most kMaxBytesPerMessage plus one event). Writable() turns
  // false at half of it and true again at a quarter; an event that would
  // take the queue beyond it is dropped and counted, unless the queue is
  // empty (an event larger than the limit still goes out alone). Pausing
  // probes' events are small (a ping reply is ~100 bytes), so their
  // in-flight results fit in the half above the pause.
  size_t max_bytes = size_t{8} << 20;
  // The least time between the starts of two writes while events keep
  // coming; 0: each write as soon as the one before is done. A write after a
  // quieter spell starts at once; events that come sooner wait for the
  // spacing's end (a timer), except that a whole message's worth
  // (kMaxEventsPerMessage, or high_water if lower) goes at once, and so does
  // what Finish() leaves. Ping sets it: a message per loop round, ~1,000
  // messages a second at 6,000 probes/s, cost agent and client more CPU in
  // gRPC's cross-thread wake-ups than the probes themselves.
  absl::Duration min_write_spacing = absl::ZeroDuration();
};

// Most events and bytes packed into one stream message.
inline constexpr int kMaxEventsPerMessage = 256;
inline constexpr size_t kMaxBytesPerMessage = 1 << 20;

// The bounded queue between a probe on the event loop (producer) and one gRPC
// server stream (consumer). Knows nothing of gRPC: the stream is a Writer.
// Each write carries every queued event (up to kMaxEventsPerMessage and about
// kMaxBytesPerMessage): one event per message while the client keeps up, and
// batches, which amortize per-message costs, when it does not.
//
// Contract with the writer: at most one StartWrite() in flight; the batch it
// points to stays untouched until OnWriteDone(); FinishStream() is called
// exactly once, never while a write is in flight; no writer call happens after
// Detach(). Writer calls are made without holding the mutex, so a writer may
// re-enter OnWriteDone() inline.
//
// `Event` is a proto with a `dropped` field of type netprobe.v1.Dropped;
// `Batch` a proto with `repeated Event events`. Thread-safe.
template <typename Event, typename Batch>
class StreamBridge final
    : public EventSink<Event>,
      public std::enable_shared_from_this<StreamBridge<Event, Batch>> {
 public:
  class Writer {
   public:
    virtual ~Writer() = default;
    // `more_queued`: further events wait behind this batch (information for
    // the writer; the gRPC writer must not delay the write on it).
    virtual void StartWrite(const Batch* batch, bool more_queued) = 0;
    virtual void FinishStream(absl::Status status) = 0;
  };

  StreamBridge(EventLoop* loop, StreamLimits limits) : loop_(loop), limits_(limits) {}

  // Consumer side ---------------------------------------------------------

  // Starts delivering whatever was queued (or finished) before attaching.
  void Attach(Writer* writer) {
    Action action;
    std::function<void()> resume;
    {
      absl::MutexLock lock(&mu_);
      writer_ = writer;
      action = NextActionLocked();
      resume = TakeResumeLocked();
    }
    if (resume) loop_->Post(std::move(resume));
    Perform(action);
  }

  void OnWriteDone(bool ok) {
    Action action;
    std::function<void()> resume;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        closed_ = true;  // The client is gone; what is queued cannot be sent.
        ClearQueueLocked();
      } else {
        delivered_ += in_flight_.events_size();
      }
      action = NextActionLocked();
      resume = TakeResumeLocked();
    }
    if (resume) loop_->Post(std::move(resume));
    Perform(action);
  }

  // The client cancelled (or its deadline passed): nothing more is delivered.
  void OnCancel() {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      ClearQueueLocked();  // The batch in flight is apart and stays until OnWriteDone().
      if (!finish_requested_) {
        finish_requested_ = true;
        final_status_ = absl::CancelledError("cancelled by the client");
      }
      action = NextActionLocked();
    }
    Perform(action);
  }

  // The stream is done (gRPC's OnDone): the writer is about to be destroyed.
  void Detach() {
    absl::MutexLock lock(&mu_);
    writer_ = nullptr;
    closed_ = true;
    resume_ = nullptr;
  }

  // EventSink (producer side, loop thread) --------------------------------

  // Queues the event; the write starts once the loop's current round is
  // done (EventLoop::Defer), so events of one round share one message.
  // REQUIRES: the bridge is owned by a shared_ptr.
  bool Emit(Event event) override {
    bool schedule = false;
    {
      absl::MutexLock lock(&mu_);
      if (closed_ || finish_requested_) return false;
      const size_t size = event.ByteSizeLong();
      if (queue_.size() >= limits_.hard_limit ||
          (!queue_.empty() && queued_bytes_ + size > limits_.max_bytes)) {
        TrafficCounters::Get().StreamEventDropped();
        ++dropped_pending_;
        ++dropped_total_;
        return false;
      }
      FlushDroppedLocked();
      PushLocked(std::move(event));
      // With a spacing timer armed, only a full message is worth a write now.
      schedule = !writing_ && !flush_scheduled_ &&
                 (!timer_armed_ || queue_.size() >= FullBatchLocked());
      flush_scheduled_ |= schedule;
    }
    if (schedule) {
      loop_->Defer([self = this->shared_from_this()] { self->Flush(); });
    }
    return true;
  }

  // Starts writing what is queued, unless a write is in flight (its
  // OnWriteDone continues then). Loop thread.
  void Flush() {
    Action action;
    std::function<void()> resume;
    {
      absl::MutexLock lock(&mu_);
      flush_scheduled_ = false;
      action = NextActionLocked();
      resume = TakeResumeLocked();
    }
    if (resume) loop_->Post(std::move(resume));
    Perform(action);
  }

  // The spacing timer (StreamLimits::min_write_spacing) ran out. Loop thread.
  void OnSpacingTimer() {
    Action action;
    std::function<void()> resume;
    {
      absl::MutexLock lock(&mu_);
      timer_armed_ = false;
      action = NextActionLocked();
      resume = TakeResumeLocked();
    }
    if (resume) loop_->Post(std::move(resume));
    Perform(action);
  }

  bool Writable() const override {
    absl::MutexLock lock(&mu_);
    return !closed_ && queue_.size() < limits_.high_water &&
           queued_bytes_ < limits_.max_bytes / 2;
  }

  void NotifyWhenWritable(std::function<void()> resume) override {
    bool now = false;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      if (LowWaterLocked()) {
        now = true;
      } else {
        resume_ = std::move(resume);
      }
    }
    if (now) loop_->Post(std::move(resume));
  }

  using EventSink<Event>::Finish;
  void Finish(absl::Status status, std::vector<Event> closing) override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (finish_requested_) return;
      finish_requested_ = true;
      final_status_ = std::move(status);
      FlushDroppedLocked();
      // Beyond hard_limit: the closing events' room is reserved.
      if (!closed_) {
        for (Event& event : closing) PushLocked(std::move(event));
      }
      action = NextActionLocked();
    }
    Perform(action);
  }

  // Counters, for tests and metrics. `delivered` counts events.
  uint64_t dropped_total() const {
    absl::MutexLock lock(&mu_);
    return dropped_total_;
  }
  uint64_t delivered() const {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  size_t queued() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }
  size_t queued_bytes() const {
    absl::MutexLock lock(&mu_);
    return queued_bytes_;
  }

 private:
  struct Action {
    Writer* writer = nullptr;
    const Batch* write = nullptr;  // StartWrite(write, more_queued) when set
    bool more_queued = false;
    bool finish = false;  // else FinishStream(status) when set
    absl::Status status;
    // Arm the spacing timer for this time (no writer call then).
    std::optional<absl::Duration> timer_at;
  };

  // Queued events that go out at once despite the spacing: a whole message.
  size_t FullBatchLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::min<size_t>(kMaxEventsPerMessage,
                            std::max<size_t>(limits_.high_water, 1));
  }

  // The pending resume callback once the waiting queue (what a new batch has
  // not taken) is down to the low-water mark. Call after NextActionLocked().
  std::function<void()> TakeResumeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!resume_ || !LowWaterLocked()) return nullptr;
    return std::exchange(resume_, nullptr);
  }

  bool LowWaterLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() <= limits_.high_water / 2 &&
           queued_bytes_ <= limits_.max_bytes / 4;
  }

  void PushLocked(Event event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_bytes_ += event.ByteSizeLong();
    queue_.push_back(std::move(event));
  }

  void ClearQueueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queue_.clear();
    queued_bytes_ = 0;
  }

  // Puts a Dropped notice in the queue for drops not yet reported. It may take
  // the queue one past hard_limit: a notice is never itself dropped.
  void FlushDroppedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (dropped_pending_ == 0 || closed_) return;
    Event notice;
    auto* dropped = notice.mutable_dropped();
    dropped->set_count(dropped_pending_);
    dropped->set_total(dropped_total_);
    dropped->set_reason("the client read too slowly; the agent's stream queue was full");
    dropped_pending_ = 0;
    PushLocked(std::move(notice));
  }

  // Decides the next writer call. The batch in flight is a member of its own,
  // untouched until OnWriteDone(), so producers may queue meanwhile.
  Action NextActionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Action action;
    if (writing_ || finished_ || writer_ == nullptr) return action;
    if (!queue_.empty() && !closed_) {
      if (limits_.min_write_spacing > absl::ZeroDuration()) {
        const absl::Duration now = loop_->clock()->Monotonic();
        const absl::Duration at = last_write_start_ + limits_.min_write_spacing;
        if (now < at && !finish_requested_ && queue_.size() < FullBatchLocked() &&
            queued_bytes_ < limits_.max_bytes / 2) {
          if (!timer_armed_) {
            timer_armed_ = true;
            action.timer_at = at;
          }
          return action;
        }
        last_write_start_ = now;
      }
      in_flight_.Clear();
      size_t bytes = 0;
      while (!queue_.empty() && in_flight_.events_size() < kMaxEventsPerMessage &&
             (in_flight_.events_size() == 0 || bytes < kMaxBytesPerMessage)) {
        const size_t size = queue_.front().ByteSizeLong();
        bytes += size;
        queued_bytes_ -= size;
        *in_flight_.add_events() = std::move(queue_.front());
        queue_.pop_front();
      }
      writing_ = true;
      action.writer = writer_;
      action.write = &in_flight_;
      action.more_queued = !queue_.empty();
    } else if (finish_requested_ && (queue_.empty() || closed_)) {
      finished_ = true;
      action.writer = writer_;
      action.finish = true;
      action.status = final_status_;
    }
    return action;
  }

  void Perform(const Action& action) {
    if (action.timer_at) ArmSpacingTimer(*action.timer_at);
    if (action.writer == nullptr) return;
    if (action.write != nullptr) {
      action.writer->StartWrite(action.write, action.more_queued);
    } else if (action.finish) {
      action.writer->FinishStream(action.status);
    }
  }

  // Runs OnSpacingTimer() at `at` (from a gRPC thread: the loop arms it).
  void ArmSpacingTimer(absl::Duration at) {
    auto arm = [self = this->shared_from_this(), at] {
      self->loop_->RunAt(at, [self] { self->OnSpacingTimer(); });
    };
    if (loop_->IsInLoopThread()) {
      arm();
    } else {
      loop_->Post(std::move(arm));
    }
  }

  EventLoop* const loop_;
  const StreamLimits limits_;

  mutable absl::Mutex mu_;
  Writer* writer_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<Event> queue_ ABSL_GUARDED_BY(mu_);  // waiting, not in flight
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // queue_'s encoded size
  Batch in_flight_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  // min_write_spacing: when the last write started; a timer is armed.
  absl::Duration last_write_start_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  bool timer_armed_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_pending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> resume_ ABSL_GUARDED_BY(mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_STREAM_BRIDGE_H_
