#include "agent/probes/stream_bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "netprobe/v1/tcp.pb.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Le;

using Event = v1::TcpConnectEvent;
using Batch = v1::TcpConnectEvents;
using Bridge = StreamBridge<Event, Batch>;

constexpr absl::Duration kWait = absl::Seconds(10);

Event Attempt(uint32_t sequence) {
  Event event;
  event.mutable_attempt()->set_sequence(sequence);
  return event;
}

// An attempt that read a banner of `banner_bytes`: a big event.
Event BigAttempt(uint32_t sequence, size_t banner_bytes) {
  Event event = Attempt(sequence);
  event.mutable_attempt()->set_banner(std::string(banner_bytes, 'b'));
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

// "a1 a2 d1/1 a4": the events of one batch, in order.
std::string Describe(const Batch& batch) {
  std::vector<std::string> names;
  for (const Event& event : batch.events()) names.push_back(Describe(event));
  return absl::StrJoin(names, " ");
}

// Records every writer call. Single-threaded: the test drives the bridge and
// completes writes itself with Complete().
class FakeWriter : public Bridge::Writer {
 public:
  void StartWrite(const Batch* batch, bool more_queued) override {
    if (in_flight != nullptr) ++overlapping_writes;
    if (!finishes.empty()) ++writes_after_finish;
    if (batch->events_size() == 0) ++empty_batches;
    if (batch->events_size() > kMaxEventsPerMessage) ++oversized_batches;
    in_flight = batch;
    in_flight_bytes = batch->SerializeAsString();
    pointers.push_back(batch);
    written.push_back(*batch);
    hints.push_back(more_queued);
  }
  void FinishStream(absl::Status status) override {
    if (in_flight != nullptr) ++finish_while_writing;
    finishes.push_back(std::move(status));
  }

  // One string per batch, see Describe(const Batch&).
  std::vector<std::string> Batches() const {
    std::vector<std::string> batches;
    for (const Batch& batch : written) batches.push_back(Describe(batch));
    return batches;
  }
  // Every event written, across batches.
  std::vector<std::string> WrittenNames() const {
    std::vector<std::string> names;
    for (const Batch& batch : written) {
      for (const Event& event : batch.events()) names.push_back(Describe(event));
    }
    return names;
  }
  std::vector<int> BatchSizes() const {
    std::vector<int> sizes;
    for (const Batch& batch : written) sizes.push_back(batch.events_size());
    return sizes;
  }

  const Batch* in_flight = nullptr;
  std::string in_flight_bytes;  // the batch in flight, serialized at StartWrite
  std::vector<const Batch*> pointers;
  std::vector<Batch> written;  // copies taken at StartWrite
  std::vector<bool> hints;     // more_queued of each StartWrite
  std::vector<absl::Status> finishes;
  int overlapping_writes = 0;
  int writes_after_finish = 0;
  int finish_while_writing = 0;
  int empty_batches = 0;
  int oversized_batches = 0;
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
    EXPECT_EQ(writer_.empty_batches, 0) << "StartWrite with an empty batch";
    EXPECT_EQ(writer_.oversized_batches, 0) << "a batch above kMaxEventsPerMessage";
  }

  // Emit() needs the bridge owned by a shared_ptr.
  std::shared_ptr<Bridge> MakeUnattachedBridge(size_t high_water, size_t hard_limit) {
    return std::make_shared<Bridge>(loop_.get(), StreamLimits{high_water, hard_limit});
  }

  std::shared_ptr<Bridge> MakeBridge(size_t high_water, size_t hard_limit) {
    auto bridge = MakeUnattachedBridge(high_water, hard_limit);
    bridge->Attach(&writer_);
    return bridge;
  }

  // Ends the loop's current round, as a running loop does after its callbacks:
  // runs what Emit() deferred (the start of a write). The loop is not running,
  // so the test thread stands for the loop thread.
  void EndRound() { loop_->RunDeferred(); }

  // Runs what was posted to the loop (it is stopped, so Run() returns at once).
  void RunPosted() {
    loop_->Stop();
    loop_->Run();
  }

  // Emits `event` in a loop round of its own.
  bool Emit(Bridge& bridge, Event event) {
    const bool queued = bridge.Emit(std::move(event));
    EndRound();
    return queued;
  }

  // Completes the write in flight, as gRPC's OnWriteDone would, after checking
  // that the batch it points to was left untouched meanwhile.
  void Complete(Bridge& bridge, bool ok = true) {
    ASSERT_NE(writer_.in_flight, nullptr) << "no write in flight";
    EXPECT_EQ(writer_.in_flight->SerializeAsString(), writer_.in_flight_bytes)
        << "the batch in flight changed before OnWriteDone";
    writer_.in_flight = nullptr;
    bridge.OnWriteDone(ok);
  }

  void CompleteAll(Bridge& bridge) {
    for (int i = 0; i < 100000 && writer_.in_flight != nullptr; ++i) Complete(bridge);
  }

  // Expects attempts 1..count, in order, and nothing else among the events written.
  void ExpectAttemptsInOrder(uint32_t count) {
    std::vector<uint32_t> sequences;
    for (const Batch& batch : writer_.written) {
      for (const Event& event : batch.events()) {
        ASSERT_TRUE(event.has_attempt()) << Describe(event);
        sequences.push_back(event.attempt().sequence());
      }
    }
    ASSERT_EQ(sequences.size(), count);
    for (uint32_t i = 0; i < count; ++i) ASSERT_EQ(sequences[i], i + 1) << "at " << i;
  }

  std::unique_ptr<EventLoop> loop_;  // not running unless a test runs it
  FakeWriter writer_;
};

// Batching ----------------------------------------------------------------

TEST_F(StreamBridgeTest, SingleEventIsWrittenAloneWhileTheWriterKeepsUp) {
  auto bridge = MakeBridge(16, 16);
  for (uint32_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(bridge->Emit(Attempt(i)));
    EXPECT_EQ(writer_.written.size(), i - 1) << "the write waits for the round's end";
    EXPECT_EQ(bridge->queued(), 1u);
    EndRound();
    ASSERT_EQ(writer_.written.size(), i) << "the end of the round starts the write";
    EXPECT_EQ(writer_.written.back().events_size(), 1);
    EXPECT_FALSE(writer_.hints.back());
    EXPECT_EQ(bridge->queued(), 0u) << "the event in flight is not queued";
    Complete(*bridge);
    EXPECT_EQ(bridge->delivered(), i);
  }
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2", "a3", "a4", "a5"));
  EXPECT_EQ(writer_.in_flight, nullptr);
}

TEST_F(StreamBridgeTest, DeliversInOrderWithOneWriteInFlight) {
  auto bridge = MakeBridge(16, 16);
  EXPECT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_EQ(writer_.pointers.size(), 1u);  // the end of a1's round starts a write
  for (uint32_t i = 2; i <= 5; ++i) EXPECT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_EQ(writer_.pointers.size(), 1u);  // no second write while one is in flight
  EXPECT_EQ(bridge->queued(), 4u);         // waiting only: a1 is in flight

  Complete(*bridge);  // a2..a5 leave together
  EXPECT_EQ(bridge->delivered(), 1u);
  EXPECT_EQ(bridge->queued(), 0u);
  ASSERT_EQ(writer_.pointers.size(), 2u);
  Complete(*bridge);
  EXPECT_EQ(bridge->delivered(), 5u);
  EXPECT_EQ(writer_.pointers.size(), 2u);
  EXPECT_EQ(writer_.in_flight, nullptr);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3 a4 a5"));
  EXPECT_EQ(bridge->dropped_total(), 0u);
  EXPECT_THAT(writer_.finishes, IsEmpty());
}

TEST_F(StreamBridgeTest, EventsOfOneLoopRoundShareOneMessage) {
  auto bridge = MakeBridge(1000, 1000);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  ASSERT_TRUE(bridge->Emit(Attempt(3)));
  EXPECT_THAT(writer_.written, IsEmpty());
  EXPECT_EQ(bridge->queued(), 3u);
  EXPECT_TRUE(bridge->Writable());
  EndRound();
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1 a2 a3"));
  EXPECT_THAT(writer_.hints, ElementsAre(false));
  EndRound();  // nothing more was deferred
  EXPECT_EQ(writer_.written.size(), 1u);
  Complete(*bridge);

  // A round that emits more than a message holds.
  for (uint32_t i = 4; i <= 303; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  EXPECT_EQ(writer_.written.size(), 1u);
  EndRound();
  EXPECT_EQ(bridge->queued(), 44u);
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.BatchSizes(), ElementsAre(3, 256, 44));
  EXPECT_THAT(writer_.hints, ElementsAre(false, true, false));
  ExpectAttemptsInOrder(303);
  EXPECT_EQ(bridge->delivered(), 303u);
}

TEST_F(StreamBridgeTest, RoundsWithAWriteInFlightLeaveTheNextWriteToOnWriteDone) {
  auto bridge = MakeBridge(1000, 1000);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));  // a1 in flight
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  EndRound();
  ASSERT_TRUE(bridge->Emit(Attempt(3)));
  EndRound();
  EXPECT_EQ(writer_.written.size(), 1u) << "a second write while one is in flight";
  Complete(*bridge);  // starts a2 a3 itself, without waiting for a round
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3"));
  EndRound();
  EXPECT_EQ(writer_.written.size(), 2u);
  Complete(*bridge);
  EXPECT_EQ(writer_.in_flight, nullptr);
}

TEST_F(StreamBridgeTest, EventsQueuedDuringAWriteGoOutTogetherInTheNextBatch) {
  auto bridge = MakeBridge(100, 100);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  for (uint32_t i = 2; i <= 4; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  Complete(*bridge);  // a2 a3 a4 in flight
  for (uint32_t i = 5; i <= 11; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_EQ(bridge->queued(), 7u);
  Complete(*bridge);  // a5..a11 in flight
  ASSERT_TRUE(Emit(*bridge, Attempt(12)));
  Complete(*bridge);  // a12 alone
  Complete(*bridge);
  EXPECT_THAT(writer_.Batches(),
              ElementsAre("a1", "a2 a3 a4", "a5 a6 a7 a8 a9 a10 a11", "a12"));
  EXPECT_EQ(bridge->delivered(), 12u);
  EXPECT_EQ(writer_.in_flight, nullptr);
}

TEST_F(StreamBridgeTest, MoreQueuedIsTrueExactlyWhenEventsWaitBehindTheBatch) {
  auto bridge = MakeBridge(1000, 1000);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));  // alone: nothing behind it
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));
  Complete(*bridge);                       // a2 a3: all that waited went in
  ASSERT_TRUE(Emit(*bridge, Attempt(4)));  // behind a batch already started
  Complete(*bridge);                       // a4 alone
  for (uint32_t i = 5; i <= 304; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  Complete(*bridge);  // a5..a260: 44 still wait behind it
  EXPECT_EQ(bridge->queued(), 44u);
  Complete(*bridge);  // a261..a304: the rest
  Complete(*bridge);
  EXPECT_THAT(writer_.BatchSizes(), ElementsAre(1, 2, 1, 256, 44));
  EXPECT_THAT(writer_.hints, ElementsAre(false, false, false, true, false));
  ExpectAttemptsInOrder(304);
}

TEST_F(StreamBridgeTest, BatchNeverHoldsMoreThanMaxEventsPerMessage) {
  ASSERT_EQ(kMaxEventsPerMessage, 256);
  auto bridge = MakeUnattachedBridge(100000, 100000);
  for (uint32_t i = 1; i <= 600; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  EndRound();  // no writer yet: nothing to start
  EXPECT_EQ(bridge->queued(), 600u);
  EXPECT_THAT(writer_.written, IsEmpty());

  bridge->Attach(&writer_);  // delivers what was queued before
  EXPECT_EQ(bridge->queued(), 344u);
  Complete(*bridge);
  EXPECT_EQ(bridge->queued(), 88u);
  EXPECT_EQ(bridge->delivered(), 256u);
  Complete(*bridge);
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_EQ(bridge->delivered(), 512u);
  Complete(*bridge);
  EXPECT_EQ(bridge->delivered(), 600u);
  EXPECT_EQ(writer_.in_flight, nullptr);

  EXPECT_THAT(writer_.BatchSizes(), ElementsAre(256, 256, 88));
  EXPECT_THAT(writer_.hints, ElementsAre(true, true, false));
  ExpectAttemptsInOrder(600);
}

TEST_F(StreamBridgeTest, BatchNeverHoldsMoreThanMaxEventsWhileAttached) {
  auto bridge = MakeBridge(100000, 100000);
  for (uint32_t i = 1; i <= 600; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  CompleteAll(*bridge);
  // a1 went alone, before the others were queued.
  EXPECT_THAT(writer_.BatchSizes(), ElementsAre(1, 256, 256, 87));
  EXPECT_THAT(writer_.hints, ElementsAre(false, true, true, false));
  ExpectAttemptsInOrder(600);
  EXPECT_EQ(bridge->delivered(), 600u);
}

TEST_F(StreamBridgeTest, ByteBoundEndsABatchOnceAMebibyteIsPacked) {
  constexpr size_t kBanner = 300 * 1024;
  const size_t each = BigAttempt(1, kBanner).ByteSizeLong();
  // Three fit below the bound; the fourth takes the batch to it or past it.
  ASSERT_LT(3 * each, kMaxBytesPerMessage);
  ASSERT_GE(4 * each, kMaxBytesPerMessage);

  auto bridge = MakeUnattachedBridge(100, 100);
  for (uint32_t i = 1; i <= 10; ++i) ASSERT_TRUE(bridge->Emit(BigAttempt(i, kBanner)));
  EndRound();
  bridge->Attach(&writer_);
  EXPECT_EQ(bridge->queued(), 6u);
  CompleteAll(*bridge);

  EXPECT_THAT(writer_.BatchSizes(), ElementsAre(4, 4, 2));
  EXPECT_THAT(writer_.hints, ElementsAre(true, true, false));
  ExpectAttemptsInOrder(10);
  EXPECT_EQ(bridge->delivered(), 10u);
  for (const Batch& batch : writer_.written) {
    // "About" a mebibyte: below the bound before its last event was added.
    size_t before_last = 0;
    for (int i = 0; i + 1 < batch.events_size(); ++i) {
      before_last += batch.events(i).ByteSizeLong();
    }
    EXPECT_LT(before_last, kMaxBytesPerMessage);
    EXPECT_LT(batch.ByteSizeLong(), kMaxBytesPerMessage + each + 64);
  }
}

TEST_F(StreamBridgeTest, ByteBoundIsCheckedBeforeEachEventNotAfter) {
  // Small events, then one that alone exceeds the bound: it still joins the
  // batch (below the bound so far), and ends it.
  auto bridge = MakeUnattachedBridge(100, 100);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  ASSERT_TRUE(bridge->Emit(BigAttempt(3, kMaxBytesPerMessage)));
  ASSERT_TRUE(bridge->Emit(Attempt(4)));
  EndRound();
  bridge->Attach(&writer_);
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1 a2 a3", "a4"));
  EXPECT_THAT(writer_.hints, ElementsAre(true, false));
}

TEST_F(StreamBridgeTest, EventLargerThanTheByteBoundTravelsAlone) {
  auto bridge = MakeUnattachedBridge(100, 100);
  ASSERT_TRUE(bridge->Emit(BigAttempt(1, 2 * kMaxBytesPerMessage)));
  ASSERT_TRUE(bridge->Emit(BigAttempt(2, 2 * kMaxBytesPerMessage)));
  ASSERT_TRUE(bridge->Emit(Attempt(3)));
  ASSERT_TRUE(bridge->Emit(Attempt(4)));
  EndRound();
  bridge->Attach(&writer_);
  CompleteAll(*bridge);
  // A batch always holds at least one event, however big.
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2", "a3 a4"));
  EXPECT_THAT(writer_.hints, ElementsAre(true, true, false));
  EXPECT_EQ(bridge->delivered(), 4u);
}

TEST_F(StreamBridgeTest, DeliveredCountsEventsNotMessages) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  for (uint32_t i = 2; i <= 6; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_EQ(bridge->delivered(), 0u) << "a write in flight is not delivered yet";
  Complete(*bridge);
  EXPECT_EQ(bridge->delivered(), 1u);
  EXPECT_EQ(bridge->queued(), 0u);     // a2..a6 are in flight, neither queued...
  EXPECT_EQ(bridge->delivered(), 1u);  // ...nor delivered
  Complete(*bridge);
  EXPECT_EQ(bridge->delivered(), 6u);
  EXPECT_EQ(writer_.written.size(), 2u);

  ASSERT_TRUE(Emit(*bridge, Attempt(7)));
  ASSERT_TRUE(Emit(*bridge, Attempt(8)));
  Complete(*bridge, /*ok=*/false);  // a failed write delivered nothing
  EXPECT_EQ(bridge->delivered(), 6u);
}

TEST_F(StreamBridgeTest, InFlightBatchStaysPutWhileMoreArePushed) {
  auto bridge = MakeBridge(100000, 100000);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_EQ(writer_.pointers.size(), 1u);
  const Batch* first = writer_.pointers[0];
  const std::string before = first->SerializeAsString();
  // Enough pushes to make the queue grow its storage several times.
  for (uint32_t i = 2; i <= 5000; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));

  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(writer_.in_flight, first);
  EXPECT_EQ(first->SerializeAsString(), before);
  ASSERT_EQ(first->events_size(), 1);
  EXPECT_EQ(first->events(0).attempt().sequence(), 1u);

  Complete(*bridge);
  ASSERT_EQ(writer_.pointers.size(), 2u);
  const Batch* second = writer_.pointers[1];
  ASSERT_EQ(second->events_size(), kMaxEventsPerMessage);
  EXPECT_EQ(second->events(0).attempt().sequence(), 2u);
  const std::string second_before = second->SerializeAsString();
  // The second batch too stays as written while more are pushed.
  for (uint32_t i = 5001; i <= 6000; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_EQ(second->SerializeAsString(), second_before);
  EXPECT_EQ(second->events(255).attempt().sequence(), 257u);
  CompleteAll(*bridge);

  const std::vector<int> sizes = writer_.BatchSizes();
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), 0), 6000);
  ASSERT_GE(sizes.size(), 3u);
  // Every batch but the first (a1 alone) and the last was full.
  for (size_t i = 1; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 256) << "batch " << i;
  ExpectAttemptsInOrder(6000);
  EXPECT_EQ(bridge->delivered(), 6000u);
}

// Drops and Dropped notices ------------------------------------------------

TEST_F(StreamBridgeTest, DropsAtHardLimitThenSendsDroppedNoticeBeforeNextEvent) {
  auto bridge = MakeBridge(3, 3);
  EXPECT_TRUE(Emit(*bridge, Attempt(1)));  // in flight: does not count against the limit
  EXPECT_TRUE(Emit(*bridge, Attempt(2)));
  EXPECT_TRUE(Emit(*bridge, Attempt(3)));
  EXPECT_TRUE(Emit(*bridge, Attempt(4)));
  EXPECT_EQ(bridge->queued(), 3u);
  EXPECT_FALSE(Emit(*bridge, Attempt(5)));
  EXPECT_FALSE(Emit(*bridge, Attempt(6)));
  EXPECT_EQ(bridge->dropped_total(), 2u);
  EXPECT_EQ(bridge->queued(), 3u);

  Complete(*bridge);  // a2 a3 a4 leave together: room again
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_TRUE(Emit(*bridge, Attempt(7)));
  EXPECT_EQ(bridge->queued(), 2u);  // the notice, then a7
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3 a4", "d2/2 a7"));
  const Event& notice = writer_.written[2].events(0);
  EXPECT_THAT(notice.dropped().reason(), HasSubstr("too slowly"));

  // A second burst: count is the new drops, total the running sum.
  EXPECT_TRUE(Emit(*bridge, Attempt(8)));
  EXPECT_TRUE(Emit(*bridge, Attempt(9)));
  EXPECT_TRUE(Emit(*bridge, Attempt(10)));
  EXPECT_TRUE(Emit(*bridge, Attempt(11)));
  EXPECT_FALSE(Emit(*bridge, Attempt(12)));
  EXPECT_EQ(bridge->dropped_total(), 3u);
  Complete(*bridge);
  EXPECT_TRUE(Emit(*bridge, Attempt(13)));
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(),
              ElementsAre("a1", "a2 a3 a4", "d2/2 a7", "a8", "a9 a10 a11", "d1/3 a13"));
  EXPECT_EQ(bridge->delivered(), 12u);  // the notices are events too
}

// Issue 17: the queue is bounded in bytes too: big events (banners, packets)
// from a slow reader cost at most max_bytes, whatever the event count.
TEST_F(StreamBridgeTest, QueueIsBoundedInBytesAndDropsAreCounted) {
  auto bridge = std::make_shared<Bridge>(
      loop_.get(),
      StreamLimits{.high_water = 1000, .hard_limit = 1000, .max_bytes = 10000});
  bridge->Attach(&writer_);
  EXPECT_TRUE(Emit(*bridge, BigAttempt(1, 3000)));  // in flight: apart from the queue
  EXPECT_TRUE(Emit(*bridge, BigAttempt(2, 3000)));
  EXPECT_TRUE(bridge->Writable());  // ~3 KB queued: below half
  EXPECT_TRUE(Emit(*bridge, BigAttempt(3, 3000)));
  EXPECT_FALSE(bridge->Writable());  // ~6 KB: above half, pausing probes stop
  EXPECT_TRUE(Emit(*bridge, BigAttempt(4, 3000)));
  EXPECT_FALSE(Emit(*bridge, BigAttempt(5, 3000)));  // would pass 10,000 bytes
  EXPECT_TRUE(Emit(*bridge, Attempt(6)));            // a small one still fits
  EXPECT_EQ(bridge->dropped_total(), 1u);
  EXPECT_LE(bridge->queued_bytes(), 10000u);
  EXPECT_GT(bridge->queued_bytes(), 9000u);
  CompleteAll(*bridge);
  EXPECT_EQ(bridge->queued_bytes(), 0u);
  EXPECT_TRUE(bridge->Writable());
  EXPECT_TRUE(Emit(*bridge, Attempt(7)));
  CompleteAll(*bridge);
  // The notice goes before the next event queued after the drop.
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3 a4 d1/1 a6", "a7"));
  // An event bigger than the whole limit still goes out, alone.
  EXPECT_TRUE(Emit(*bridge, BigAttempt(8, 20000)));
  CompleteAll(*bridge);
  EXPECT_EQ(bridge->dropped_total(), 1u);
}

// Pausing probes resume once the queue is down to a quarter of its bytes.
TEST_F(StreamBridgeTest, ResumesAtAQuarterOfTheBytes) {
  auto bridge = std::make_shared<Bridge>(
      loop_.get(),
      StreamLimits{.high_water = 1000, .hard_limit = 1000, .max_bytes = 10000});
  EXPECT_TRUE(Emit(*bridge, BigAttempt(1, 3000)));  // unattached: all of it queued
  EXPECT_TRUE(Emit(*bridge, BigAttempt(2, 3000)));
  EXPECT_FALSE(bridge->Writable());
  bool resumed = false;
  bridge->NotifyWhenWritable([&] { resumed = true; });
  RunPosted();
  EXPECT_FALSE(resumed);
  bridge->Attach(&writer_);  // both leave in one batch: the queue is empty
  RunPosted();
  EXPECT_TRUE(resumed);
  CompleteAll(*bridge);
}

TEST_F(StreamBridgeTest, NoticeIsQueuedWhenRoomFreesNotWhenDropsHappen) {
  auto bridge = MakeBridge(2, 2);
  EXPECT_TRUE(Emit(*bridge, Attempt(1)));
  EXPECT_TRUE(Emit(*bridge, Attempt(2)));
  EXPECT_TRUE(Emit(*bridge, Attempt(3)));
  EXPECT_FALSE(Emit(*bridge, Attempt(4)));
  CompleteAll(*bridge);  // drains a1..a3: no event after the drop yet
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3"));
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_TRUE(Emit(*bridge, Attempt(5)));  // idle: notice and event leave together
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3", "d1/1 a5"));
  EXPECT_THAT(writer_.hints, ElementsAre(false, false, false));
}

TEST_F(StreamBridgeTest, DroppedNoticeSitsInsideABatchBetweenItsNeighbours) {
  // hard_limit above kMaxEventsPerMessage, so events remain waiting after a
  // batch leaves and the notice lands behind them.
  auto bridge = MakeBridge(300, 300);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  for (uint32_t i = 2; i <= 301; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_FALSE(Emit(*bridge, Attempt(302)));
  EXPECT_FALSE(Emit(*bridge, Attempt(303)));
  Complete(*bridge);  // a2..a257 in flight, a258..a301 wait
  EXPECT_EQ(bridge->queued(), 44u);
  ASSERT_TRUE(Emit(*bridge, Attempt(304)));
  EXPECT_EQ(bridge->queued(), 46u);
  Complete(*bridge);
  Complete(*bridge);
  ASSERT_EQ(writer_.written.size(), 3u);
  const Batch& third = writer_.written[2];
  ASSERT_EQ(third.events_size(), 46);
  EXPECT_EQ(Describe(third.events(0)), "a258");
  EXPECT_EQ(Describe(third.events(43)), "a301");
  EXPECT_EQ(Describe(third.events(44)), "d2/2");
  EXPECT_EQ(Describe(third.events(45)), "a304");
  EXPECT_EQ(bridge->delivered(), 1u + 256u + 46u);
}

// Finish -------------------------------------------------------------------

TEST_F(StreamBridgeTest, FinishWaitsForQueueToDrainThenFinishesOnce) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));
  bridge->Finish(absl::DeadlineExceededError("probe time is up"));
  EXPECT_THAT(writer_.finishes, IsEmpty());
  EXPECT_FALSE(Emit(*bridge, Attempt(4))) << "Emit after Finish must be refused";

  Complete(*bridge);  // a2 a3 in flight
  EXPECT_THAT(writer_.finishes, IsEmpty());
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0],
              StatusIs(absl::StatusCode::kDeadlineExceeded, "probe time is up"));
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3"));
  EXPECT_EQ(bridge->delivered(), 3u);

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

TEST_F(StreamBridgeTest, FinishBeforeAttachDeliversTheQueueThenFinishes) {
  auto bridge = MakeUnattachedBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  bridge->Finish(absl::OkStatus());
  bridge->Attach(&writer_);
  EXPECT_THAT(writer_.finishes, IsEmpty());
  Complete(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1 a2"));
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], IsOk());
}

TEST_F(StreamBridgeTest, FinishInTheRoundOfTheEmitsStartsTheirWriteAtOnce) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  bridge->Finish(absl::OkStatus());  // before the deferred start of the write
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1 a2"));
  EXPECT_THAT(writer_.finishes, IsEmpty());
  EndRound();  // the deferred start finds the write in flight
  EXPECT_EQ(writer_.written.size(), 1u);
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], IsOk());
  EndRound();
  EXPECT_EQ(writer_.written.size(), 1u);
}

TEST_F(StreamBridgeTest, FinishAfterDropsFlushesDroppedNoticeFirst) {
  auto bridge = MakeBridge(2, 2);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));
  EXPECT_FALSE(Emit(*bridge, Attempt(4)));
  EXPECT_FALSE(Emit(*bridge, Attempt(5)));
  bridge->Finish(absl::OkStatus());
  // The notice may take the queue one past the hard limit; it is never dropped.
  EXPECT_EQ(bridge->queued(), 3u);
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3 d2/2"));
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], IsOk());
}

TEST_F(StreamBridgeTest, FinishAfterDropsWhenIdleStillSendsNotice) {
  auto bridge = MakeBridge(1, 1);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  EXPECT_FALSE(Emit(*bridge, Attempt(3)));
  Complete(*bridge);
  Complete(*bridge);  // idle now, one drop unreported
  EXPECT_EQ(writer_.in_flight, nullptr);
  EXPECT_THAT(writer_.finishes, IsEmpty());
  bridge->Finish(absl::OkStatus());
  EXPECT_THAT(writer_.finishes, IsEmpty()) << "finished before the notice was sent";
  CompleteAll(*bridge);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2", "d1/1"));
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

// Cancel, failure, detach --------------------------------------------------

TEST_F(StreamBridgeTest, OnCancelWithWriteInFlightFinishesCancelledAfterIt) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));
  bridge->OnCancel();
  EXPECT_EQ(bridge->queued(), 0u) << "the waiting events go";
  EXPECT_THAT(writer_.finishes, IsEmpty()) << "finished with a write in flight";
  EXPECT_FALSE(Emit(*bridge, Attempt(4)));
  EXPECT_FALSE(bridge->Writable());

  Complete(*bridge, /*ok=*/false);  // gRPC fails writes of a cancelled call
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1"));  // a2, a3 were not sent
  EXPECT_EQ(bridge->delivered(), 0u);
}

TEST_F(StreamBridgeTest, OnCancelWithWriteThatStillSucceeds) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  bridge->OnCancel();
  Complete(*bridge, /*ok=*/true);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1"));
  EXPECT_EQ(bridge->delivered(), 1u);
}

TEST_F(StreamBridgeTest, OnCancelKeepsTheBatchInFlightIntactUntilOnWriteDone) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  for (uint32_t i = 2; i <= 4; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  Complete(*bridge);  // a2 a3 a4 in flight
  ASSERT_TRUE(Emit(*bridge, Attempt(5)));
  ASSERT_TRUE(Emit(*bridge, Attempt(6)));
  const Batch* in_flight = writer_.in_flight;
  ASSERT_NE(in_flight, nullptr);

  bridge->OnCancel();
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_EQ(Describe(*in_flight), "a2 a3 a4") << "OnCancel touched the batch in flight";
  EXPECT_THAT(writer_.finishes, IsEmpty());
  Complete(*bridge, /*ok=*/true);  // also checks the batch was not touched
  EXPECT_EQ(bridge->delivered(), 4u);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3 a4"));
}

TEST_F(StreamBridgeTest, OnCancelWhenIdleFinishesImmediately) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  Complete(*bridge);
  bridge->OnCancel();
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

TEST_F(StreamBridgeTest, OnCancelBeforeAttachFinishesWithoutWriting) {
  auto bridge = MakeUnattachedBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  bridge->OnCancel();
  bridge->Attach(&writer_);
  EXPECT_THAT(writer_.written, IsEmpty());
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
}

TEST_F(StreamBridgeTest, OnCancelBeforeTheRoundEndsWritesNothing) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  bridge->OnCancel();  // the write was deferred, not started
  EXPECT_EQ(bridge->queued(), 0u);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.finishes[0], StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EndRound();
  EXPECT_THAT(writer_.written, IsEmpty());
}

TEST_F(StreamBridgeTest, FailedWriteClosesTheStream) {
  auto bridge = MakeBridge(16, 16);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  Complete(*bridge, /*ok=*/false);
  EXPECT_EQ(writer_.in_flight, nullptr);
  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_EQ(bridge->delivered(), 0u);
  EXPECT_FALSE(Emit(*bridge, Attempt(3)));
  EXPECT_FALSE(bridge->Writable());
  bridge->Finish(absl::OkStatus());
  EXPECT_EQ(writer_.finishes.size(), 1u);
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1"));
}

// Fails the test on any call: installed when no call may happen any more.
class ForbiddenWriter : public Bridge::Writer {
 public:
  void StartWrite(const Batch*, bool) override {
    ADD_FAILURE() << "StartWrite after Detach";
  }
  void FinishStream(absl::Status) override {
    ADD_FAILURE() << "FinishStream after Detach";
  }
};

TEST_F(StreamBridgeTest, NoWriterCallAfterDetach) {
  ForbiddenWriter forbidden;
  auto bridge = std::make_shared<Bridge>(loop_.get(), StreamLimits{4, 4});
  bridge->Attach(&forbidden);
  bridge->Detach();
  EXPECT_FALSE(Emit(*bridge, Attempt(1)));
  EXPECT_FALSE(bridge->Writable());
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  bridge->OnWriteDone(true);
  bridge->OnWriteDone(false);
  EXPECT_EQ(bridge->delivered(), 0u);
  bool resumed = false;
  bridge->NotifyWhenWritable([&] { resumed = true; });
  RunPosted();
  EXPECT_FALSE(resumed);
}

TEST_F(StreamBridgeTest, DetachBeforeTheRoundEndsWritesNothing) {
  ForbiddenWriter forbidden;
  auto bridge = std::make_shared<Bridge>(loop_.get(), StreamLimits{4, 4});
  bridge->Attach(&forbidden);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  bridge->Detach();
  EndRound();  // the deferred start finds no writer
  bridge->Finish(absl::OkStatus());
}

TEST_F(StreamBridgeTest, DeferredWriteStartKeepsTheBridgeAlive) {
  auto bridge = MakeBridge(4, 4);
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  std::weak_ptr<Bridge> weak = bridge;
  bridge->Detach();  // as the reactor's OnDone would, then drops its reference
  bridge.reset();
  EXPECT_FALSE(weak.expired()) << "the deferred task owns the bridge until it runs";
  EndRound();  // runs on a live bridge (ASan would see a use after free)
  EXPECT_TRUE(weak.expired());
  EXPECT_THAT(writer_.written, IsEmpty());
}

TEST_F(StreamBridgeTest, DetachWithABatchInFlightMakesNoFurtherCalls) {
  auto bridge = MakeBridge(4, 4);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));
  bridge->Detach();
  Complete(*bridge);  // the batch in flight was left as it was
  EXPECT_FALSE(Emit(*bridge, Attempt(4)));
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  EXPECT_THAT(writer_.Batches(), ElementsAre("a1"));
  EXPECT_THAT(writer_.finishes, IsEmpty());
}

TEST_F(StreamBridgeTest, DetachAfterFinishMakesNoFurtherCalls) {
  auto bridge = MakeBridge(4, 4);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  bridge->Finish(absl::OkStatus());
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  bridge->Detach();
  EXPECT_FALSE(Emit(*bridge, Attempt(2)));
  bridge->Finish(absl::OkStatus());
  bridge->OnCancel();
  EXPECT_EQ(writer_.pointers.size(), 1u);
  EXPECT_EQ(writer_.finishes.size(), 1u);
}

// Flow control -------------------------------------------------------------

TEST_F(StreamBridgeTest, WritableTurnsFalseAtHighWaterOfWaitingEvents) {
  auto bridge = MakeBridge(4, 8);
  EXPECT_TRUE(bridge->Writable());
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));  // in flight: not waiting
  for (uint32_t i = 2; i <= 4; ++i) {
    ASSERT_TRUE(Emit(*bridge, Attempt(i)));
    EXPECT_TRUE(bridge->Writable()) << "with " << i - 1 << " waiting";
  }
  ASSERT_TRUE(Emit(*bridge, Attempt(5)));
  EXPECT_EQ(bridge->queued(), 4u);
  EXPECT_FALSE(bridge->Writable()) << "at high_water";
  // Between high_water and hard_limit events are still accepted.
  for (uint32_t i = 6; i <= 9; ++i) EXPECT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_FALSE(Emit(*bridge, Attempt(10)));
  EXPECT_FALSE(bridge->Writable());
  Complete(*bridge);  // all 8 waiting leave in one batch
  EXPECT_EQ(bridge->queued(), 0u);
  EXPECT_TRUE(bridge->Writable());
}

TEST_F(StreamBridgeTest, WritableStaysFalseWhileABatchLeavesEnoughBehind) {
  // high_water above kMaxEventsPerMessage: one batch does not drain the queue.
  auto bridge = MakeBridge(300, 600);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  for (uint32_t i = 2; i <= 601; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  EXPECT_FALSE(Emit(*bridge, Attempt(602)));
  EXPECT_FALSE(bridge->Writable());
  Complete(*bridge);
  EXPECT_EQ(bridge->queued(), 344u);
  EXPECT_FALSE(bridge->Writable());
  Complete(*bridge);
  EXPECT_EQ(bridge->queued(), 88u);
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

TEST_F(StreamBridgeTest, NotifyWhenWritableRunsOnLoopOnlyAfterDrainingToHalfHighWater) {
  // high_water 600, so half is 300; batches of 256 drain 1000 waiting events
  // in steps: 744, 488, 232, 0.
  auto bridge = MakeBridge(600, 1200);
  for (uint32_t i = 1; i <= 1001; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  ASSERT_EQ(bridge->queued(), 1000u);
  std::atomic<int> runs{0};
  absl::Notification resumed;
  std::atomic<bool> on_loop_thread{false};
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] {
    on_loop_thread.store(loop_->IsInLoopThread());
    runs.fetch_add(1);
    resumed.Notify();
  });
  ASSERT_TRUE(running.Sync());
  EXPECT_FALSE(resumed.HasBeenNotified());
  while (writer_.in_flight != nullptr) {
    Complete(*bridge);
    const size_t queued = bridge->queued();
    ASSERT_TRUE(running.Sync());  // anything posted by now has run
    if (queued > 300) {
      EXPECT_FALSE(resumed.HasBeenNotified()) << "resumed with " << queued << " waiting";
    }
  }
  ASSERT_TRUE(resumed.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(on_loop_thread.load());
  ASSERT_TRUE(running.Sync());
  EXPECT_EQ(runs.load(), 1);
  ExpectAttemptsInOrder(1001);
}

// A paused producer is resumed as soon as the waiting queue is down to half
// of high_water, counted after the next batch took its events: not one whole
// write later, which would leave the producer idle while a message is in
// flight (ConcurrentPausingProducerLosesNothing would then pause per batch).
TEST_F(StreamBridgeTest, ResumeComesAsSoonAsTheQueueDrainsNotOneWriteLater) {
  auto bridge = MakeBridge(4, 8);
  for (uint32_t i = 1; i <= 6; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  ASSERT_EQ(bridge->queued(), 5u);  // a1 in flight, a2..a6 waiting; half is 2
  absl::Notification resumed;
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] { resumed.Notify(); });
  Complete(*bridge);  // a2..a6 leave in one batch
  ASSERT_EQ(bridge->queued(), 0u);
  ASSERT_TRUE(bridge->Writable());
  ASSERT_TRUE(running.Sync());
  EXPECT_TRUE(resumed.HasBeenNotified())
      << "nothing waits, yet the paused producer is not resumed before the batch of "
      << writer_.written.back().events_size() << " events has been written";
}

// The same through Flush(): one loop round fills the queue to high_water, the
// producer pauses, the end of the round sends everything and resumes it.
TEST_F(StreamBridgeTest, ResumeComesWhenTheRoundsBatchEmptiedTheQueue) {
  auto bridge = MakeBridge(4, 8);
  for (uint32_t i = 1; i <= 4; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  ASSERT_FALSE(bridge->Writable());
  bool resumed = false;
  bridge->NotifyWhenWritable([&] { resumed = true; });  // 4 waiting > 2: later
  EndRound();
  ASSERT_THAT(writer_.Batches(), ElementsAre("a1 a2 a3 a4"));
  ASSERT_EQ(bridge->queued(), 0u);
  ASSERT_TRUE(bridge->Writable());
  RunPosted();
  EXPECT_TRUE(resumed) << "nothing waits, yet the paused producer is not resumed "
                          "before the batch has been written";
}

TEST_F(StreamBridgeTest, NotifyWhenWritableBelowHalfPostsAtOnce) {
  auto bridge = MakeBridge(4, 8);
  ASSERT_TRUE(Emit(*bridge, Attempt(1)));
  ASSERT_TRUE(Emit(*bridge, Attempt(2)));
  ASSERT_TRUE(Emit(*bridge, Attempt(3)));  // two waiting: at half
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
  for (uint32_t i = 1; i <= 7; ++i) ASSERT_TRUE(Emit(*bridge, Attempt(i)));
  std::atomic<int> first{0}, second{0};
  RunningLoop running(loop_.get());
  bridge->NotifyWhenWritable([&] { first.fetch_add(1); });
  bridge->NotifyWhenWritable([&] { second.fetch_add(1); });
  CompleteAll(*bridge);
  ASSERT_TRUE(running.Sync());
  EXPECT_EQ(first.load(), 0);
  EXPECT_EQ(second.load(), 1);
}

// Writers that complete inline ---------------------------------------------

// Finishes each write inside StartWrite, re-entering the bridge.
class InlineWriter : public Bridge::Writer {
 public:
  void StartWrite(const Batch* batch, bool more_queued) override {
    batches.push_back(Describe(*batch));
    sizes.push_back(batch->events_size());
    hints.push_back(more_queued);
    bridge->OnWriteDone(true);
  }
  void FinishStream(absl::Status status) override { finishes.push_back(status); }

  Bridge* bridge = nullptr;
  std::vector<std::string> batches;
  std::vector<int> sizes;
  std::vector<bool> hints;
  std::vector<absl::Status> finishes;
};

TEST_F(StreamBridgeTest, WriterMayCompleteInlineFromStartWrite) {
  InlineWriter inline_writer;
  auto bridge = std::make_shared<Bridge>(loop_.get(), StreamLimits{4, 4});
  inline_writer.bridge = bridge.get();
  bridge->Attach(&inline_writer);
  for (uint32_t i = 1; i <= 10; ++i) EXPECT_TRUE(Emit(*bridge, Attempt(i)));
  // The writer always keeps up: one event per message.
  ASSERT_EQ(inline_writer.batches.size(), 10u);
  EXPECT_EQ(inline_writer.batches.front(), "a1");
  EXPECT_EQ(inline_writer.batches.back(), "a10");
  EXPECT_THAT(inline_writer.sizes, Each(1));
  // One round's events in one message, completed inline too.
  for (uint32_t i = 11; i <= 14; ++i) EXPECT_TRUE(bridge->Emit(Attempt(i)));
  EndRound();
  EXPECT_EQ(inline_writer.batches.back(), "a11 a12 a13 a14");
  bridge->Finish(absl::OkStatus());
  EXPECT_EQ(inline_writer.batches.size(), 11u);
  EXPECT_EQ(inline_writer.finishes.size(), 1u);
  EXPECT_EQ(bridge->delivered(), 14u);
  EXPECT_EQ(bridge->queued(), 0u);
}

TEST_F(StreamBridgeTest, InlineWriterDrainsABacklogBatchByBatch) {
  InlineWriter inline_writer;
  auto bridge = std::make_shared<Bridge>(loop_.get(), StreamLimits{1000, 1000});
  inline_writer.bridge = bridge.get();
  for (uint32_t i = 1; i <= 600; ++i) ASSERT_TRUE(bridge->Emit(Attempt(i)));
  EndRound();
  bridge->Finish(absl::OkStatus());
  bridge->Attach(&inline_writer);  // every batch written and completed in here
  EXPECT_THAT(inline_writer.sizes, ElementsAre(256, 256, 88));
  EXPECT_THAT(inline_writer.hints, ElementsAre(true, true, false));
  ASSERT_EQ(inline_writer.finishes.size(), 1u);
  EXPECT_THAT(inline_writer.finishes[0], IsOk());
  EXPECT_EQ(bridge->delivered(), 600u);
  EXPECT_EQ(bridge->queued(), 0u);
}

// Two threads ----------------------------------------------------------------

// The consumer side on a thread of its own, as with gRPC: StartWrite hands a
// batch to the thread, which copies it and calls OnWriteDone.
class ThreadedWriter : public Bridge::Writer {
 public:
  void StartWrite(const Batch* batch, bool) override {
    absl::MutexLock lock(&mu);
    if (pending != nullptr || finished) ++violations;
    if (batch->events_size() == 0 || batch->events_size() > kMaxEventsPerMessage) {
      ++violations;
    }
    pending = batch;
  }
  void FinishStream(absl::Status status) override {
    absl::MutexLock lock(&mu);
    if (pending != nullptr || finished) ++violations;
    finished = true;
    final_status = status;
  }

  // Consumes until FinishStream (returns true) or kWait without a call.
  bool Consume(Bridge& bridge) {
    for (;;) {
      Batch copy;
      {
        absl::MutexLock lock(&mu);
        auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
          return pending != nullptr || finished;
        };
        if (!mu.AwaitWithTimeout(absl::Condition(&ready), kWait)) return false;
        if (pending == nullptr) return true;  // finished
        copy = *pending;
        pending = nullptr;
      }
      ++batches;
      max_batch = std::max(max_batch, copy.events_size());
      for (Event& event : *copy.mutable_events()) received.push_back(std::move(event));
      bridge.OnWriteDone(true);
    }
  }

  absl::Mutex mu;
  const Batch* pending ABSL_GUARDED_BY(mu) = nullptr;
  bool finished ABSL_GUARDED_BY(mu) = false;
  absl::Status final_status ABSL_GUARDED_BY(mu);
  int violations ABSL_GUARDED_BY(mu) = 0;
  // Consumer thread only, read after it is joined.
  std::vector<Event> received;
  int batches = 0;
  int max_batch = 0;
};

// Whatever is dropped, delivered events stay in order, drops are all reported,
// and the stream is finished once.
TEST_F(StreamBridgeTest, ConcurrentProducerAndConsumerKeepTheInvariants) {
  ThreadedWriter threaded;
  auto shared = std::make_shared<Bridge>(loop_.get(), StreamLimits{16, 16});
  Bridge& bridge = *shared;
  bridge.Attach(&threaded);

  bool consumer_finished = false;
  std::thread consumer([&] { consumer_finished = threaded.Consume(bridge); });
  // The test thread stands for the loop thread: rounds of one to three events.
  constexpr uint32_t kEvents = 20000;
  uint32_t accepted = 0;
  for (uint32_t i = 1; i <= kEvents; ++i) {
    accepted += bridge.Emit(Attempt(i)) ? 1 : 0;
    if (i % 3 == 0 || i % 7 == 0) EndRound();
  }
  EndRound();
  bridge.Finish(absl::OkStatus());
  consumer.join();

  ASSERT_TRUE(consumer_finished) << "the consumer timed out";
  {
    absl::MutexLock lock(&threaded.mu);
    EXPECT_EQ(threaded.violations, 0);
    EXPECT_TRUE(threaded.finished);
    EXPECT_THAT(threaded.final_status, IsOk());
  }
  uint32_t last = 0, attempts = 0;
  uint64_t reported_drops = 0;
  for (const Event& event : threaded.received) {
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
  EXPECT_EQ(bridge.delivered(), threaded.received.size());
  EXPECT_LE(threaded.max_batch, 16 + 1);  // hard_limit, plus a notice at most
  EXPECT_EQ(bridge.queued(), 0u);
}

// A producer on the loop thread that pauses on !Writable() and resumes from
// NotifyWhenWritable, as the probes do, with hard_limit == high_water: it must
// never stall nor lose an event.
TEST_F(StreamBridgeTest, ConcurrentPausingProducerLosesNothing) {
  ThreadedWriter threaded;
  auto shared = std::make_shared<Bridge>(loop_.get(), StreamLimits{32, 32});
  Bridge& bridge = *shared;
  bridge.Attach(&threaded);

  constexpr uint32_t kEvents = 20000;
  uint32_t next = 1;  // loop thread only
  int pauses = 0;     // loop thread only
  bool refused = false;
  absl::Notification produced;
  std::function<void()> pump = [&] {
    while (next <= kEvents && bridge.Writable()) {
      if (!bridge.Emit(Attempt(next++))) refused = true;
    }
    if (next <= kEvents) {
      ++pauses;
      bridge.NotifyWhenWritable(pump);
      return;
    }
    bridge.Finish(absl::OkStatus());
    produced.Notify();
  };
  bool consumer_finished = false;
  std::thread consumer([&] { consumer_finished = threaded.Consume(bridge); });
  bool produced_all = false;
  {
    RunningLoop running(loop_.get());
    loop_->Post(pump);
    produced_all = produced.WaitForNotificationWithTimeout(kWait);
    consumer.join();
  }  // the loop thread is joined: `next` may be read
  EXPECT_TRUE(produced_all) << "the producer stalled at " << next;
  ASSERT_TRUE(consumer_finished) << "the consumer timed out";
  EXPECT_FALSE(refused);
  EXPECT_EQ(bridge.dropped_total(), 0u);
  {
    absl::MutexLock lock(&threaded.mu);
    EXPECT_EQ(threaded.violations, 0);
    EXPECT_THAT(threaded.final_status, IsOk());
  }
  ASSERT_EQ(threaded.received.size(), kEvents);
  for (uint32_t i = 0; i < kEvents; ++i) {
    ASSERT_EQ(threaded.received[i].attempt().sequence(), i + 1) << "at " << i;
  }
  EXPECT_EQ(bridge.delivered(), kEvents);
  EXPECT_LE(threaded.max_batch, 32);
  std::printf("%d batches (largest %d) and %d pauses for %u events\n", threaded.batches,
              threaded.max_batch, pauses, kEvents);
}

// Custom Event and Batch types ----------------------------------------------

// An Event type that knows which of its objects are alive, so a test can tell
// whether an event handed to StartWrite was destroyed while still in flight
// without dereferencing a dangling pointer. Its size is whatever the test says.
struct TrackedEvent {
  static std::set<const TrackedEvent*>& Live() {
    static auto* live = new std::set<const TrackedEvent*>;
    return *live;
  }
  TrackedEvent() { Live().insert(this); }
  explicit TrackedEvent(int i, size_t size = 1) : id(i), bytes(size) {
    Live().insert(this);
  }
  TrackedEvent(const TrackedEvent& o) : id(o.id), bytes(o.bytes), dropped(o.dropped) {
    Live().insert(this);
  }
  TrackedEvent(TrackedEvent&& o) noexcept
      : id(o.id), bytes(o.bytes), dropped(std::move(o.dropped)) {
    Live().insert(this);
  }
  TrackedEvent& operator=(const TrackedEvent&) = default;
  TrackedEvent& operator=(TrackedEvent&&) = default;
  ~TrackedEvent() { Live().erase(this); }

  v1::Dropped* mutable_dropped() { return &dropped; }
  size_t ByteSizeLong() const { return bytes; }

  int id = 0;  // 0 for a Dropped notice
  size_t bytes = 1;
  v1::Dropped dropped;
};

// The Batch for TrackedEvent: the API StreamBridge uses, plus a liveness
// registry and a count of every change, to tell whether the batch in flight
// was destroyed or touched before OnWriteDone().
class TrackedBatch {
 public:
  static std::set<const TrackedBatch*>& Live() {
    static auto* live = new std::set<const TrackedBatch*>;
    return *live;
  }
  TrackedBatch() { Live().insert(this); }
  TrackedBatch(const TrackedBatch&) = delete;
  TrackedBatch& operator=(const TrackedBatch&) = delete;
  ~TrackedBatch() { Live().erase(this); }

  void Clear() {
    ++changes_;
    events_.clear();
  }
  TrackedEvent* add_events() {
    ++changes_;
    return &events_.emplace_back();
  }
  int events_size() const { return static_cast<int>(events_.size()); }
  const TrackedEvent& events(int i) const { return events_[i]; }
  int changes() const { return changes_; }

 private:
  std::deque<TrackedEvent> events_;
  int changes_ = 0;
};

using TrackedBridge = StreamBridge<TrackedEvent, TrackedBatch>;

// Records each batch as it was at StartWrite, to compare with later.
class TrackingWriter : public TrackedBridge::Writer {
 public:
  struct Write {
    const TrackedBatch* batch;
    int changes;
    std::vector<const TrackedEvent*> events;
    std::vector<int> ids;
    bool more_queued;
  };
  void StartWrite(const TrackedBatch* batch, bool more_queued) override {
    Write write{batch, batch->changes(), {}, {}, more_queued};
    for (int i = 0; i < batch->events_size(); ++i) {
      write.events.push_back(&batch->events(i));
      write.ids.push_back(batch->events(i).id);
    }
    writes.push_back(std::move(write));
  }
  void FinishStream(absl::Status status) override { finishes.push_back(status); }

  // True when the batch of write `i` and its events are all alive and as they
  // were at StartWrite. Dereferences nothing that is not known to be alive.
  ::testing::AssertionResult Intact(size_t i) const {
    const Write& write = writes.at(i);
    if (!TrackedBatch::Live().contains(write.batch)) {
      return ::testing::AssertionFailure() << "batch " << i << " was destroyed";
    }
    if (write.batch->changes() != write.changes) {
      return ::testing::AssertionFailure() << "batch " << i << " was changed";
    }
    for (size_t e = 0; e < write.events.size(); ++e) {
      if (!TrackedEvent::Live().contains(write.events[e])) {
        return ::testing::AssertionFailure() << "event " << e << " was destroyed";
      }
      if (write.events[e]->id != write.ids[e]) {
        return ::testing::AssertionFailure() << "event " << e << " was changed";
      }
    }
    return ::testing::AssertionSuccess();
  }

  std::vector<Write> writes;
  std::vector<absl::Status> finishes;
};

class StreamBridgeContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }
  std::shared_ptr<TrackedBridge> MakeBridge(size_t high_water, size_t hard_limit,
                                            size_t max_bytes = StreamLimits{}.max_bytes) {
    return std::make_shared<TrackedBridge>(
        loop_.get(), StreamLimits{high_water, hard_limit, max_bytes});
  }
  // Emits `event` in a loop round of its own (see StreamBridgeTest::Emit).
  bool Emit(TrackedBridge& bridge, TrackedEvent event) {
    const bool queued = bridge.Emit(std::move(event));
    loop_->RunDeferred();
    return queued;
  }
  std::unique_ptr<EventLoop> loop_;
  TrackingWriter writer_;
};

TEST_F(StreamBridgeContractTest, InFlightBatchIsAliveAndUntouchedUntilOnWriteDone) {
  auto shared = MakeBridge(8, 8);
  TrackedBridge& bridge = *shared;
  bridge.Attach(&writer_);
  ASSERT_TRUE(Emit(bridge, TrackedEvent(1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(2)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(3)));
  ASSERT_EQ(writer_.writes.size(), 1u);
  EXPECT_THAT(writer_.writes[0].ids, ElementsAre(1));
  EXPECT_TRUE(writer_.Intact(0));

  bridge.OnWriteDone(true);
  ASSERT_EQ(writer_.writes.size(), 2u);
  EXPECT_THAT(writer_.writes[1].ids, ElementsAre(2, 3));
  // Producers go on while the batch is in flight, up to a drop; then Finish
  // queues the Dropped notice.
  for (int i = 4; i <= 11; ++i) ASSERT_TRUE(Emit(bridge, TrackedEvent(i)));
  EXPECT_FALSE(Emit(bridge, TrackedEvent(12)));
  bridge.Finish(absl::OkStatus());
  EXPECT_TRUE(writer_.Intact(1));
  bridge.OnWriteDone(true);
  ASSERT_EQ(writer_.writes.size(), 3u);
  EXPECT_THAT(writer_.writes[2].ids, ElementsAre(4, 5, 6, 7, 8, 9, 10, 11, 0));
  ASSERT_TRUE(writer_.Intact(2));
  EXPECT_EQ(writer_.writes[2].events.back()->dropped.count(), 1u);
  EXPECT_TRUE(writer_.finishes.empty());
  bridge.OnWriteDone(true);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_EQ(bridge.delivered(), 12u);
}

// The header's contract (and gRPC's): the batch given to StartWrite stays
// untouched until OnWriteDone(), even when the client cancels meanwhile.
TEST_F(StreamBridgeContractTest, OnCancelMustNotDestroyOrChangeTheBatchInFlight) {
  auto shared = MakeBridge(4, 4);
  TrackedBridge& bridge = *shared;
  bridge.Attach(&writer_);
  ASSERT_TRUE(Emit(bridge, TrackedEvent(1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(2)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(3)));
  bridge.OnWriteDone(true);  // 2 and 3 in flight
  ASSERT_TRUE(Emit(bridge, TrackedEvent(4)));
  ASSERT_EQ(writer_.writes.size(), 2u);

  bridge.OnCancel();  // the write of 2 and 3 has not completed yet
  EXPECT_TRUE(writer_.Intact(1))
      << "the batch passed to StartWrite was destroyed or changed before OnWriteDone";
  EXPECT_EQ(bridge.queued(), 0u);
  EXPECT_TRUE(writer_.finishes.empty());

  bridge.OnWriteDone(false);
  EXPECT_EQ(writer_.writes.size(), 2u);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  EXPECT_EQ(writer_.finishes[0].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(bridge.delivered(), 1u);
}

TEST_F(StreamBridgeContractTest, DetachLeavesTheBatchInFlightAlone) {
  auto shared = MakeBridge(4, 4);
  TrackedBridge& bridge = *shared;
  bridge.Attach(&writer_);
  ASSERT_TRUE(Emit(bridge, TrackedEvent(1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(2)));
  bridge.Detach();
  EXPECT_TRUE(writer_.Intact(0));
  EXPECT_FALSE(Emit(bridge, TrackedEvent(3)));
  bridge.OnWriteDone(true);
  EXPECT_TRUE(writer_.Intact(0));
  EXPECT_EQ(writer_.writes.size(), 1u);
  EXPECT_TRUE(writer_.finishes.empty());
}

// The byte bound at its edge, with event sizes chosen exactly: a batch takes
// events while it holds fewer than kMaxBytesPerMessage bytes.
TEST_F(StreamBridgeContractTest, ByteBoundStopsAtExactlyAMebibyte) {
  constexpr size_t kMax = kMaxBytesPerMessage;
  auto shared = MakeBridge(100, 100, 16 * kMax);  // all of it queued before Attach
  TrackedBridge& bridge = *shared;
  ASSERT_TRUE(Emit(bridge, TrackedEvent(1, kMax / 2)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(2, kMax / 2)));  // exactly kMax: ends the batch
  ASSERT_TRUE(Emit(bridge, TrackedEvent(3, kMax / 2)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(4, kMax / 2 - 1)));  // kMax - 1: room for more
  ASSERT_TRUE(Emit(bridge, TrackedEvent(5, 1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(6, 1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(7, kMax - 1)));  // 1 + kMax - 1: ends it
  ASSERT_TRUE(Emit(bridge, TrackedEvent(8, 0)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(9, 5 * kMax)));  // joins, since 0 < kMax
  ASSERT_TRUE(Emit(bridge, TrackedEvent(10, 1)));
  bridge.Attach(&writer_);
  // One OnWriteDone per write; each starts the next one.
  for (size_t done = 0; done < writer_.writes.size() && done < 20; ++done) {
    bridge.OnWriteDone(true);
  }
  ASSERT_EQ(writer_.writes.size(), 5u);
  EXPECT_THAT(writer_.writes[0].ids, ElementsAre(1, 2));
  EXPECT_THAT(writer_.writes[1].ids, ElementsAre(3, 4, 5));
  EXPECT_THAT(writer_.writes[2].ids, ElementsAre(6, 7));
  EXPECT_THAT(writer_.writes[3].ids, ElementsAre(8, 9));
  EXPECT_THAT(writer_.writes[4].ids, ElementsAre(10));
  std::vector<bool> hints;
  for (const auto& write : writer_.writes) hints.push_back(write.more_queued);
  EXPECT_THAT(hints, ElementsAre(true, true, true, true, false));
  EXPECT_EQ(bridge.delivered(), 10u);
}

TEST_F(StreamBridgeContractTest, CustomEventCarriesTheDroppedNotice) {
  auto shared = MakeBridge(1, 1);
  TrackedBridge& bridge = *shared;
  bridge.Attach(&writer_);
  ASSERT_TRUE(Emit(bridge, TrackedEvent(1)));
  ASSERT_TRUE(Emit(bridge, TrackedEvent(2)));
  EXPECT_FALSE(Emit(bridge, TrackedEvent(3)));
  EXPECT_FALSE(Emit(bridge, TrackedEvent(4)));
  bridge.OnWriteDone(true);  // 2 in flight
  ASSERT_TRUE(Emit(bridge, TrackedEvent(5)));
  bridge.OnWriteDone(true);  // notice and 5
  ASSERT_EQ(writer_.writes.size(), 3u);
  ASSERT_THAT(writer_.writes[2].ids, ElementsAre(0, 5));
  ASSERT_TRUE(writer_.Intact(2));
  const TrackedEvent& notice = *writer_.writes[2].events[0];
  EXPECT_EQ(notice.dropped.count(), 2u);
  EXPECT_EQ(notice.dropped.total(), 2u);
  EXPECT_THAT(notice.dropped.reason(), HasSubstr("too slowly"));
}

// min_write_spacing (issue 21) ---------------------------------------------

class SpacedStreamBridgeTest : public StreamBridgeTest {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }
  std::shared_ptr<Bridge> MakeSpacedBridge(absl::Duration spacing) {
    StreamLimits limits{1000, 1000};
    limits.min_write_spacing = spacing;
    auto bridge = std::make_shared<Bridge>(loop_.get(), limits);
    bridge->Attach(&writer_);
    return bridge;
  }
  // One loop round on the fake clock: timers due, posted and deferred work.
  void Round() { loop_->RunOnce(); }

  testing::FakeClock clock_;
};

TEST_F(SpacedStreamBridgeTest, EventsWithinTheSpacingWaitForItsEndThenGoTogether) {
  auto bridge = MakeSpacedBridge(absl::Milliseconds(5));
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  Round();
  ASSERT_THAT(writer_.Batches(), ElementsAre("a1")) << "the first write goes at once";
  Complete(*bridge);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  Round();
  clock_.Advance(absl::Milliseconds(2));
  ASSERT_TRUE(bridge->Emit(Attempt(3)));
  Round();
  EXPECT_EQ(writer_.written.size(), 1u) << "a write 3 ms after the last";
  clock_.Advance(absl::Milliseconds(2) - absl::Nanoseconds(1));
  Round();
  EXPECT_EQ(writer_.written.size(), 1u) << "a write before the spacing ended";
  clock_.Advance(absl::Nanoseconds(1));
  Round();
  ASSERT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3"));
  Complete(*bridge);
  // After a quiet spell the next event goes at once.
  clock_.Advance(absl::Milliseconds(20));
  ASSERT_TRUE(bridge->Emit(Attempt(4)));
  Round();
  ASSERT_THAT(writer_.Batches(), ElementsAre("a1", "a2 a3", "a4"));
  Complete(*bridge);
  EXPECT_EQ(bridge->delivered(), 4u);
}

TEST_F(SpacedStreamBridgeTest, EventsQueuedDuringAWriteWaitForTheSpacingNotForMore) {
  auto bridge = MakeSpacedBridge(absl::Milliseconds(5));
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  Round();
  ASSERT_TRUE(bridge->Emit(Attempt(2)));
  Round();
  clock_.Advance(absl::Milliseconds(1));
  Complete(*bridge);  // as gRPC's thread would: a2 is too soon, the loop arms a timer
  EXPECT_EQ(writer_.written.size(), 1u);
  Round();  // the posted arming
  clock_.Advance(absl::Milliseconds(4));
  Round();
  ASSERT_THAT(writer_.Batches(), ElementsAre("a1", "a2"));
  Complete(*bridge);
}

TEST_F(SpacedStreamBridgeTest, AWholeMessageAndTheClosingEventsGoAtOnce) {
  auto bridge = MakeSpacedBridge(absl::Milliseconds(5));
  ASSERT_TRUE(bridge->Emit(Attempt(1)));
  Round();
  Complete(*bridge);
  for (uint32_t i = 2; i <= 1 + kMaxEventsPerMessage; ++i) {
    ASSERT_TRUE(bridge->Emit(Attempt(i)));
    Round();
  }
  ASSERT_EQ(writer_.written.size(), 2u) << "a full message waits for no timer";
  EXPECT_EQ(writer_.written.back().events_size(), kMaxEventsPerMessage);
  Complete(*bridge);
  ASSERT_TRUE(bridge->Emit(Attempt(2 + kMaxEventsPerMessage)));
  Round();
  EXPECT_EQ(writer_.written.size(), 2u);
  bridge->Finish(absl::OkStatus(), {Attempt(3 + kMaxEventsPerMessage)});
  ASSERT_EQ(writer_.written.size(), 3u) << "Finish leaves nothing to a timer";
  EXPECT_EQ(writer_.written.back().events_size(), 2);
  Complete(*bridge);
  ASSERT_EQ(writer_.finishes.size(), 1u);
  ExpectAttemptsInOrder(3 + kMaxEventsPerMessage);
  clock_.Advance(absl::Milliseconds(10));
  Round();  // the spacing timer, after the end: no writer call
  EXPECT_EQ(writer_.written.size(), 3u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
