#ifndef NETPROBE_TESTS_TEST_SUPPORT_RECORDING_SINK_H_
#define NETPROBE_TESTS_TEST_SUPPORT_RECORDING_SINK_H_

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "agent/probes/event_sink.h"

namespace netprobe::testing {

// An EventSink for probe unit tests: keeps every event, and acts like a stream
// whose client stopped reading once `set_capacity(n)` is set: Writable() is
// false at n queued events and Emit() drops (and counts) beyond `hard_limit`,
// as StreamBridge does; Finish()'s closing events are always kept. Drain()
// empties the queue as a client that reads again would, and runs the
// pending resume callback. Loop thread only.
template <typename Event>
class RecordingSink final : public EventSink<Event> {
 public:
  bool Emit(Event event) override {
    if (status_) return false;
    if (hard_limit_ && queued_ >= *hard_limit_) {
      ++dropped_;
      return false;
    }
    events_.push_back(std::move(event));
    ++queued_;
    return true;
  }
  bool Writable() const override { return !capacity_ || queued_ < *capacity_; }
  void NotifyWhenWritable(std::function<void()> resume) override {
    if (Writable()) {
      resume();
      return;
    }
    resume_ = std::move(resume);
  }
  using EventSink<Event>::Finish;
  void Finish(absl::Status status, std::vector<Event> closing) override {
    ++finishes_;
    if (status_) return;
    for (Event& event : closing) events_.push_back(std::move(event));
    closing_ = closing.size();
    status_ = std::move(status);
  }

  // A client that reads slower than the probe emits: pausing at `capacity`
  // queued events, dropping beyond `hard_limit`.
  void set_capacity(size_t capacity, std::optional<size_t> hard_limit = std::nullopt) {
    capacity_ = capacity;
    hard_limit_ = hard_limit;
  }
  // The client read everything queued; a paused probe resumes.
  void Drain() {
    queued_ = 0;
    if (resume_) std::exchange(resume_, nullptr)();
  }

  const std::vector<Event>& events() const { return events_; }
  // Events of one kind, e.g. [](const auto& e) { return e.has_summary(); }.
  template <typename Pred>
  size_t Count(Pred pred) const {
    size_t n = 0;
    for (const Event& event : events_) n += pred(event) ? 1 : 0;
    return n;
  }
  bool finished() const { return status_.has_value(); }
  const absl::Status& status() const { return *status_; }
  int finishes() const { return finishes_; }
  size_t dropped() const { return dropped_; }
  size_t closing() const { return closing_; }
  bool resume_pending() const { return static_cast<bool>(resume_); }

 private:
  std::vector<Event> events_;
  size_t queued_ = 0;
  std::optional<size_t> capacity_;
  std::optional<size_t> hard_limit_;
  std::function<void()> resume_;
  std::optional<absl::Status> status_;
  int finishes_ = 0;
  size_t dropped_ = 0;
  size_t closing_ = 0;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_TEST_SUPPORT_RECORDING_SINK_H_
