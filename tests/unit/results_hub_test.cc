// The WatchResults fan-out: every subscriber gets the results it asked for;
// one that does not read loses results, counted, without holding up others.
#include "agent/schedule/results_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;

// Completes every write at once and counts the results it saw.
class FastWriter : public ResultsHub::Bridge::Writer {
 public:
  explicit FastWriter(ResultsHub::Bridge* bridge) : bridge_(bridge) {}
  void StartWrite(const v1::WatchResultsEvents* batch, bool) override {
    for (const auto& event : batch->events()) {
      results_ += event.has_result();
      ended_ |= event.has_end();
    }
    bridge_->OnWriteDone(true);
  }
  void FinishStream(absl::Status status) override {
    finished_ = true;
    status_ = status;
  }
  int results_ = 0;
  bool ended_ = false, finished_ = false;
  absl::Status status_;

 private:
  ResultsHub::Bridge* bridge_;
};

// Never completes its first write: a client that stopped reading.
class StuckWriter : public ResultsHub::Bridge::Writer {
 public:
  void StartWrite(const v1::WatchResultsEvents*, bool) override { ++writes_; }
  void FinishStream(absl::Status) override {}
  int writes_ = 0;
};

class ResultsHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    loop_->Stop();
    thread_.join();
  }
  // Runs `task` on the loop and waits for it and what it deferred.
  void OnLoop(std::function<void()> task) {
    absl::Notification done;
    loop_->Post([&] { task(); });
    loop_->Post([&] { done.Notify(); });
    done.WaitForNotification();
    absl::Notification flushed;  // deferred flushes run after the round
    loop_->Post([&] { flushed.Notify(); });
    flushed.WaitForNotification();
  }

  static v1::ScheduledResult Result(const std::string& probe, uint64_t run) {
    v1::ScheduledResult result;
    result.set_probe(probe);
    result.set_run(run);
    return result;
  }

  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

TEST_F(ResultsHubTest, SlowSubscriberLosesCountedResultsOthersGetAll) {
  constexpr size_t kQueue = 16;
  constexpr int kResults = 100;
  ResultsHub hub(loop_.get(), StreamLimits{kQueue, kQueue});
  auto fast = hub.Subscribe({});
  auto stuck = hub.Subscribe({});
  auto other = hub.Subscribe({"b"});
  FastWriter fast_writer(fast.get()), other_writer(other.get());
  StuckWriter stuck_writer;
  fast->Attach(&fast_writer);
  stuck->Attach(&stuck_writer);
  other->Attach(&other_writer);
  EXPECT_EQ(hub.subscribers(), 3u);

  // One result per loop round, as the scheduler publishes them.
  for (int i = 1; i <= kResults; ++i) {
    OnLoop([&hub, i] { hub.Publish(Result("a", i)); });
  }
  EXPECT_EQ(fast_writer.results_, kResults);
  EXPECT_EQ(other_writer.results_, 0);  // asked for "b" only
  EXPECT_EQ(stuck_writer.writes_, 1);
  // One batch in flight, kQueue waiting, the rest dropped and counted.
  EXPECT_EQ(stuck->dropped_total(), kResults - 1 - kQueue);
  EXPECT_EQ(hub.dropped_total(), kResults - 1 - kQueue);

  // A subscriber whose stream is done is forgotten.
  other->Detach();
  other.reset();
  EXPECT_EQ(hub.subscribers(), 2u);

  // Shutdown: open streams get a StreamEnd and finish OK; later ones at once.
  hub.EndAll();
  OnLoop([] {});
  EXPECT_TRUE(fast_writer.ended_);
  EXPECT_TRUE(fast_writer.finished_);
  EXPECT_THAT(fast_writer.status_, IsOk());
  auto late = hub.Subscribe({});
  FastWriter late_writer(late.get());
  late->Attach(&late_writer);
  OnLoop([] {});
  EXPECT_TRUE(late_writer.ended_);
  EXPECT_TRUE(late_writer.finished_);
  stuck->Detach();
  fast->Detach();
  late->Detach();
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
