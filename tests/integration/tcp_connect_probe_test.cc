// TcpConnectProbe on a real event loop against loopback sockets, with a fake
// sink: pausing under backpressure, completion, cancellation, shutdown.
#include "agent/probes/tcp_connect_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "tests/test_support/ports.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {

using ::netprobe::testing::ClosedLoopbackPort;
using ::netprobe::testing::IsOk;

class FakeSink final : public EventSink<v1::TcpConnectEvent> {
 public:
  bool Emit(v1::TcpConnectEvent event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    return true;
  }
  bool Writable() const override {
    absl::MutexLock lock(&mu_);
    return events_.size() < writable_below_;
  }
  void NotifyWhenWritable(std::function<void()> resume) override {
    absl::MutexLock lock(&mu_);
    resume_ = std::move(resume);
  }
  using EventSink<v1::TcpConnectEvent>::Finish;
  void Finish(absl::Status status, std::vector<v1::TcpConnectEvent> closing) override {
    absl::MutexLock lock(&mu_);
    for (auto& event : closing) events_.push_back(std::move(event));
    ++finishes_;
    status_ = status;
    finished_.Notify();
  }

  void set_writable_below(size_t n) {
    absl::MutexLock lock(&mu_);
    writable_below_ = n;
  }
  std::function<void()> TakeResume() {
    absl::MutexLock lock(&mu_);
    return std::exchange(resume_, nullptr);
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }
  std::vector<v1::TcpConnectEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  absl::Status status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  int finishes() const {
    absl::MutexLock lock(&mu_);
    return finishes_;
  }
  absl::Notification finished_;

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::TcpConnectEvent> events_;
  size_t writable_below_ = SIZE_MAX;
  std::function<void()> resume_;
  absl::Status status_;
  int finishes_ = 0;
};

class TcpConnectProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    // The probe is destroyed on the loop thread, before the loop stops.
    absl::Notification gone;
    loop_->Post([&] {
      probe_.reset();
      gone.Notify();
    });
    gone.WaitForNotificationWithTimeout(absl::Seconds(5));
    loop_->Stop();
    thread_.join();
  }

  void Launch(TcpConnectPlan plan) {
    absl::Notification started;
    loop_->Post([&] {
      probe_ = std::make_unique<TcpConnectProbe>(std::move(plan), loop_.get(), work_,
                                                 sink_, [this] { ++done_calls_; });
      probe_->Start();
      started.Notify();
    });
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(5)));
  }

  // Returns once everything the loop was doing when called has finished.
  void SyncLoop() {
    absl::Notification synced;
    loop_->Post([&] { synced.Notify(); });
    ASSERT_TRUE(synced.WaitForNotificationWithTimeout(absl::Seconds(5)));
  }

  // Polls until `n` events arrived or 5 s passed.
  bool WaitForEvents(size_t n) {
    for (int i = 0; i < 500 && sink_->size() < n; ++i) poll(nullptr, 0, 10);
    return sink_->size() >= n;
  }

  TcpConnectPlan RefusedPlan(uint32_t count) {
    TcpConnectPlan plan;
    plan.targets = {HostPort{"127.0.0.1", ClosedLoopbackPort()}};
    plan.count = count;
    plan.interval = absl::ZeroDuration();
    plan.concurrency = 1;
    plan.timeout = absl::Seconds(2);
    return plan;
  }

  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  std::shared_ptr<FakeSink> sink_ = std::make_shared<FakeSink>();
  std::unique_ptr<TcpConnectProbe> probe_;
  std::atomic<int> done_calls_{0};
};

TEST_F(TcpConnectProbeTest, RunsEveryAttemptThenOneSummaryAndFinishesOk) {
  Launch(RefusedPlan(20));
  ASSERT_TRUE(sink_->finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const auto events = sink_->events();
  ASSERT_EQ(events.size(), 21u);
  for (size_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(events[i].has_attempt());
    EXPECT_EQ(events[i].attempt().sequence(), i + 1);  // concurrency 1: in order
    EXPECT_EQ(events[i].attempt().result().outcome(), v1::OUTCOME_REFUSED);
  }
  ASSERT_TRUE(events[20].has_summary());
  EXPECT_EQ(events[20].summary().sent(), 20u);
  EXPECT_TRUE(sink_->status().ok());
  SyncLoop();
  EXPECT_EQ(sink_->finishes(), 1);
  EXPECT_EQ(done_calls_.load(), 1);
}

TEST_F(TcpConnectProbeTest, PausesWhileTheSinkIsFullAndResumesWhenNotified) {
  sink_->set_writable_below(5);
  Launch(RefusedPlan(50));
  ASSERT_TRUE(WaitForEvents(5));
  // The probe now waits for the sink. Give it time to (wrongly) go on, bounded.
  for (int i = 0; i < 20; ++i) poll(nullptr, 0, 5);
  EXPECT_LE(sink_->size(), 5u + 1u) << "started attempts while the sink was full";
  EXPECT_FALSE(sink_->finished_.HasBeenNotified());
  std::function<void()> resume = sink_->TakeResume();
  ASSERT_TRUE(resume != nullptr) << "the probe did not ask to be resumed";
  sink_->set_writable_below(SIZE_MAX);
  loop_->Post(resume);
  ASSERT_TRUE(sink_->finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(sink_->size(), 51u);  // nothing lost while paused
}

TEST_F(TcpConnectProbeTest, AgentShutdownEmitsEndThenSummariesAndFinishesOk) {
  TcpConnectPlan plan = RefusedPlan(100000);
  plan.interval = absl::Milliseconds(5);
  Launch(plan);
  ASSERT_TRUE(WaitForEvents(2));
  absl::Notification stopped;
  loop_->Post([&] {
    probe_->Stop(StopReason::kAgentShutdown);
    stopped.Notify();
  });
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(5)));
  const auto events = sink_->events();
  ASSERT_GE(events.size(), 4u);
  EXPECT_TRUE(events[events.size() - 2].has_end());
  EXPECT_EQ(events[events.size() - 2].end().reason(),
            v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  ASSERT_TRUE(events.back().has_summary());
  EXPECT_EQ(events.back().summary().sent(), events.size() - 2);
  EXPECT_TRUE(sink_->status().ok());
  EXPECT_EQ(done_calls_.load(), 1);
}

TEST_F(TcpConnectProbeTest, ClientCancelFinishesCancelledAndReleasesTimers) {
  TcpConnectPlan plan = RefusedPlan(100000);
  plan.interval = absl::Milliseconds(5);
  Launch(plan);
  ASSERT_TRUE(WaitForEvents(1));
  absl::Notification stopped;
  size_t timers = 1, fds = 1;
  loop_->Post([&] {
    probe_->Stop(StopReason::kClientCancelled);
    probe_->Stop(StopReason::kClientCancelled);  // idempotent
    timers = loop_->pending_timer_count();
    fds = loop_->watched_fd_count();
    stopped.Notify();
  });
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink_->finishes(), 1);
  EXPECT_EQ(timers, 0u);
  EXPECT_EQ(fds, 0u);
}

TEST_F(TcpConnectProbeTest, IntervalSpacesAttemptsToOneTarget) {
  TcpConnectPlan plan = RefusedPlan(4);
  plan.interval = absl::Milliseconds(50);
  const absl::Time launched = absl::Now();
  Launch(plan);
  ASSERT_TRUE(sink_->finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const auto events = sink_->events();
  ASSERT_EQ(events.size(), 5u);
  // Attempts are due on a grid of the interval from the probe's start: never
  // early (a late wakeup delays one attempt, not the grid, so two neighbours
  // may be closer than the interval), and not a burst.
  for (size_t i = 0; i < 4; ++i) {
    const auto& t = events[i].attempt().time();
    const double since_ms = absl::ToDoubleMilliseconds(
        absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()) - launched);
    EXPECT_GE(since_ms, 50.0 * i) << "attempt " << i;
    EXPECT_LE(since_ms, 50.0 * i + 200.0) << "attempt " << i;
  }
}

}  // namespace
}  // namespace netprobe
