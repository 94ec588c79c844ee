#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/metrics/worker_pool.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

// Polls `done` every millisecond for at most `timeout`.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Tasks that block until released, counting how many started and ended.
struct Gate {
  absl::Notification release;
  absl::Mutex mu;
  int started ABSL_GUARDED_BY(mu) = 0;
  int ended ABSL_GUARDED_BY(mu) = 0;

  std::function<void()> Task() {
    return [this] {
      {
        absl::MutexLock lock(&mu);
        ++started;
      }
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
      absl::MutexLock lock(&mu);
      ++ended;
    };
  }
  bool AwaitStarted(int n) { return Await(started, n); }
  bool AwaitEnded(int n) { return Await(ended, n); }

 private:
  bool Await(const int& count, int n) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return count >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
};

TEST(WorkerPool, RunsOnNamedThreads) {
  WorkerPool pool({.max_threads = 2, .max_queued = 0, .thread_name = "np-test-pool"});
  absl::Notification done;
  std::string name;
  ASSERT_TRUE(pool.TrySubmit([&] {
    char buf[16] = {};
    pthread_getname_np(pthread_self(), buf, sizeof(buf));
    name = buf;
    done.Notify();
  }));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(name, "np-test-pool");
}

TEST(WorkerPool, BoundsThreadsAndQueue) {
  WorkerPool pool({.max_threads = 2, .max_queued = 1});
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(gate.AwaitStarted(2));
  EXPECT_TRUE(pool.TrySubmit(gate.Task()));   // waits for a thread
  EXPECT_FALSE(pool.TrySubmit(gate.Task()));  // beyond the bound
  WorkerPool::Stats stats = pool.stats();
  EXPECT_EQ(stats.threads, 2u);
  EXPECT_EQ(stats.busy, 2u);
  EXPECT_EQ(stats.queued, 1u);
  gate.release.Notify();
  EXPECT_TRUE(gate.AwaitEnded(3));
  pool.Shutdown();
  absl::MutexLock lock(&gate.mu);
  EXPECT_EQ(gate.started, 3);
}

TEST(WorkerPool, IdleThreadsExit) {
  WorkerPool pool(
      {.max_threads = 3, .max_queued = 0, .idle_exit = absl::Milliseconds(50)});
  Gate gate;
  gate.release.Notify();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(gate.AwaitEnded(3));
  EXPECT_TRUE(WaitUntil([&] { return pool.stats().threads == 0; }, absl::Seconds(10)));
  // And new ones start again on demand.
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  EXPECT_TRUE(gate.AwaitEnded(4));
}

TEST(WorkerPool, ReusesAnIdleThread) {
  WorkerPool pool({.max_threads = 4, .max_queued = 0});
  Gate gate;
  gate.release.Notify();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.TrySubmit(gate.Task()));
    ASSERT_TRUE(gate.AwaitEnded(i + 1));
    ASSERT_TRUE(WaitUntil([&] { return pool.stats().busy == 0; }, absl::Seconds(10)));
  }
  EXPECT_EQ(pool.stats().threads, 1u);
}

TEST(WorkerPool, ShutdownRunsQueuedTasksThenRefuses) {
  WorkerPool pool({.max_threads = 1, .max_queued = 5});
  Gate gate;
  ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  ASSERT_TRUE(gate.AwaitStarted(1));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.TrySubmit(gate.Task()));
  gate.release.Notify();
  pool.Shutdown();
  {
    absl::MutexLock lock(&gate.mu);
    EXPECT_EQ(gate.ended, 4);
  }
  EXPECT_FALSE(pool.TrySubmit(gate.Task()));
  EXPECT_EQ(pool.stats().threads, 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
