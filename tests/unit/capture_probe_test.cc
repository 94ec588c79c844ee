#include "agent/probes/capture_probe.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "agent/net/socket_opener.h"
#include "agent/net/unique_fd.h"
#include "common/packet_records.h"
#include "tests/test_support/drain_pool.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/recording_sink.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::RecordingSink;
using testing::RunFor;

// What a test sees of the fake capture, also after the probe closed it.
struct PcapState {
  bool open = false;
  std::string installed_filter;
  uint64_t received = 0;  // as pcap_stats' ps_recv
};

// A capture fed by the test: an eventfd as its fd makes the loop see it
// readable while packets are queued.
class FakePcap final : public PcapHandle {
 public:
  explicit FakePcap(std::shared_ptr<PcapState> state)
      : state_(std::move(state)), event_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    state_->open = true;
  }
  ~FakePcap() override { state_->open = false; }

  void Arrive(std::vector<uint8_t> packet) {
    queued_.push_back(std::move(packet));
    ++state_->received;
    const uint64_t one = 1;
    ASSERT_EQ(write(event_.get(), &one, sizeof(one)), 8);
  }
  // Counted by the kernel but still in a block it has not handed over
  // (TPACKET_V3 before the block's timeout): not readable until HandOver.
  void ArriveHeld(std::vector<uint8_t> packet) {
    held_.push_back(std::move(packet));
    ++state_->received;
  }
  void HandOver() {
    for (auto& packet : held_) queued_.push_back(std::move(packet));
    held_.clear();
    const uint64_t one = 1;
    ASSERT_EQ(write(event_.get(), &one, sizeof(one)), 8);
  }

  absl::StatusOr<Filter> Compile(const std::string& filter) override {
    if (filter == "bad") return absl::InvalidArgumentError("syntax error");
    compiled_ = filter;
    return Filter();
  }
  absl::Status Install(const Filter&) override {
    state_->installed_filter = compiled_;
    return absl::OkStatus();
  }
  int fd() const override { return event_.get(); }
  int link_type() const override { return DLT_EN10MB; }
  std::string link_type_name() const override { return "EN10MB"; }
  int snaplen() const override { return 262144; }
  absl::StatusOr<int> Dispatch(int max,
                               const std::function<void(const Frame&)>& each) override {
    int n = 0;
    for (; n < max && !queued_.empty(); ++n) {
      const std::vector<uint8_t> packet = std::move(queued_.front());
      queued_.pop_front();
      Frame frame;
      frame.seconds = 1'800'000'000 + n;
      frame.nanos = 5;
      frame.original_length = static_cast<uint32_t>(packet.size());
      frame.data = packet;
      each(frame);
    }
    if (queued_.empty()) {
      uint64_t count = 0;
      (void)!read(event_.get(), &count, sizeof(count));
    }
    return n;
  }
  absl::StatusOr<Stats> ReadStats() override { return Stats{state_->received, 0, 0}; }

 private:
  std::shared_ptr<PcapState> state_;
  UniqueFd event_;
  std::deque<std::vector<uint8_t>> queued_;
  std::vector<std::vector<uint8_t>> held_;
  std::string compiled_;
};

class FakeOpener final : public SocketOpener {
 public:
  absl::StatusOr<std::unique_ptr<PcapHandle>> OpenPcap(
      const PcapHandle::Options& options) override {
    options_ = options;
    auto pcap = std::make_unique<FakePcap>(state_);
    last_ = pcap.get();
    return pcap;
  }
  std::shared_ptr<PcapState> state_ = std::make_shared<PcapState>();
  FakePcap* last_ = nullptr;  // valid while state_->open
  PcapHandle::Options options_;
};

using Sink = RecordingSink<v1::CaptureEvent>;

bool IsPackets(const v1::CaptureEvent& e) { return e.has_packets(); }
bool IsStats(const v1::CaptureEvent& e) { return e.has_stats(); }
bool IsEnd(const v1::CaptureEvent& e) { return e.has_end(); }

// Every test runs twice: packets as Packet messages (the default) and as
// packed records (PacketBatch.records), which must carry the same packets.
class CaptureProbeTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    plan_.packed_records = GetParam();
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    plan_.interface = "eth0";
    plan_.max_packets = 1000000;
    plan_.max_bytes = 1 << 30;
    plan_.duration = absl::Seconds(60);
  }

  void StartProbe() {
    probe_ = std::make_unique<CaptureProbe>(plan_, loop_.get(), work_, sink_,
                                            [this] { ++done_; });
    probe_->Start();
    loop_->RunOnce();
  }
  // Packets of `size` bytes into the ring.
  void Arrive(int count, size_t size = 60) {
    ASSERT_TRUE(opener_.state_->open);
    for (int i = 0; i < count; ++i) {
      opener_.last_->Arrive(std::vector<uint8_t>(size, static_cast<uint8_t>(i)));
    }
  }
  void ArriveHeld(int count, size_t size = 60) {
    ASSERT_TRUE(opener_.state_->open);
    for (int i = 0; i < count; ++i) {
      opener_.last_->ArriveHeld(std::vector<uint8_t>(size, static_cast<uint8_t>(i)));
    }
  }
  // Every job queued on the worker so far has run (and posted its result).
  void DrainWorker() { DrainPool(work_, BlockingPool::Queue::kDiagnostics); }
  // Event i's packets as Packet messages, whichever form they came in
  // (only the form the plan asked for).
  v1::PacketBatch Packets(size_t i) const {
    const v1::PacketBatch& batch = sink_->events().at(i).packets();
    if (!plan_.packed_records) {
      EXPECT_TRUE(batch.records().empty());
      return batch;
    }
    EXPECT_EQ(batch.packets_size(), 0);
    v1::PacketBatch out;
    EXPECT_TRUE(PacketRecordsToPackets(batch.records(), &out).ok());
    return out;
  }
  size_t PacketsDelivered() const {
    size_t n = 0;
    for (size_t i = 0; i < sink_->events().size(); ++i)
      n += sink_->events()[i].has_packets() ? Packets(i).packets_size() : 0;
    return n;
  }
  // The closing events, which the probe hands to Finish: [stats, end].
  void ExpectClosing(v1::StreamEnd::Reason reason, const std::string& detail) {
    ASSERT_TRUE(sink_->finished());
    EXPECT_TRUE(sink_->status().ok()) << sink_->status();
    EXPECT_EQ(done_, 1);
    EXPECT_EQ(sink_->finishes(), 1);
    ASSERT_EQ(sink_->closing(), 2u);
    const auto& events = sink_->events();
    ASSERT_GE(events.size(), 2u);
    ASSERT_TRUE(events[events.size() - 2].has_stats());
    ASSERT_TRUE(events.back().has_end());
    EXPECT_EQ(events.back().end().reason(), reason);
    EXPECT_EQ(events.back().end().detail(), detail);
    EXPECT_EQ(events.back().end().time().seconds(), absl::ToUnixSeconds(clock_.Wall()));
    EXPECT_EQ(sink_->Count(IsEnd), 1u);
  }
  const v1::CaptureStats& FinalStats() const {
    return sink_->events()[sink_->events().size() - 2].stats();
  }
  void ExpectReleased() {
    EXPECT_FALSE(opener_.state_->open);
    EXPECT_EQ(loop_->watched_fd_count(), 0u);
    EXPECT_EQ(loop_->pending_timer_count(), 0u);
  }

  FakeClock clock_;
  FakeOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  CapturePlan plan_;
  std::shared_ptr<Sink> sink_ = std::make_shared<Sink>();
  std::unique_ptr<CaptureProbe> probe_;
  int done_ = 0;
};

TEST_P(CaptureProbeTest, HeaderThenPacketsInBatches) {
  StartProbe();
  EXPECT_EQ(opener_.options_.interface, "eth0");
  EXPECT_EQ(opener_.options_.buffer_bytes, CaptureProbe::kRingBytes);
  ASSERT_EQ(sink_->events().size(), 1u);
  ASSERT_TRUE(sink_->events()[0].has_header());
  EXPECT_EQ(sink_->events()[0].header().link_type_name(), "EN10MB");
  EXPECT_EQ(sink_->events()[0].header().interface(), "eth0");

  Arrive(3);
  loop_->RunOnce();
  EXPECT_EQ(sink_->Count(IsPackets), 0u) << "a batch waits for more packets";
  RunFor(*loop_, clock_, CaptureProbe::kBatchDelay - absl::Milliseconds(1));
  EXPECT_EQ(sink_->Count(IsPackets), 0u);
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ASSERT_EQ(sink_->Count(IsPackets), 1u);
  const v1::PacketBatch batch = Packets(1);
  ASSERT_EQ(batch.packets_size(), 3);
  EXPECT_EQ(batch.packets(0).captured_length(), 60u);
  EXPECT_EQ(batch.packets(0).original_length(), 60u);
  EXPECT_EQ(batch.packets(1).data(), std::string(60, '\x01'));
  EXPECT_EQ(batch.packets(2).time().seconds(), 1'800'000'002);
  EXPECT_EQ(batch.packets(2).time().nanos(), 5);

  // One wake-up's worth beyond a batch: a full batch at once, then the rest
  // after the delay.
  Arrive(CaptureProbe::kMaxBatchPackets + 10);
  loop_->RunOnce();
  ASSERT_EQ(sink_->Count(IsPackets), 2u);
  RunFor(*loop_, clock_, CaptureProbe::kBatchDelay);
  ASSERT_EQ(sink_->Count(IsPackets), 3u);
  EXPECT_EQ(Packets(2).packets_size(), CaptureProbe::kMaxBatchPackets);
  EXPECT_EQ(Packets(3).packets_size(), 10);

  // Stats once a second while packets flow, not when nothing changed.
  RunFor(*loop_, clock_, CaptureProbe::kStatsInterval);
  ASSERT_EQ(sink_->Count(IsStats), 1u);
  EXPECT_EQ(sink_->events().back().stats().delivered(), PacketsDelivered());
  EXPECT_EQ(sink_->events().back().stats().received(), PacketsDelivered());
  RunFor(*loop_, clock_, 3 * CaptureProbe::kStatsInterval);
  EXPECT_EQ(sink_->Count(IsStats), 1u);
  EXPECT_FALSE(sink_->finished());
}

TEST_P(CaptureProbeTest, StatsFollowThePacketsTheyCount) {
  StartProbe();
  RunFor(*loop_, clock_, CaptureProbe::kStatsInterval - absl::Milliseconds(5));
  Arrive(4);
  loop_->RunOnce();
  EXPECT_EQ(sink_->Count(IsPackets), 0u);
  RunFor(*loop_, clock_, absl::Milliseconds(5));
  ASSERT_EQ(sink_->events().size(), 3u);
  EXPECT_EQ(Packets(1).packets_size(), 4);
  ASSERT_TRUE(sink_->events()[2].has_stats());
  EXPECT_EQ(sink_->events()[2].stats().delivered(), 4u);
}

TEST_P(CaptureProbeTest, MaxPacketsEndsItWithStatsThenLimit) {
  plan_.max_packets = 5;
  StartProbe();
  Arrive(8);
  loop_->RunOnce();
  EXPECT_EQ(PacketsDelivered(), 5u);
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "max_packets 5 reached");
  EXPECT_EQ(FinalStats().delivered(), 5u);
  EXPECT_EQ(FinalStats().delivered_bytes(), 300u);
  EXPECT_EQ(FinalStats().received(), 8u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, MaxBytesEndsItBeforeThePacketThatWouldExceedIt) {
  plan_.max_bytes = 250;
  StartProbe();
  Arrive(4, 100);
  loop_->RunOnce();
  EXPECT_EQ(PacketsDelivered(), 2u);
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "max_bytes 250 reached");
  EXPECT_EQ(FinalStats().delivered_bytes(), 200u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, DurationEndsItOnTheClock) {
  plan_.duration = absl::Seconds(3);
  StartProbe();
  Arrive(2);
  RunFor(*loop_, clock_, absl::Seconds(3) - absl::Milliseconds(1));
  EXPECT_FALSE(sink_->finished());
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "duration 3s reached");
  EXPECT_EQ(FinalStats().delivered(), 2u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, AtTheDurationsEndPacketsTheKernelCountedAreStillDelivered) {
  plan_.duration = absl::Seconds(3);
  StartProbe();
  Arrive(2);
  ArriveHeld(3);
  RunFor(*loop_, clock_, absl::Seconds(3));
  EXPECT_FALSE(sink_->finished()) << "waits for the block the kernel holds";
  opener_.last_->HandOver();
  Arrive(4);  // after the final pcap_stats: not counted, not taken
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "duration 3s reached");
  EXPECT_EQ(FinalStats().received(), 5u);
  EXPECT_EQ(FinalStats().delivered(), 5u);
  EXPECT_EQ(FinalStats().agent_dropped(), 0u);
  ExpectReleased();
}

// What the kernel counted but libpcap never hands over (on lo the outgoing
// copy of each looped packet, which the kernel counts twice) is waited for
// kDrainWait and then not claimed as a drop of the agent's.
TEST_P(CaptureProbeTest, PacketsNeverHandedOverEndTheDrainWithoutBeingCountedAsDrops) {
  plan_.duration = absl::Seconds(3);
  StartProbe();
  Arrive(2);
  ArriveHeld(3);
  RunFor(*loop_, clock_, absl::Seconds(3));
  RunFor(*loop_, clock_, CaptureProbe::kDrainWait - absl::Milliseconds(1));
  EXPECT_FALSE(sink_->finished());
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "duration 3s reached");
  EXPECT_EQ(FinalStats().received(), 5u);
  EXPECT_EQ(FinalStats().delivered(), 2u);
  EXPECT_EQ(FinalStats().agent_dropped(), 0u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, AFullSinkDropsAndCountsPacketsButNotTheClosingEvents) {
  plan_.duration = absl::Seconds(2);
  StartProbe();
  // The header and one batch fill the stream; captures drop beyond it.
  sink_->set_capacity(2, 2 + CaptureProbe::MaxEventsBeyondHighWater(plan_));
  Arrive(3);
  loop_->RunOnce();
  RunFor(*loop_, clock_, CaptureProbe::kBatchDelay);
  EXPECT_EQ(PacketsDelivered(), 3u);
  Arrive(4);
  loop_->RunOnce();
  Arrive(1);
  RunFor(*loop_, clock_, absl::Seconds(2));
  EXPECT_EQ(PacketsDelivered(), 3u);
  EXPECT_EQ(sink_->Count(IsStats), 1u) << "no periodic stats into a full stream";
  EXPECT_EQ(sink_->dropped(), 0u) << "the probe itself drops, counting";
  ExpectClosing(v1::StreamEnd::REASON_LIMIT, "duration 2s reached");
  EXPECT_EQ(FinalStats().agent_dropped(), 5u);
  EXPECT_EQ(FinalStats().delivered(), 3u);
  EXPECT_EQ(FinalStats().received(), 8u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, ShutdownDeliversWhatTheRingHoldsThenStatsAndEnd) {
  StartProbe();
  Arrive(2);  // not yet read by the loop
  probe_->Stop(StopReason::kAgentShutdown);
  ASSERT_EQ(sink_->events().size(), 4u);
  EXPECT_EQ(Packets(1).packets_size(), 2);
  ExpectClosing(v1::StreamEnd::REASON_AGENT_SHUTDOWN,
                "the agent is shutting down; the capture was stopped");
  EXPECT_EQ(FinalStats().delivered(), 2u);
  ExpectReleased();
  probe_->Stop(StopReason::kAgentShutdown);
  EXPECT_EQ(done_, 1);
}

TEST_P(CaptureProbeTest, ShutdownWithTheSinkFullStillDeliversStatsAndEnd) {
  StartProbe();
  sink_->set_capacity(1, 1 + CaptureProbe::MaxEventsBeyondHighWater(plan_));
  Arrive(3);
  loop_->RunOnce();
  Arrive(2);
  probe_->Stop(StopReason::kAgentShutdown);
  EXPECT_EQ(PacketsDelivered(), 0u);
  ExpectClosing(v1::StreamEnd::REASON_AGENT_SHUTDOWN,
                "the agent is shutting down; the capture was stopped");
  EXPECT_EQ(FinalStats().agent_dropped(), 5u);
  ExpectReleased();
}

TEST_P(CaptureProbeTest, CancelEmitsNothingMoreAndClosesTheHandle) {
  StartProbe();
  Arrive(2);
  loop_->RunOnce();
  const size_t before = sink_->events().size();
  Arrive(2);
  probe_->Stop(StopReason::kClientCancelled);
  EXPECT_EQ(sink_->events().size(), before);
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink_->closing(), 0u);
  EXPECT_EQ(done_, 1);
  ExpectReleased();
  RunFor(*loop_, clock_, absl::Seconds(5));
  EXPECT_EQ(sink_->events().size(), before);
}

TEST_P(CaptureProbeTest, TheFilterIsCompiledOnTheWorkerThenInstalled) {
  plan_.filter = "udp";
  plan_.effective_filter = "udp and not port 7431";
  // The worker's one thread waits here, so the compile cannot finish (and
  // post its result) before the check below.
  absl::Notification hold;
  auto holder = std::make_shared<char>();
  work_.Submit(BlockingPool::Queue::kDiagnostics, holder,
               [&hold] { hold.WaitForNotification(); });
  StartProbe();
  EXPECT_TRUE(sink_->events().empty()) << "no header before the filter is in";
  hold.Notify();
  DrainWorker();
  loop_->RunOnce();
  EXPECT_EQ(opener_.state_->installed_filter, "udp and not port 7431");
  ASSERT_EQ(sink_->events().size(), 1u);
  EXPECT_EQ(sink_->events()[0].header().effective_filter(), "udp and not port 7431");
}

TEST_P(CaptureProbeTest, AFilterThatDoesNotCompileFailsTheRequestNamingIt) {
  plan_.filter = "bad";
  plan_.effective_filter = "bad";
  StartProbe();
  DrainWorker();
  loop_->RunOnce();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_->status().message(), "filter: 'bad' does not compile: syntax error");
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_EQ(done_, 1);
  ExpectReleased();
}

INSTANTIATE_TEST_SUITE_P(Forms, CaptureProbeTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PackedRecords" : "Messages";
                         });

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
