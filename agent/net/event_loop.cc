#include "agent/net/event_loop.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "absl/synchronization/notification.h"
#include "agent/net/socket_opener.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// epoll_event.data packs the fd with the generation of its registration, so an
// event queued for an fd that was unwatched (and perhaps reused) is recognised.
uint64_t PackKey(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}
constexpr int kTimerKey = -1;
constexpr int kWakeKey = -2;

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(Clock* clock,
                                                             SocketOpener* sockets) {
  if (sockets == nullptr) sockets = SocketOpener::Real();
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return PosixError("epoll_create1", errno);
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer) return PosixError("timerfd_create", errno);
  UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return PosixError("eventfd", errno);
  for (auto [fd, key] : {std::pair{timer.get(), kTimerKey}, {wake.get(), kWakeKey}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = PackKey(key, 0);
    if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return PosixError("epoll_ctl(ADD)", errno);
    }
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(clock, sockets, std::move(epoll), std::move(timer), std::move(wake)));
}

EventLoop::EventLoop(Clock* clock, SocketOpener* sockets, UniqueFd epoll, UniqueFd timer,
                     UniqueFd wake)
    : clock_(clock),
      sockets_(sockets),
      epoll_fd_(std::move(epoll)),
      timer_fd_(std::move(timer)),
      wake_fd_(std::move(wake)) {}

EventLoop::~EventLoop() = default;

bool EventLoop::IsInLoopThread() const {
  return loop_thread_.load() == std::this_thread::get_id();
}

void EventLoop::Post(std::function<void()> task) {
  {
    absl::MutexLock lock(&post_mutex_);
    posted_.push_back(std::move(task));
  }
  Wake();
}

void EventLoop::RunAndWait(const std::function<void()>& task) {
  if (IsInLoopThread()) {
    task();
    return;
  }
  absl::Notification applied;
  Post([&task, &applied] {
    task();
    applied.Notify();
  });
  applied.WaitForNotification();
}

void EventLoop::Stop() {
  stop_.store(true);
  Wake();
}

bool EventLoop::RunPosted() {
  uint64_t counter;
  [[maybe_unused]] ssize_t n = read(wake_fd_.get(), &counter, sizeof(counter));
  std::vector<std::function<void()>> tasks;
  {
    absl::MutexLock lock(&post_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
  return !tasks.empty();
}

void EventLoop::Wake() {
  uint64_t one = 1;
  // EAGAIN only when the counter is saturated: the loop is woken already.
  [[maybe_unused]] ssize_t n = write(wake_fd_.get(), &one, sizeof(one));
}

void EventLoop::Run() {
  loop_thread_.store(std::this_thread::get_id());
  // Deferred tasks RunDeferred() left (its bound) run in the next round,
  // which must then not wait for some unrelated event.
  while (!stop_.load()) Poll(deferred_.empty() ? -1 : 0);
  // What was posted before Stop(), and what that posts or defers in turn (a
  // probe's erasure posted from its own callback), runs before Run() returns.
  // Bounded, against tasks that post themselves forever: what is left stays
  // queued, with the wake counter set, for a later Run().
  bool drained = false;
  for (int round = 0; round < kMaxStopRounds && !drained; ++round) {
    const bool ran = RunPosted();
    RunDeferred();
    absl::MutexLock lock(&post_mutex_);
    drained = !ran && posted_.empty() && deferred_.empty();
  }
  if (!drained) Wake();
  loop_thread_.store(std::thread::id());
}

void EventLoop::RunOnce() {
  loop_thread_.store(std::this_thread::get_id());
  // Timers first: they are due by clock_, which a fake clock moves without
  // the timerfd, and what they make ready (a fake socket's packet) is read in
  // the same round.
  RunExpiredTimers();
  Poll(0);
  RunPosted();
  RunDeferred();
  loop_thread_.store(std::thread::id());
}

std::optional<absl::Duration> EventLoop::NextTimerDeadline() {
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.top().id)) {
    timer_heap_.pop();
  }
  if (timer_heap_.empty()) return std::nullopt;
  return timer_heap_.top().deadline;
}

void EventLoop::Poll(int timeout_ms) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_.get(), events, kMaxEvents, timeout_ms);
  poll_time_ = clock_->Monotonic();
  if (n < 0) {
    if (errno == EINTR) return;
    // Only EBADF/EINVAL, i.e. a bug: stop rather than spin.
    stop_.store(true);
    return;
  }
  for (int i = 0; i < n; ++i) {
    const int key = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
    const uint32_t generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
    if (key == kTimerKey) {
      RunExpiredTimers();
    } else if (key == kWakeKey) {
      RunPosted();
    } else {
      auto it = handlers_.find(key);
      if (it == handlers_.end() || it->second.generation != generation) continue;
      // Copy: the callback may Unwatch() itself and so destroy the stored one.
      FdCallback callback = it->second.callback;
      callback(events[i].events);
    }
  }
  RunDeferred();
}

void EventLoop::RunDeferred() {
  // Bounded: a task that defers itself forever would otherwise spin here.
  // What is left runs in the next round (Run() polls without waiting then).
  for (int round = 0; round < kMaxDeferredRounds && !deferred_.empty(); ++round) {
    std::vector<std::function<void()>> tasks;
    tasks.swap(deferred_);
    for (auto& task : tasks) task();
  }
}

absl::Status EventLoop::Watch(int fd, uint32_t events, FdCallback callback) {
  const uint32_t generation = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = PackKey(fd, generation);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return PosixError("epoll_ctl(ADD)", errno);
  }
  handlers_[fd] = Handler{generation, std::move(callback)};
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = handlers_.find(fd);
  if (it == handlers_.end()) return absl::NotFoundError("Modify: fd is not watched");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = PackKey(fd, it->second.generation);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return PosixError("epoll_ctl(MOD)", errno);
  }
  return absl::OkStatus();
}

void EventLoop::Unwatch(int fd) {
  if (handlers_.erase(fd) == 0) return;
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::RunAt(absl::Duration deadline,
                                    std::function<void()> callback) {
  const TimerId id = next_timer_id_++;
  timers_.emplace(id, std::move(callback));
  timer_heap_.push(TimerEntry{deadline, id});
  if (deadline < armed_deadline_) ArmTimerFd();
  return id;
}

EventLoop::TimerId EventLoop::RunAfter(absl::Duration delay,
                                       std::function<void()> callback) {
  return RunAt(clock_->Monotonic() + delay, std::move(callback));
}

void EventLoop::Cancel(TimerId id) {
  timers_.erase(id);  // Its heap entry is skipped when it comes up.
  // Keep the heap from growing without bound under cancel-heavy use.
  if (timer_heap_.size() > 64 && timer_heap_.size() > 4 * timers_.size()) {
    decltype(timer_heap_) live;
    while (!timer_heap_.empty()) {
      if (timers_.contains(timer_heap_.top().id)) live.push(timer_heap_.top());
      timer_heap_.pop();
    }
    timer_heap_.swap(live);
  }
}

void EventLoop::ArmTimerFd() {
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.top().id)) {
    timer_heap_.pop();
  }
  itimerspec spec{};
  if (timer_heap_.empty()) {
    armed_deadline_ = absl::InfiniteDuration();  // All zero disarms.
  } else {
    armed_deadline_ = timer_heap_.top().deadline;
    spec.it_value = absl::ToTimespec(armed_deadline_);
    // An all-zero it_value would disarm; a deadline at 0 is long past anyway.
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
      spec.it_value.tv_nsec = 1;
  }
  timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::RunExpiredTimers() {
  uint64_t expirations;
  [[maybe_unused]] ssize_t n = read(timer_fd_.get(), &expirations, sizeof(expirations));
  const absl::Duration now = clock_->Monotonic();
  // Timers added by callbacks for "now" run in the next round, never in this
  // one, so a callback that re-arms itself at zero delay cannot starve fds.
  std::vector<TimerId> due;
  while (!timer_heap_.empty() && timer_heap_.top().deadline <= now) {
    due.push_back(timer_heap_.top().id);
    timer_heap_.pop();
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    std::function<void()> callback = std::move(it->second);
    timers_.erase(it);
    callback();
  }
  ArmTimerFd();
}

}  // namespace netprobe
