#include "agent/net/blocking_pool.h"

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using Queue = BlockingPool::Queue;
using ::testing::ElementsAre;

// Jobs that record the order they ran in.
class Recorder {
 public:
  std::function<void()> Job(std::string name) {
    return [this, name = std::move(name)] {
      absl::MutexLock lock(&mu_);
      order_.push_back(name);
    };
  }
  std::vector<std::string> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> order_;
};

// Holds a queue's thread until Open(): what is submitted meanwhile waits.
struct Gate {
  absl::Notification running;
  absl::Notification open;
  std::function<void()> Job() {
    return [this] {
      running.Notify();
      open.WaitForNotification();
    };
  }
};

void Drain(BlockingPool& pool, Queue queue, const std::string& caller,
           const std::shared_ptr<char>& owner) {
  absl::Notification done;
  pool.Submit(queue, caller, owner, [&] { done.Notify(); });
  done.WaitForNotification();
}

TEST(BlockingPoolTest, CallersTakeTurnsSoOneCannotStarveTheOthers) {
  BlockingPool pool;
  auto owner = std::make_shared<char>();
  Gate gate;
  Recorder recorder;
  pool.Submit(Queue::kDiagnostics, "alice", owner, gate.Job());
  gate.running.WaitForNotification();
  for (int i = 0; i < 4; ++i) {
    pool.Submit(Queue::kDiagnostics, "alice", owner,
                recorder.Job("a" + std::to_string(i)));
  }
  pool.Submit(Queue::kDiagnostics, "bob", owner, recorder.Job("b0"));
  pool.Submit(Queue::kDiagnostics, "carol", owner, recorder.Job("c0"));
  pool.Submit(Queue::kDiagnostics, "bob", owner, recorder.Job("b1"));
  gate.open.Notify();
  Drain(pool, Queue::kDiagnostics, "alice", owner);
  // Alice queued first, so she goes first, but only once before bob and
  // carol: her four jobs do not all run ahead of theirs.
  EXPECT_THAT(recorder.order(), ElementsAre("a0", "b0", "c0", "a1", "b1", "a2", "a3"));
  EXPECT_EQ(pool.counts(Queue::kDiagnostics).ran, 9u);
  EXPECT_EQ(pool.counts(Queue::kDiagnostics).queued, 0u);
}

TEST(BlockingPoolTest, JobsOfAProbeThatIsGoneAreSkipped) {
  BlockingPool pool;
  auto keeper = std::make_shared<char>();
  auto cancelled = std::make_shared<char>();
  Gate gate;
  Recorder recorder;
  pool.Submit(Queue::kResolve, "alice", keeper, gate.Job());
  gate.running.WaitForNotification();
  // The resolve queue has a second thread: hold it too, so both jobs wait.
  Gate second;
  pool.Submit(Queue::kResolve, "bob", keeper, second.Job());
  second.running.WaitForNotification();
  for (int i = 0; i < 100; ++i)
    pool.Submit(Queue::kResolve, "carol", cancelled, recorder.Job("x"));
  pool.Submit(Queue::kResolve, "alice", keeper, recorder.Job("kept"));
  cancelled.reset();  // the probe was cancelled while its names waited
  gate.open.Notify();
  second.open.Notify();
  Drain(pool, Queue::kResolve, "alice", keeper);
  Drain(pool, Queue::kResolve, "carol", keeper);
  EXPECT_THAT(recorder.order(), ElementsAre("kept"));
  const BlockingPool::Counts counts = pool.counts(Queue::kResolve);
  EXPECT_EQ(counts.skipped, 100u);
  EXPECT_EQ(counts.ran, 5u);  // two gates, "kept", two drains
}

TEST(BlockingPoolTest, ASlowDiagnosticsJobDoesNotDelayNameResolution) {
  BlockingPool pool;
  auto owner = std::make_shared<char>();
  Gate slow_watch;
  pool.Submit(Queue::kDiagnostics, "alice", owner, slow_watch.Job());
  slow_watch.running.WaitForNotification();
  Drain(pool, Queue::kResolve, "alice", owner);  // returns while the dump is held
  EXPECT_EQ(pool.counts(Queue::kResolve).ran, 1u);
  EXPECT_EQ(pool.counts(Queue::kDiagnostics).ran, 1u);  // started, still held
  slow_watch.open.Notify();
}

TEST(BlockingPoolTest, ThreadsStartWithWorkAndStayWithinTheQueuesSize) {
  BlockingPool pool(
      BlockingPool::Options{.resolve_threads = 2, .diagnostics_threads = 1});
  auto owner = std::make_shared<char>();
  EXPECT_EQ(pool.counts(Queue::kResolve).threads, 0u);
  EXPECT_EQ(pool.counts(Queue::kDiagnostics).threads, 0u);
  Gate a, b;
  pool.Submit(Queue::kResolve, "alice", owner, a.Job());
  a.running.WaitForNotification();
  pool.Submit(Queue::kResolve, "bob", owner, b.Job());
  b.running.WaitForNotification();  // two lookups at once: two threads
  pool.Submit(Queue::kResolve, "carol", owner, [] {});
  EXPECT_EQ(pool.counts(Queue::kResolve).threads, 2u);
  EXPECT_EQ(pool.counts(Queue::kResolve).queued, 1u);
  EXPECT_EQ(pool.counts(Queue::kDiagnostics).threads, 0u);
  a.open.Notify();
  b.open.Notify();
  Drain(pool, Queue::kResolve, "carol", owner);
  EXPECT_EQ(pool.counts(Queue::kResolve).threads, 2u);
}

TEST(BlockingPoolTest, WorkersBlockEverySignal) {
  BlockingPool pool;
  auto owner = std::make_shared<char>();
  sigset_t seen;
  sigemptyset(&seen);
  Drain(pool, Queue::kResolve, "alice", owner);
  absl::Notification done;
  pool.Submit(Queue::kResolve, "alice", owner, [&] {
    pthread_sigmask(SIG_SETMASK, nullptr, &seen);
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(sigismember(&seen, SIGTERM), 1);
  EXPECT_EQ(sigismember(&seen, SIGINT), 1);
  EXPECT_EQ(sigismember(&seen, SIGHUP), 1);
  // The submitting thread's own mask is as it was.
  sigset_t mine;
  pthread_sigmask(SIG_SETMASK, nullptr, &mine);
  EXPECT_EQ(sigismember(&mine, SIGTERM), 0);
}

TEST(BlockingPoolTest, DestroyingThePoolDropsWhatIsQueued) {
  auto owner = std::make_shared<char>();
  auto dropped = std::make_shared<int>(0);
  auto pool = std::make_unique<BlockingPool>();
  Gate gate;
  pool->Submit(Queue::kDiagnostics, "alice", owner, gate.Job());
  gate.running.WaitForNotification();
  bool ran = false;
  pool->Submit(Queue::kDiagnostics, "alice", owner, [&ran, dropped] { ran = true; });
  EXPECT_EQ(dropped.use_count(), 2);
  // The gate opens only once the pool is stopping: from the job queued
  // behind it, destroyed (not run) by the destructor.
  struct OpenOnDrop {
    Gate* gate;
    ~OpenOnDrop() { gate->open.Notify(); }
  };
  std::shared_ptr<OpenOnDrop> opener(new OpenOnDrop{&gate});
  pool->Submit(Queue::kDiagnostics, "bob", owner, [opener] {});
  opener.reset();
  pool.reset();
  EXPECT_FALSE(ran);
  EXPECT_EQ(dropped.use_count(), 1);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
