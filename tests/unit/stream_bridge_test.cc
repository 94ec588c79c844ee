#include "agent/server/stream_bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "netprobe/v1/tcp.pb.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Event = v1::TcpConnectEvent;
using Bridge = StreamBridge<Event>;

constexpr absl::Duration kWait = absl::Seconds(10);

Event Attempt(uint32_t sequence) {
  Event event;
  event.mutable_attempt()->set_sequence(sequence);
  return event;
}

// "a7" for attempt 7, "d2/5" for a Dropped notice of count 2, total 5.
std::string Describe(const Event& event) {
  switch (event.event_case()) {
    case Event::kAttempt:
      return absl::StrCat("a", event.attempt().sequence());
    case Event::kDropped:
      return absl::StrCat("d", event.dropped().count(), "/", event.dropped().total());
    default:
      return "?";
  }
}

// Records every writer call. Single-threaded: the test drives the bridge and
// completes writes itself with Complete().
class FakeWriter : public Bridge::Writer {
 public:
  void StartWrite(const Event* event, bool more_queued) override {
    if (in_flight != nullptr) ++overlapping_writes;
    if (!finishes.empty()) ++writes_after_finish;
    in_flight = event;
    pointers.push_back(event);
    written.push_back(*event);
    hints.push_back(more_queued);
  }
  void FinishStream(absl::Status status) override {
    if (in_flight != nullptr) ++finish_while_writing;
    finishes.push_back(std::move(status));
  }

  std::vector<std::string> WrittenNames() const {
    std::vector<std::string> names;
    for (const Event& event : written) names.push_back(Describe(event));
    return names;
  }

  const Event* in_flight = nullptr;
  std::vector<const Event*> pointers;
  std::vector<Event> written;  // copies taken at StartWrite
  std::vector<bool> hints;     // more_queued of each StartWrite
  std::vector<absl::Status> finishes;
  int overlapping_writes = 0;
  int writes_after_finish = 0;
  int finish_while_writing = 0;
};

class StreamBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }

  void TearDown() override {
    EXPECT_EQ(writer_.overlapping_writes, 0) << "two writes were in flight";
    EXPECT_EQ(writer_.writes_after_finish, 0) << "StartWrite after FinishStream";
    EXPECT_EQ(writer_.finish_while_writing, 0) << "FinishStream with a write in flight";
    EXPECT_LE(writer_.finishes.size(), 1u) << "FinishStream called more than once";
  }

  std::unique_ptr<Bridge> MakeBridge(size_t high_water, size_t hard_limit) {
    auto bridge =
        std::make_unique<Bridge>(loop_.get(), StreamLimits{high_water, hard_limit});
    bridge->Attach(&writer_);
    return bridge;
  }

  // Completes the write in flight, as gRPC's OnWriteDone would.
  void Complete(Bridge& bridge, bool ok = true) {
    ASSERT_NE(writer_.in_flight, nullptr) << "no write in flight";
    writer_.in_flight = nullptr;
    bridge.OnWriteDone(ok);
  }

  void CompleteAll(Bridge& bridge) {
    for (int i = 0; i < 100000 && writer_.in_flight != nullptr; ++i) Complete(bridge);
  }

  std::unique_ptr<EventLoop> loop_;  // not running unless a test runs it
  FakeWriter writer_;
};

TEST_F(StreamBridgeTest, DeliversInOrderWithOneWriteInFlight) {
  auto bridge = MakeBridge(16, 16);
  EXPECT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_EQ(writer_.pointers.size(), 1u);  // the first Emit starts a write
  for (uint32_t i = 2; i <= 5; ++i) EXPECT_TRUE(bridge->Emit(Attempt(i)));
  EXPECT_EQ(writer_.pointers.size(), 1u);  // no second write while one is in flight
  EXPECT_EQ(bridge->queued(), 5u);

  for (size_t done = 1; done <= 5; ++done) {
    Complete(*bridge);
    EXPECT_EQ(bridge->delivered(), done);
    EXPECT_EQ(writer_.pointers.size(), std::min<size_t>(done + 1, 5));
  }
  EXPECT_EQ(writer_.in_flight, nullptr);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "a3", "a4", "a5"));
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_EQ(bridge->dropped_total(), 0u);
  EXPECT_THAT(writer_.finishes, IsEmpty());
}

TEST_F(StreamBridgeTest, MoreQueuedHintSaysWhetherEventsWaitBehindTheWrite) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));  // alone: nothing behind it
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  ASSERT_TRUE(bridge->Emit(Attempt(3)));
  Complete(*bridge);                      // a2 starts with a3 behind it
  Complete(*bridge);                      // a3 starts alone
  ASSERT_TRUE(bridge->Emit(Attempt(4)));  // queued behind a3, which is already started
  Complete(*bridge);                      // a4 starts alone
  Complete(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "a3", "a4"));
  EXPECT_THAT(writer_.hints, ElementsAre(false, true, false, false));
}

TEST_F(StreamBridgeTest, InFlightEventStaysPutWhileMoreArePushed) {
  auto bridge = MakeBridge(100000, 100000);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_EQ(writer_.pointers.size(), 1u);
  const Event* first = writer_.pointers[0];
  const std::string before = first->SerializeAsString();
  // Enough pushes to make the deque grow its block map several times.
  for (uint32_t i = 2; i <= 5000; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));

  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(writer_.in_flight, first);
  EXPECT_EQ(first->SerializeAsString(), before);
  EXPECT_EQ(first->attempt().sequence(), 1u);

  Complete(*bridge);
  ASSERT_EQ(writer_.pointers.size(), 2u);
  EXPECT_EQ(writer_.pointers[1]->attempt().sequence(), 2u);
  // Every pointer handed out still shows what was written through it while in
  // flight; check the second one against more pushes too.
  const Event* second = writer_.pointers[1];
  for (uint32_t i = 5001; i <= 6000; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  EXPECT_EQ(second->attempt().sequence(), 2u);
  CompleteAll(*bridge);
  ASSERT_EQ(writer_.written.size(), 6000u);
  for (uint32_t i = 0; i < 6000; ++i) {
    ASSERT_EQ(writer_.written[i].attempt().sequence(), i + 1) << "at " << i;
  }
}

TEST_F(StreamBridgeTest, DropsAtHardLimitThenSendsDroppedNoticeBeforeNextEvent) {
  auto bridge = MakeBridge(3, 3);
  EXPECT_TRUE(bridge->Emit(Attempt(1)));  // in flight; still counts as queued
  EXPECT_TRUE(bridge->Emit(Attempt(2)));
  EXPECT_TRUE(bridge->Emit(Attempt(3)));
  EXPECT_FALSE(bridge->Emit(Attempt(4)));
  EXPECT_FALSE(bridge->Emit(Attempt(5)));
  EXPECT_EQ(bridge->dropped_total(), 2u);
  EXPECT_EQ(bridge->queued(), 3u);

  Complete(*bridge);  // a1 delivered: room for one
  EXPECT_TRUE(bridge->Emit(Attempt(6)));
  // The notice may take the queue one past the hard limit; it is never dropped.
  EXPECT_EQ(bridge->queued(), 4u);
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "a3", "d2/2", "a6"));
  const Event& notice = writer_.written[3];
  EXPECT_THAT(notice.dropped().reason(), HasSubstr("too slowly"));

  // A second burst: count is the new drops, total the running sum.
  EXPECT_TRUE(bridge->Emit(Attempt(7)));
  EXPECT_TRUE(bridge->Emit(Attempt(8)));
  EXPECT_TRUE(bridge->Emit(Attempt(9)));
  EXPECT_FALSE(bridge->Emit(Attempt(10)));
  EXPECT_EQ(bridge->dropped_total(), 3u);
  Complete(*bridge);
  EXPECT_TRUE(bridge->Emit(Attempt(11)));
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "a3", "d2/2", "a6", "a7",
                                                  "a8", "a9", "d1/3", "a11"));
  EXPECT_EQ(bridge->delivered(), 10u);
}

TEST_F(StreamBridgeTest, NoticeIsQueuedWhenRoomFreesNotWhenDropsHappen) {
  auto bridge = MakeBridge(2, 2);
  EXPECT_TRUE(bridge->Emit(Attempt(1)));
  EXPECT_TRUE(bridge->Emit(Attempt(2)));
  EXPECT_FALSE(bridge->Emit(Attempt(3)));
  CompleteAll(*bridge);  // drains a1, a2: no event after the drop yet
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2"));
  EXPECT_TRUE(bridge->Emit(Attempt(4)));
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "d1/1", "a4"));
}

TEST_F(StreamBridgeTest, FinishWaitsForQueueToDrainThenFinishesOnce) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  bridge->Finish(absl::DeadlineExceededError("probe time is up"));
  EXPECT_THAT(writer_.finishes, IsEmpty());
  EXPECT_FALSE(bridge->Emit(Attempt(3))) << "Emit after Finish must be refused";

  Complete(*bridge);
  EXPECT_THAT(writer_.finishes, IsEmpty());
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0],
              StatusIs(absl::StatusCode::kDeadlineExceeded, "probe time is up"));
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2"));

  bridge->Finish(absl::InternalError("second"));  // the first call won
  bridge->OnCancel();
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

TEST_F(StreamBridgeTest, FinishWhenIdleFinishesAtOnce) {
  auto bridge = MakeBridge(16, 16);
  bridge->Finish(absl::OkStatus());
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], IsOk());
  EXPECT_THAT(writer_.pointers, IsEmpty());
}

TEST_F(StreamBridgeTest, FinishAfterDropsFlushesDroppedNoticeFirst) {
  auto bridge = MakeBridge(2, 2);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  EXPECT_FALSE(bridge->Emit(Attempt(3)));
  EXPECT_FALSE(bridge->Emit(Attempt(4)));
  bridge->Finish(absl::OkStatus());
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "a2", "d2/2"));
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], IsOk());
}

TEST_F(StreamBridgeTest, FinishAfterDropsWhenIdleStillSendsNotice) {
  auto bridge = MakeBridge(1, 1);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  EXPECT_FALSE(bridge->Emit(Attempt(2)));
  Complete(*bridge);  // idle now, one drop unreported
  EXPECT_THAT(writer_.finishes, IsEmpty());
  bridge->Finish(absl::OkStatus());
  EXPECT_THAT(writer_.finishes, IsEmpty()) << "finished before the notice was sent";
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1", "d1/1"));
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

TEST_F(StreamBridgeTest, OnCancelWithWriteInFlightFinishesCancelledAfterIt) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  bridge->OnCancel();
  EXPECT_THAT(writer_.finishes, IsEmpty()) << "finished with a write in flight";
  EXPECT_FALSE(bridge->Emit(Attempt(3)));
  EXPECT_FALSE(bridge->Writable());

  Complete(*bridge, /*ok=*/false);  // gRPC fails writes of a cancelled call
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1"));  // a2 was not sent
}

TEST_F(StreamBridgeTest, OnCancelWithWriteThatStillSucceeds) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  bridge->OnCancel();
  Complete(*bridge, /*ok=*/true);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1"));
}

TEST_F(StreamBridgeTest, OnCancelWhenIdleFinishesImmediately) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  Complete(*bridge);
  bridge->OnCancel();
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

TEST_F(StreamBridgeTest, FailedWriteClosesTheStream) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  Complete(*bridge, /*ok=*/false);
  EXPECT_EQ(writer_.in_flight, nullptr);
  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_FALSE(bridge->Emit(Attempt(3)));
  EXPECT_FALSE(bridge->Writable());
  bridge->Finish(absl::OkStatus());
  EXPECT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.WrittenNames(), ElementsAre("a1"));
}

// Fails the test on any call: installed when no call may happen any more.
class ForbiddenWriter : public Bridge::Writer {
 public:
  void StartWrite(const Event*, bool) override {
    ADD_FAILURE() << "StartWrite after Detach";
  }
  void FinishStream(absl::Status) override {
    ADD_FAILURE() << "FinishStream after Detach";
  }
};

TEST_F(StreamBridgeTest, NoWriterCallAfterDetach) {
  ForbiddenWriter forbidden;
  Bridge bridge(loop_.get(), StreamLimits{4, 4});
  bridge.Attach(&forbidden);
  bridge.Detach();
  EXPECT_FALSE(bridge.Emit(Attempt(1)));
  EXPECT_FALSE(bridge.Writable());
  bridge.Finish(absl::OkStatus());
  bridge.OnCancel();
  bridge.OnWriteDone(true);
  bridge.OnWriteDone(false);
  bool resumed = false;
  bridge.NotifyWhenWritable([&] { resumed = true; });
  loop_->Stop();
  loop_->Run();  // runs whatever was posted, then returns
  EXPECT_FALSE(resumed);
}

TEST_F(StreamBridgeTest, DetachAfterFinishMakesNoFurtherCalls) {
  auto bridge = MakeBridge(4, 4);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  bridge->Finish(absl::OkStatus());
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  bridge->Detach();
  EXPECT_FALSE(bridge->Emit(Attempt(2)));
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

TEST_F(StreamBridgeTest, WritableTurnsFalseAtHighWater) {
  auto bridge = MakeBridge(4, 8);
  EXPECT_TRUE(bridge->Writable());
  for (uint32_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(bridge->Emit(Attempt(i)));
    EXPECT_TRUE(bridge->Writable()) << "with " << i << " queued";
  }
  ASSERT_TRUE(bridge->Emit(Attempt(4)));
  EXPECT_FALSE(bridge->Writable()) << "at high_water";
  // Between high_water and hard_limit events are still accepted.
  for (uint32_t i = 5; i <= 8; ++i) EXPECT_TRUE(bridge->Emit(Attempt(i)));
  EXPECT_FALSE(bridge->Emit(Attempt(9)));
  EXPECT_FALSE(bridge->Writable());
  for (int i = 0; i < 4; ++i) Complete(*bridge);  // 8 -> 4 queued
  EXPECT_FALSE(bridge->Writable());
  Complete(*bridge);  // 3 queued
  EXPECT_TRUE(bridge->Writable());
}

// Runs a loop on a thread for the tests that need posted callbacks to run.
// Declare it after what those callbacks touch, so it is joined first.
class RunningLoop {
 public:
  explicit RunningLoop(EventLoop* loop)
      : loop_(loop), thread_([this] {
          loop_->Run();
          returned_.Notify();
        }) {}
  ~RunningLoop() {
    loop_->Stop();
    if (!returned_.WaitForNotificationWithTimeout(kWait)) {
      ADD_FAILURE() << "EventLoop::Run() did not return after Stop()";
      std::fflush(stdout);
      std::abort();  // a thread that cannot be joined: do not hang
    }
    thread_.join();
  }
  // True once everything posted before the call has run.
  bool Sync() {
    auto done = std::make_shared<absl::Notification>();
    loop_->Post([done] { done->Notify(); });
    return done->WaitForNotificationWithTimeout(kWait);
  }

 private:
  EventLoop* const loop_;
  absl::Notification returned_;
  std::thread thread_;  // last: starts once the members above exist
};

TEST_F(StreamBridgeTest, NotifyWhenWritableRunsOnLoopAfterDrainingToHalfHighWater) {
  auto bridge = MakeBridge(4, 8);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  absl::Notification resumed;
  std::atomic<bool> on_loop_thread{false};
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] {
    on_loop_thread.store(loop_->IsInLoopThread());
    resumed.Notify();
  });
  // 6 queued; high_water / 2 == 2.
  for (size_t queued = 5; queued >= 3; --queued) {
    Complete(*bridge);
    ASSERT_EQ(bridge->queued(), queued);
    ASSERT_TRUE(running.Sync());  // anything posted by now has run
    EXPECT_FALSE(resumed.HasBeenNotified()) << "resumed with " << queued << " queued";
  }
  Complete(*bridge);  // 2 queued
  ASSERT_TRUE(resumed.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(on_loop_thread.load());
}

TEST_F(StreamBridgeTest, NotifyWhenWritableBelowHalfPostsAtOnce) {
  auto bridge = MakeBridge(4, 8);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  absl::Notification resumed;
  std::atomic<bool> on_loop_thread{false};
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] {
    on_loop_thread.store(loop_->IsInLoopThread());
    resumed.Notify();
  });
  ASSERT_TRUE(resumed.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(on_loop_thread.load());
}

TEST_F(StreamBridgeTest, NotifyWhenWritableRunsOnlyOnceAndNewestWins) {
  auto bridge = MakeBridge(4, 8);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  std::atomic<int> first{0}, second{0};
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] { first.fetch_add(1); });
  bridge->NotifyWhenWritable([&] { second.fetch_add(1); });
  CompleteAll(*bridge);
  ASSERT_TRUE(running.Sync());
  EXPECT_EQ(first.load(), 0);
  EXPECT_EQ(second.load(), 1);
}

TEST_F(StreamBridgeTest, WriterMayCompleteInlineFromStartWrite) {
  // A writer that finishes each write inside StartWrite, re-entering the bridge.
  class InlineWriter : public Bridge::Writer {
   public:
    Bridge* bridge = nullptr;
    std::vector<std::string> names;
    std::vector<absl::Status> finishes;
    void StartWrite(const Event* event, bool) override {
      names.push_back(Describe(*event));
      bridge->OnWriteDone(true);
    }
    void FinishStream(absl::Status status) override { finishes.push_back(status); }
  } inline_writer;
  Bridge bridge(loop_.get(), StreamLimits{4, 4});
  inline_writer.bridge = &bridge;
  bridge.Attach(&inline_writer);
  for (uint32_t i = 1; i <= 10; ++i) EXPECT_TRUE(bridge.Emit(Attempt(i)));
  bridge.Finish(absl::OkStatus());
  EXPECT_EQ(inline_writer.names.size(), 10u);
  EXPECT_EQ(inline_writer.names.front(), "a1");
  EXPECT_EQ(inline_writer.names.back(), "a10");
  EXPECT_EQ(inline_writer.finishes.size(), 1u);
  EXPECT_EQ(bridge.delivered(), 10u);
}

// Producer and consumer on different threads, as with gRPC: whatever is
// dropped, delivered events stay in order, drops are all reported, and the
// stream is finished once.
TEST_F(StreamBridgeTest, ConcurrentProducerAndConsumerKeepTheInvariants) {
  class ThreadedWriter : public Bridge::Writer {
   public:
    void StartWrite(const Event* event, bool) override {
      absl::MutexLock lock(&mu);
      if (pending != nullptr || finished) ++violations;
      pending = event;
    }
    void FinishStream(absl::Status status) override {
      absl::MutexLock lock(&mu);
      if (pending != nullptr || finished) ++violations;
      finished = true;
      final_status = status;
    }
    absl::Mutex mu;
    const Event* pending ABSL_GUARDED_BY(mu) = nullptr;
    bool finished ABSL_GUARDED_BY(mu) = false;
    absl::Status final_status ABSL_GUARDED_BY(mu);
    int violations ABSL_GUARDED_BY(mu) = 0;
  } threaded;
  Bridge bridge(loop_.get(), StreamLimits{16, 16});
  bridge.Attach(&threaded);

  std::vector<Event> received;
  bool consumer_timed_out = false;
  std::thread consumer([&] {
    for (;;) {
      Event copy;
      {
        absl::MutexLock lock(&threaded.mu);
        auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(threaded.mu) {
          return threaded.pending != nullptr || threaded.finished;
        };
        if (!threaded.mu.AwaitWithTimeout(absl::Condition(&ready), kWait)) {
          consumer_timed_out = true;
          return;
        }
        if (threaded.pending == nullptr) return;  // finished
        copy = *threaded.pending;
        threaded.pending = nullptr;
      }
      received.push_back(std::move(copy));
      bridge.OnWriteDone(true);
    }
  });
  constexpr uint32_t kEvents = 20000;
  uint32_t accepted = 0;
  for (uint32_t i = 1; i <= kEvents; ++i) accepted += bridge.Emit(Attempt(i)) ? 1 : 0;
  bridge.Finish(absl::OkStatus());
  consumer.join();

  ASSERT_FALSE(consumer_timed_out);
  {
    absl::MutexLock lock(&threaded.mu);
    EXPECT_EQ(threaded.violations, 0);
    EXPECT_TRUE(threaded.finished);
    EXPECT_THAT(threaded.final_status, IsOk());
  }
  uint32_t last = 0, attempts = 0;
  uint64_t reported_drops = 0;
  for (const Event& event : received) {
    if (event.has_attempt()) {
      ASSERT_GT(event.attempt().sequence(), last);
      last = event.attempt().sequence();
      ++attempts;
    } else {
      ASSERT_TRUE(event.has_dropped());
      reported_drops += event.dropped().count();
      EXPECT_EQ(event.dropped().total(), reported_drops);
    }
  }
  EXPECT_EQ(attempts, accepted);
  EXPECT_EQ(reported_drops, bridge.dropped_total());
  EXPECT_EQ(accepted + bridge.dropped_total(), kEvents);
}

// An Event type that knows which of its objects are alive, so a test can tell
// whether the event handed to StartWrite was destroyed while still in flight
// without dereferencing a dangling pointer.
struct TrackedEvent {
  static std::set<const TrackedEvent*>& Live() {
    static auto* live = new std::set<const TrackedEvent*>;
    return *live;
  }
  TrackedEvent() { Live().insert(this); }
  explicit TrackedEvent(int i) : id(i) { Live().insert(this); }
  TrackedEvent(const TrackedEvent& o) : id(o.id), dropped(o.dropped) {
    Live().insert(this);
  }
  TrackedEvent(TrackedEvent&& o) noexcept : id(o.id), dropped(std::move(o.dropped)) {
    Live().insert(this);
  }
  TrackedEvent& operator=(const TrackedEvent&) = default;
  TrackedEvent& operator=(TrackedEvent&&) = default;
  ~TrackedEvent() { Live().erase(this); }
  v1::Dropped* mutable_dropped() { return &dropped; }

  int id = 0;
  v1::Dropped dropped;
};

class TrackingWriter : public StreamBridge<TrackedEvent>::Writer {
 public:
  void StartWrite(const TrackedEvent* event, bool) override {
    in_flight.push_back(event);
  }
  void FinishStream(absl::Status status) override { finishes.push_back(status); }
  std::vector<const TrackedEvent*> in_flight;
  std::vector<absl::Status> finishes;
};

TEST(StreamBridgeContractTest, InFlightEventIsAliveUntilOnWriteDone) {
  auto loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  StreamBridge<TrackedEvent> bridge(loop->get(), StreamLimits{4, 4});
  TrackingWriter writer;
  bridge.Attach(&writer);
  ASSERT_TRUE(bridge.Emit(TrackedEvent(1)));
  ASSERT_TRUE(bridge.Emit(TrackedEvent(2)));
  ASSERT_EQ(writer.in_flight.size(), 1u);
  EXPECT_TRUE(TrackedEvent::Live().contains(writer.in_flight[0]));
  EXPECT_EQ(writer.in_flight[0]->id, 1);
  bridge.OnWriteDone(true);
  ASSERT_EQ(writer.in_flight.size(), 2u);
  EXPECT_TRUE(TrackedEvent::Live().contains(writer.in_flight[1]));
  bridge.OnWriteDone(true);
  bridge.Finish(absl::OkStatus());
  EXPECT_EQ(writer.finishes.size(), 1u);
}

// The header's contract (and gRPC's): the event given to StartWrite stays
// untouched until OnWriteDone(), even when the client cancels meanwhile.
TEST(StreamBridgeContractTest, OnCancelMustNotDestroyTheEventInFlight) {
  auto loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  StreamBridge<TrackedEvent> bridge(loop->get(), StreamLimits{4, 4});
  TrackingWriter writer;
  bridge.Attach(&writer);
  ASSERT_TRUE(bridge.Emit(TrackedEvent(1)));
  ASSERT_TRUE(bridge.Emit(TrackedEvent(2)));
  ASSERT_EQ(writer.in_flight.size(), 1u);

  bridge.OnCancel();  // the write of event 1 has not completed yet
  EXPECT_TRUE(TrackedEvent::Live().contains(writer.in_flight[0]))
      << "the event passed to StartWrite was destroyed before OnWriteDone";
  EXPECT_TRUE(writer.finishes.empty());

  bridge.OnWriteDone(false);
  EXPECT_EQ(writer.in_flight.size(), 1u);
  ASSERT_EQ(writer.finishes.size(), 1u);
  EXPECT_EQ(writer.finishes[0].code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace netprobe
