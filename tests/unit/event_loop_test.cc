#include "agent/net/event_loop.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/net/monotonic_clock.h"
#include "agent/net/unique_fd.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;

// Long enough never to trip on a loaded machine, short enough that a broken
// loop fails the test instead of hanging it.
constexpr absl::Duration kWait = absl::Seconds(10);

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe MakePipe() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A new pipe whose read end gets the fd number `number`, which must be free.
Pipe MakePipeAt(int number) {
  Pipe p = MakePipe();
  if (p.read.get() != number) {  // usually equal: the lowest free number
    EXPECT_EQ(dup3(p.read.get(), number, O_CLOEXEC), number);
    p.read.reset(number);  // closes the original read end
  }
  return p;
}

void WriteByte(int fd) { ASSERT_EQ(write(fd, "x", 1), 1); }

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_THAT(loop, IsOk());
  return loop.ok() ? *std::move(loop) : nullptr;
}

// Joins a thread that runs EventLoop::Run() once `returned` says Run() is
// done. A loop that never returns cannot be joined; rather than hang the test
// binary, fail and abort it.
void JoinLoopThread(std::thread& thread, absl::Notification& returned) {
  if (!returned.WaitForNotificationWithTimeout(kWait)) {
    ADD_FAILURE() << "EventLoop::Run() did not return after Stop()";
    std::fflush(stdout);
    std::abort();
  }
  thread.join();
}

// Runs `loop` on its own thread from construction until StopAndJoin() or
// destruction. Declare it after everything the loop's callbacks touch: it is
// then destroyed first, so even a test that fails half-way joins the loop
// thread before that state goes away.
class LoopRunner {
 public:
  explicit LoopRunner(EventLoop* loop)
      : loop_(loop), thread_([this] {
          loop_->Run();
          returned_.Notify();
        }) {}
  ~LoopRunner() { StopAndJoin(); }

  void StopAndJoin() {
    if (!thread_.joinable()) return;
    loop_->Stop();
    JoinLoopThread(thread_, returned_);
  }

  // Runs `task` on the loop thread and waits for it, for at most kWait.
  bool RunInLoop(std::function<void()> task) {
    auto done = std::make_shared<absl::Notification>();
    loop_->Post([task = std::move(task), done] {
      task();
      done->Notify();
    });
    return done->WaitForNotificationWithTimeout(kWait);
  }

  // True once everything posted (and every iteration begun) before it is done.
  bool Sync() {
    return RunInLoop([] {});
  }

 private:
  EventLoop* const loop_;
  absl::Notification returned_;
  std::thread thread_;  // last: starts once the members above exist
};

TEST(EventLoopTest, CreateGivesAnIdleLoop) {
  auto loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  EXPECT_EQ((*loop)->watched_fd_count(), 0u);
  EXPECT_EQ((*loop)->pending_timer_count(), 0u);
  EXPECT_FALSE((*loop)->IsInLoopThread());
}

TEST(EventLoopTest, TimersFireInDeadlineOrder) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  std::vector<int> order;  // loop thread only until joined
  absl::Notification last;
  const absl::Duration base = MonotonicNow() + absl::Milliseconds(20);
  // Registered out of order; two share a deadline and keep registration order.
  loop->RunAt(base + absl::Milliseconds(30), [&] {
    order.push_back(4);
    last.Notify();
  });
  loop->RunAt(base + absl::Milliseconds(10), [&] { order.push_back(2); });
  loop->RunAt(base, [&] { order.push_back(1); });
  loop->RunAt(base + absl::Milliseconds(20), [&] { order.push_back(3); });
  loop->RunAt(base + absl::Milliseconds(20), [&] { order.push_back(33); });
  EXPECT_EQ(loop->pending_timer_count(), 5u);
  LoopRunner runner(loop.get());

  ASSERT_TRUE(last.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_THAT(order, ElementsAre(1, 2, 3, 33, 4));
  EXPECT_EQ(loop->pending_timer_count(), 0u);
}

TEST(EventLoopTest, TimerDoesNotFireBeforeItsDeadline) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  absl::Notification fired;
  absl::Duration fired_at;
  const absl::Duration delay = absl::Milliseconds(50);
  const absl::Duration armed_at = MonotonicNow();
  loop->RunAfter(delay, [&] {
    fired_at = MonotonicNow();
    fired.Notify();
  });
  LoopRunner runner(loop.get());
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(kWait));
  EXPECT_GE(fired_at - armed_at, delay);
}

TEST(EventLoopTest, TimerInThePastFiresPromptly) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  absl::Notification fired;
  loop->RunAt(absl::ZeroDuration(), [&] { fired.Notify(); });
  LoopRunner runner(loop.get());
  EXPECT_TRUE(fired.WaitForNotificationWithTimeout(kWait));
}

TEST(EventLoopTest, CancelPreventsFiring) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  bool cancelled_ran = false;
  absl::Notification sentinel;
  const absl::Duration base = MonotonicNow() + absl::Milliseconds(10);
  // The cancelled timer is due before the sentinel, so when the sentinel has
  // run the cancelled one would have run too.
  EventLoop::TimerId id = loop->RunAt(base, [&] { cancelled_ran = true; });
  loop->RunAt(base + absl::Milliseconds(10), [&] { sentinel.Notify(); });
  loop->Cancel(id);
  EXPECT_EQ(loop->pending_timer_count(), 1u);
  LoopRunner runner(loop.get());

  ASSERT_TRUE(sentinel.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_FALSE(cancelled_ran);
  EXPECT_EQ(loop->pending_timer_count(), 0u);
  // Cancelling again, or cancelling one that already ran, is a no-op.
  loop->Cancel(id);
  loop->Cancel(id + 1);
  EXPECT_EQ(loop->pending_timer_count(), 0u);
}

TEST(EventLoopTest, CancelFromAnEarlierTimerCallback) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  bool victim_ran = false;
  absl::Notification sentinel;
  const absl::Duration base = MonotonicNow() + absl::Milliseconds(10);
  EventLoop::TimerId victim = 0;
  EventLoop* l = loop.get();
  l->RunAt(base, [&, l] { l->Cancel(victim); });
  // Same deadline as the canceller: both are due in the same round.
  victim = l->RunAt(base, [&] { victim_ran = true; });
  l->RunAt(base + absl::Milliseconds(10), [&] { sentinel.Notify(); });
  LoopRunner runner(l);

  ASSERT_TRUE(sentinel.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_FALSE(victim_ran);
  EXPECT_EQ(loop->pending_timer_count(), 0u);
}

TEST(EventLoopTest, ManyCancelledTimersAreForgotten) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  std::vector<EventLoop::TimerId> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(loop->RunAfter(absl::Hours(1), [] { ADD_FAILURE(); }));
  }
  absl::Notification kept;
  loop->RunAfter(absl::Milliseconds(5), [&] { kept.Notify(); });
  for (EventLoop::TimerId id : ids) loop->Cancel(id);
  EXPECT_EQ(loop->pending_timer_count(), 1u);
  LoopRunner runner(loop.get());
  ASSERT_TRUE(kept.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_EQ(loop->pending_timer_count(), 0u);
}

TEST(EventLoopTest, ZeroDelayTimerThatRearmsItselfDoesNotStarveFds) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  std::atomic<bool> keep_going{true};
  int timer_runs = 0;  // loop thread
  int runs_seen = 0;
  std::function<void()> spin = [&, loop] {
    ++timer_runs;
    if (keep_going.load()) loop->RunAfter(absl::ZeroDuration(), spin);
  };
  loop->RunAfter(absl::ZeroDuration(), spin);
  Pipe p = MakePipe();
  absl::Notification fd_ready;
  ASSERT_THAT(loop->Watch(p.read.get(), EPOLLIN,
                          [&, loop](uint32_t) {
                            keep_going.store(false);
                            loop->Unwatch(p.read.get());
                            fd_ready.Notify();
                          }),
              IsOk());
  LoopRunner runner(loop);
  // Destroyed before `runner`: even after a failed assertion the timer stops
  // re-arming, so the loop gets to see Stop().
  absl::Cleanup stop_spinning = [&] { keep_going.store(false); };

  // Let the timer spin a few rounds before the fd becomes readable.
  for (int i = 0; i < 1000 && runs_seen < 3; ++i) {
    ASSERT_TRUE(runner.RunInLoop([&] { runs_seen = timer_runs; }))
        << "the spinning timer starved the loop's own wake-up fd";
  }
  ASSERT_GE(runs_seen, 3);
  WriteByte(p.write.get());

  const bool delivered = fd_ready.WaitForNotificationWithTimeout(kWait);
  keep_going.store(false);
  runner.StopAndJoin();
  EXPECT_TRUE(delivered) << "a self re-arming zero-delay timer starved the fd";
  EXPECT_GT(timer_runs, 3);
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

TEST(EventLoopTest, WatchedPipeGetsEpollin) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe p = MakePipe();
  absl::Notification ready;
  uint32_t seen = 0;
  bool in_loop_thread = false;
  ASSERT_THAT(loop->Watch(p.read.get(), EPOLLIN,
                          [&, loop](uint32_t events) {
                            in_loop_thread = loop->IsInLoopThread();
                            seen = events;
                            char c;
                            EXPECT_EQ(read(p.read.get(), &c, 1), 1);
                            loop->Unwatch(p.read.get());
                            ready.Notify();
                          }),
              IsOk());
  EXPECT_EQ(loop->watched_fd_count(), 1u);
  LoopRunner runner(loop);
  ASSERT_TRUE(runner.Sync());
  EXPECT_FALSE(ready.HasBeenNotified()) << "EPOLLIN on an empty pipe";
  WriteByte(p.write.get());

  ASSERT_TRUE(ready.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_TRUE(seen & EPOLLIN);
  EXPECT_TRUE(in_loop_thread);
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

TEST(EventLoopTest, WatchTwiceFailsAndModifyUnknownFdIsNotFound) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  Pipe p = MakePipe();
  ASSERT_THAT(loop->Watch(p.read.get(), EPOLLIN, [](uint32_t) {}), IsOk());
  EXPECT_FALSE(loop->Watch(p.read.get(), EPOLLIN, [](uint32_t) {}).ok());
  EXPECT_EQ(loop->watched_fd_count(), 1u);
  EXPECT_THAT(loop->Modify(p.write.get(), EPOLLOUT),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  loop->Unwatch(p.read.get());
  loop->Unwatch(p.read.get());  // no-op
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

TEST(EventLoopTest, ModifyChangesTheEventsWatched) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe p = MakePipe();
  absl::Notification writable;
  uint32_t seen = 0;
  // The write end of an empty pipe is always writable but never readable:
  // watched for EPOLLIN nothing happens until Modify() asks for EPOLLOUT.
  ASSERT_THAT(loop->Watch(p.write.get(), EPOLLIN,
                          [&, loop](uint32_t events) {
                            seen = events;
                            loop->Unwatch(p.write.get());
                            writable.Notify();
                          }),
              IsOk());
  LoopRunner runner(loop);
  ASSERT_TRUE(runner.Sync());
  ASSERT_TRUE(runner.Sync());
  EXPECT_FALSE(writable.HasBeenNotified());
  ASSERT_TRUE(runner.RunInLoop(
      [&] { EXPECT_THAT(loop->Modify(p.write.get(), EPOLLOUT), IsOk()); }));
  ASSERT_TRUE(writable.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_TRUE(seen & EPOLLOUT);
}

TEST(EventLoopTest, UnwatchInOwnCallbackStopsFurtherCallbacks) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe p = MakePipe();
  int calls = 0;  // loop thread
  // Level-triggered and never read: without the Unwatch this fires on every
  // iteration.
  ASSERT_THAT(loop->Watch(p.read.get(), EPOLLIN,
                          [&, loop](uint32_t) {
                            ++calls;
                            loop->Unwatch(p.read.get());
                          }),
              IsOk());
  WriteByte(p.write.get());
  LoopRunner runner(loop);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(runner.Sync());  // several more iterations
  runner.StopAndJoin();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

TEST(EventLoopTest, UnwatchInOwnCallbackThenReuseFdNumberForNewPipe) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe first = MakePipe();
  Pipe second;
  const int number = first.read.get();
  int old_calls = 0, new_calls = 0;  // loop thread
  absl::Notification new_fired;
  ASSERT_THAT(loop->Watch(number, EPOLLIN,
                          [&, loop](uint32_t) {
                            ++old_calls;
                            loop->Unwatch(number);
                            first.read.reset();
                            // A new pipe whose read end has the very same number.
                            second = MakePipeAt(number);
                            ASSERT_EQ(second.read.get(), number);
                            ASSERT_THAT(loop->Watch(number, EPOLLIN,
                                                    [&, loop](uint32_t) {
                                                      ++new_calls;
                                                      loop->Unwatch(number);
                                                      new_fired.Notify();
                                                    }),
                                        IsOk());
                            WriteByte(second.write.get());
                          }),
              IsOk());
  WriteByte(first.write.get());
  LoopRunner runner(loop);

  ASSERT_TRUE(new_fired.WaitForNotificationWithTimeout(kWait));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(runner.Sync());
  runner.StopAndJoin();
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(new_calls, 1);
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

// Two fds are ready in the same epoll_wait batch. Whichever callback runs first
// unwatches and closes the other, and puts a fresh, empty pipe under the other's
// fd number. The other's event is still in the batch: it must reach neither the
// old callback nor the new registration (whose pipe is empty, so any call to it
// can only come from the stale event).
TEST(EventLoopTest, StaleEventInSameBatchSkippedWhenFdNumberReused) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe pipes[2] = {MakePipe(), MakePipe()};
  Pipe replacement;
  int original_calls[2] = {0, 0};
  int replacement_calls = 0;
  absl::Notification swapped;

  auto make_callback = [&](int self) {
    return [&, self, loop](uint32_t) {
      ++original_calls[self];
      const int other = 1 - self;
      const int number = pipes[other].read.get();
      loop->Unwatch(number);
      pipes[other].read.reset();
      replacement = MakePipeAt(number);
      ASSERT_EQ(replacement.read.get(), number);
      ASSERT_THAT(loop->Watch(number, EPOLLIN, [&](uint32_t) { ++replacement_calls; }),
                  IsOk());
      loop->Unwatch(pipes[self].read.get());
      // Nothing else is posted, so this runs in a later iteration than the
      // batch holding the stale event.
      loop->Post([&] { swapped.Notify(); });
    };
  };
  for (int i = 0; i < 2; ++i) {
    ASSERT_THAT(loop->Watch(pipes[i].read.get(), EPOLLIN, make_callback(i)), IsOk());
    WriteByte(pipes[i].write.get());  // both ready before the first epoll_wait
  }
  LoopRunner runner(loop);

  ASSERT_TRUE(swapped.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(runner.Sync());
  runner.StopAndJoin();
  EXPECT_EQ(original_calls[0] + original_calls[1], 1);
  EXPECT_EQ(replacement_calls, 0);
  EXPECT_EQ(loop->watched_fd_count(), 1u);  // the replacement
  loop->Unwatch(replacement.read.get());
  EXPECT_EQ(loop->watched_fd_count(), 0u);
}

TEST(EventLoopTest, PostFromAnotherThreadRunsOnLoopThreadInOrder) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  constexpr int kTasks = 2000;
  std::vector<int> order;  // loop thread
  std::atomic<int> off_thread{0};
  absl::Notification done;
  LoopRunner runner(loop);
  std::thread poster([&] {
    for (int i = 0; i < kTasks; ++i) {
      loop->Post([&, i] {
        if (!loop->IsInLoopThread()) off_thread.fetch_add(1);
        order.push_back(i);
        if (i == kTasks - 1) done.Notify();
      });
    }
  });
  poster.join();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_EQ(off_thread.load(), 0);
  ASSERT_EQ(order.size(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(order[i], i) << "at " << i;
}

TEST(EventLoopTest, PostsFromTwoThreadsKeepEachThreadsOrder) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  constexpr int kTasks = 1000;
  std::vector<std::pair<int, int>> seen;  // loop thread: (thread, i)
  std::atomic<int> finished{0};
  absl::Notification done;
  LoopRunner runner(loop);
  auto poster = [&](int who) {
    for (int i = 0; i < kTasks; ++i) {
      loop->Post([&, who, i] {
        seen.emplace_back(who, i);
        if (i == kTasks - 1 && finished.fetch_add(1) == 1) done.Notify();
      });
    }
  };
  std::thread a(poster, 0), b(poster, 1);
  a.join();
  b.join();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  int next[2] = {0, 0};
  for (const auto& [who, i] : seen) ASSERT_EQ(i, next[who]++);
  EXPECT_EQ(next[0], kTasks);
  EXPECT_EQ(next[1], kTasks);
}

TEST(EventLoopTest, StopFromAnotherThreadReturnsAndRunsPendingPosts) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  absl::Notification blocking, release, run_returned;
  std::vector<int> ran;  // loop thread until joined
  bool in_loop_thread = true;
  std::thread runner([&] {
    loop->Run();
    run_returned.Notify();
  });
  // Hold the loop inside a task so the next posts are pending when Stop() comes.
  loop->Post([&] {
    blocking.Notify();
    EXPECT_TRUE(release.WaitForNotificationWithTimeout(kWait));
  });
  const bool blocked = blocking.WaitForNotificationWithTimeout(kWait);
  EXPECT_TRUE(blocked) << "the loop never ran the first task";
  for (int i = 0; i < 10; ++i) {
    loop->Post([&, i] {
      in_loop_thread = in_loop_thread && loop->IsInLoopThread();
      ran.push_back(i);
    });
  }
  loop->Stop();
  release.Notify();
  JoinLoopThread(runner, run_returned);
  EXPECT_THAT(ran, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_TRUE(in_loop_thread);
  EXPECT_FALSE(loop->IsInLoopThread());
}

TEST(EventLoopTest, StopBeforeRunStillRunsPostedTasks) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  int ran = 0;
  loop->Post([&] { ++ran; });
  loop->Post([&] { ++ran; });
  loop->Stop();
  loop->Run();  // returns at once
  EXPECT_EQ(ran, 2);
}

// Issue 16: a task posted by a task that runs after Stop() (a probe's done
// posting its erasure) runs too, and so do the tasks those defer.
TEST(EventLoopTest, StopRunsWhatPendingPostsPostAndDefer) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  std::vector<int> ran;
  loop->Post([&] {
    ran.push_back(1);
    loop->Post([&] {
      ran.push_back(2);
      loop->Defer([&] {
        ran.push_back(3);
        loop->Post([&] { ran.push_back(4); });
      });
    });
  });
  loop->Stop();
  loop->Run();  // returns once all of it ran
  EXPECT_THAT(ran, ElementsAre(1, 2, 3, 4));
}

// A task that posts itself forever cannot hold Run() after Stop(): it stops
// after kMaxStopRounds, and what it left runs in the next Run().
TEST(EventLoopTest, StopDrainIsBoundedAndKeepsTheRestForTheNextRun) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  int ran = 0;
  bool again = true;
  std::function<void()> task = [&] {
    ++ran;
    if (again) loop->Post(task);
  };
  loop->Post(task);
  loop->Stop();
  loop->Run();
  EXPECT_EQ(ran, EventLoop::kMaxStopRounds);
  again = false;
  loop->Run();  // still stopped: drains what is left, which is one task
  EXPECT_EQ(ran, EventLoop::kMaxStopRounds + 1);
}

// Issue 16: deferred tasks past RunDeferred()'s bound run in the next round
// at once, not when some unrelated event wakes the loop.
TEST(EventLoopTest, DeferredTasksBeyondTheBoundRunWithoutAnotherEvent) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  constexpr int kChain = 3 * EventLoop::kMaxDeferredRounds;
  int ran = 0;
  absl::Notification chain_done;
  std::function<void()> step = [&] {
    if (++ran == kChain) {
      chain_done.Notify();
      return;
    }
    loop->Defer(step);
  };
  LoopRunner runner(loop);
  // One post starts a chain of deferrals three times the bound; nothing else
  // is posted, watched or timed, so only the loop's own polling can finish it.
  loop->Post([&] { loop->Defer(step); });
  EXPECT_TRUE(chain_done.WaitForNotificationWithTimeout(kWait))
      << ran << " of " << kChain << " deferred tasks ran";
  runner.StopAndJoin();
  EXPECT_EQ(ran, kChain);
}

// Driven by hand (a loop that is not running), RunDeferred() stops at its
// bound and leaves the rest queued.
TEST(EventLoopTest, RunDeferredStopsAtItsBound) {
  auto loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  int ran = 0;
  std::function<void()> step = [&] {
    ++ran;
    loop->Defer(step);
  };
  loop->Defer(step);
  loop->RunDeferred();
  EXPECT_EQ(ran, EventLoop::kMaxDeferredRounds);
  EXPECT_EQ(loop->deferred_count(), 1u);
}

TEST(EventLoopTest, StopFromInsideACallback) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  int ran = 0;
  absl::Notification returned;
  loop->RunAfter(absl::Milliseconds(1), [&] {
    ++ran;
    loop->Stop();
  });
  std::thread runner([&] {
    loop->Run();
    returned.Notify();
  });
  JoinLoopThread(runner, returned);  // no Stop() from here: the timer's must do
  EXPECT_EQ(ran, 1);
}

TEST(EventLoopTest, CountsReturnToZeroAfterMixedUse) {
  auto owned = NewLoop();
  ASSERT_NE(owned, nullptr);
  EventLoop* loop = owned.get();
  Pipe pipes[4] = {MakePipe(), MakePipe(), MakePipe(), MakePipe()};
  std::atomic<int> fd_calls{0};
  absl::Notification all_done, timers_done;
  size_t watched = 0, timers = 0;
  LoopRunner runner(loop);
  ASSERT_TRUE(runner.RunInLoop([&] {
    for (Pipe& p : pipes) {
      const int fd = p.read.get();
      EXPECT_THAT(loop->Watch(fd, EPOLLIN,
                              [&, fd](uint32_t) {
                                loop->Unwatch(fd);
                                if (fd_calls.fetch_add(1) == 3) all_done.Notify();
                              }),
                  IsOk());
    }
    EventLoop::TimerId never = loop->RunAfter(absl::Hours(1), [] { ADD_FAILURE(); });
    loop->RunAfter(absl::Milliseconds(1), [] {});
    loop->RunAfter(absl::Milliseconds(2), [&, never] {
      loop->Cancel(never);
      timers_done.Notify();
    });
    watched = loop->watched_fd_count();
    timers = loop->pending_timer_count();
  }));
  EXPECT_EQ(watched, 4u);
  EXPECT_EQ(timers, 3u);
  for (Pipe& p : pipes) WriteByte(p.write.get());
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(timers_done.WaitForNotificationWithTimeout(kWait));
  runner.StopAndJoin();
  EXPECT_EQ(loop->watched_fd_count(), 0u);
  EXPECT_EQ(loop->pending_timer_count(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
