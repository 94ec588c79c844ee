#ifndef NETPROBE_AGENT_NET_EVENT_LOOP_H_
#define NETPROBE_AGENT_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/net/clock.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

class SocketOpener;

// One thread's epoll + timerfd loop. Every probe socket is driven from here.
//
// Thread safety: Post() and Stop() may be called from any thread. Everything
// else is loop-thread only (REQUIRES: IsInLoopThread(), or the loop not yet
// running). Callbacks run on the loop thread and must never block.
class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t epoll_events)>;
  using TimerId = uint64_t;

  // The seams (not owned, outliving the loop): `clock` times the loop's
  // timers and is the clock probes read (clock()); `sockets` opens the
  // sockets the probes on this loop send on (sockets()). The timerfd sleeps
  // on the real CLOCK_MONOTONIC, so a fake clock is for loops driven by
  // RunOnce().
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(
      Clock* clock = Clock::Real(), SocketOpener* sockets = nullptr);
  ~EventLoop();

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks on the calling thread until Stop(). Posted tasks that are
  // pending when Stop() is called still run before Run() returns, and so do
  // the tasks they post and defer, up to kMaxStopRounds rounds of them (what
  // is left then stays queued for a later Run()).
  void Run();
  static constexpr int kMaxStopRounds = 1024;
  void Stop();

  // Runs `task` on the loop thread, in posting order.
  void Post(std::function<void()> task);
  // Runs `task` on the loop thread and returns once it has run: at once when
  // called on the loop thread, else posted and waited for. REQUIRES: the
  // loop runs (or this is its thread).
  void RunAndWait(const std::function<void()>& task);

  // Runs `task` on the loop thread once the current round of ready events,
  // timers and posted tasks is handled: work that many callbacks of one round
  // ask for (flushing a stream) then happens once. Loop thread only.
  void Defer(std::function<void()> task) { deferred_.push_back(std::move(task)); }
  // Runs the deferred tasks now, including those they defer in turn, up to
  // kMaxDeferredRounds rounds; what is left runs after the loop's next poll,
  // which then does not wait. The loop calls it after every round; code
  // driving a loop that is not running (tests) calls it itself.
  void RunDeferred();
  static constexpr int kMaxDeferredRounds = 64;
  // Deferred tasks waiting (for tests).
  size_t deferred_count() const { return deferred_.size(); }

  // One round without blocking: the timers due by clock(), the fds that are
  // ready then, posted and deferred tasks. For tests that drive a loop on a
  // fake clock (advance it, then RunOnce()). REQUIRES: Run() is not running.
  void RunOnce();
  // The earliest pending timer's deadline, if any (tests step a fake clock
  // from one deadline to the next).
  std::optional<absl::Duration> NextTimerDeadline();

  bool IsInLoopThread() const;

  Clock* clock() const { return clock_; }
  SocketOpener* sockets() const { return sockets_; }
  // clock()->Monotonic(): the time base of RunAt().
  absl::Duration Now() const { return clock_->Monotonic(); }

  // MonotonicNow() as taken when the current batch of ready events was
  // returned by epoll_wait: the earliest moment the loop knew of them. Use it
  // to timestamp readiness, so events later in a busy batch are not charged
  // for the work done on earlier ones.
  absl::Duration poll_time() const { return poll_time_; }

  // Calls `callback` with the ready epoll events of `fd` (EPOLLIN, EPOLLOUT,
  // ...). The caller keeps owning `fd` and must Unwatch() before closing it.
  absl::Status Watch(int fd, uint32_t events, FdCallback callback);
  absl::Status Modify(int fd, uint32_t events);
  // Safe inside a callback, including the fd's own: no later event of this
  // registration is delivered, even when the fd number is reused.
  void Unwatch(int fd);

  // One-shot timers on CLOCK_MONOTONIC (see MonotonicNow()).
  TimerId RunAt(absl::Duration monotonic_deadline, std::function<void()> callback);
  TimerId RunAfter(absl::Duration delay, std::function<void()> callback);
  // Cancelling a timer that already ran or was cancelled is a no-op.
  void Cancel(TimerId id);

  // Registrations and timers currently held; for tests and leak checks.
  size_t watched_fd_count() const { return handlers_.size(); }
  size_t pending_timer_count() const { return timers_.size(); }

 private:
  struct Handler {
    uint32_t generation;
    FdCallback callback;
  };
  struct TimerEntry {
    absl::Duration deadline;
    TimerId id;
    bool operator>(const TimerEntry& o) const {
      return deadline > o.deadline || (deadline == o.deadline && id > o.id);
    }
  };

  EventLoop(Clock* clock, SocketOpener* sockets, UniqueFd epoll, UniqueFd timer,
            UniqueFd wake);
  // Handles one epoll_wait's worth of events; `timeout_ms` as epoll_wait's.
  void Poll(int timeout_ms);
  // Runs what was posted; whether there was anything.
  bool RunPosted();
  void Wake();
  void RunExpiredTimers();
  void ArmTimerFd();

  Clock* const clock_;
  SocketOpener* const sockets_;
  UniqueFd epoll_fd_;
  UniqueFd timer_fd_;
  UniqueFd wake_fd_;  // eventfd: Post() and Stop() wake the loop through it.

  absl::Duration poll_time_;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> loop_thread_{};

  std::unordered_map<int, Handler> handlers_;
  uint32_t next_generation_ = 1;

  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>>
      timer_heap_;
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_id_ = 1;
  absl::Duration armed_deadline_ = absl::InfiniteDuration();

  std::vector<std::function<void()>> deferred_;

  absl::Mutex post_mutex_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(post_mutex_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_EVENT_LOOP_H_
