// UdpEchoProbe on a fake clock with a scripted UDP socket: echoes, timeouts,
// refusals mid-run, duplicates, reordering and corruption, a slow client and
// the end of the stream, without root or a network.
#include "agent/probes/udp_echo_probe.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "agent/net/resolver.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/fake_sockets.h"
#include "tests/test_support/recording_sink.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::FakeDatagramSocket;
using testing::FakeSocketOpener;
using testing::RecordingSink;
using testing::RunFor;
using testing::SentPacket;

class UdpEchoProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    plan_.host = "198.18.0.1";  // never sent to: the socket is a fake
    plan_.port = 7;
    plan_.count = 3;
    plan_.interval = absl::Milliseconds(100);
    plan_.timeout = absl::Seconds(1);
    plan_.size = 64;
  }
  void StartProbe() {
    probe_ = std::make_unique<UdpEchoProbe>(plan_, loop_.get(), work_, sink_,
                                            [this] { ++done_; });
    probe_->Start();
    loop_->RunOnce();
  }
  FakeDatagramSocket& socket() { return *opener_.udp.at(0); }
  // Echoes datagram n (1-based) after delays[n-1] (none: no echo), `copies` times.
  void EchoAfter(std::vector<absl::Duration> delays, int copies = 1) {
    opener_.on_udp_send = [this, delays, copies,
                           n = size_t{0}](const SentPacket& sent) mutable {
      const size_t i = n++;
      if (i < delays.size()) {
        for (int c = 0; c < copies; ++c) {
          loop_->RunAfter(delays[i] + absl::Microseconds(c), [this, bytes = sent.bytes] {
            socket().Deliver(bytes, clock_.Wall());
          });
        }
      }
      return 0;
    };
  }
  std::vector<v1::UdpEchoReply> Replies() const {
    std::vector<v1::UdpEchoReply> out;
    for (const auto& event : sink_->events()) {
      if (event.has_reply()) out.push_back(event.reply());
    }
    return out;
  }
  v1::TargetSummary Summary() const {
    for (const auto& event : sink_->events()) {
      if (event.has_summary()) return event.summary();
    }
    ADD_FAILURE() << "no summary";
    return {};
  }

  FakeClock clock_;
  FakeSocketOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  UdpEchoPlan plan_;
  std::shared_ptr<RecordingSink<v1::UdpEchoEvent>> sink_ =
      std::make_shared<RecordingSink<v1::UdpEchoEvent>>();
  std::unique_ptr<UdpEchoProbe> probe_;
  int done_ = 0;
};

TEST_F(UdpEchoProbeTest, EchoesGiveRttsAndASummary) {
  EchoAfter({absl::Milliseconds(2), absl::Milliseconds(3), absl::Milliseconds(4)});
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  ASSERT_EQ(done_, 1);
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(replies[i].sequence(), static_cast<uint32_t>(i + 1));
    EXPECT_EQ(replies[i].result().outcome(), v1::OUTCOME_OK);
    EXPECT_EQ(replies[i].rtt().nanos(), (i + 2) * 1'000'000);
    EXPECT_EQ(replies[i].bytes(), 64u);
  }
  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(Summary().sent(), 3u);
  // The fake socket is gone with the probe's Release(): not read here.
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(UdpEchoProbeTest, NoEchoTimesOutAfterExactlyTheTimeout) {
  plan_.count = 1;
  StartProbe();
  RunFor(*loop_, clock_, plan_.timeout - absl::Nanoseconds(1));
  EXPECT_TRUE(Replies().empty());
  RunFor(*loop_, clock_, absl::Nanoseconds(1));
  ASSERT_EQ(Replies().size(), 1u);
  EXPECT_EQ(Replies()[0].result().outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(done_, 1);
}

TEST_F(UdpEchoProbeTest, ARefusalMidRunIsAResultAndTheRunGoesOn) {
  plan_.count = 4;
  int n = 0;
  opener_.on_udp_send = [this, &n](const SentPacket& sent) {
    if (++n == 2) return ECONNREFUSED;  // a pending ICMP port unreachable
    loop_->RunAfter(absl::Milliseconds(1), [this, bytes = sent.bytes] {
      socket().Deliver(bytes, clock_.Wall());
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[1].result().outcome(), v1::OUTCOME_REFUSED);
  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(Summary().sent(), 4u);
}

TEST_F(UdpEchoProbeTest, DuplicatesReorderingAndCorruptionAreMarked) {
  plan_.count = 2;
  int n = 0;
  opener_.on_udp_send = [this, &n](const SentPacket& sent) {
    ++n;
    if (n == 1) {
      // Echoed after the second, twice.
      loop_->RunAfter(absl::Milliseconds(150), [this, bytes = sent.bytes] {
        socket().Deliver(bytes, clock_.Wall());
        socket().Deliver(bytes, clock_.Wall());
      });
    } else {
      std::vector<uint8_t> corrupted = sent.bytes;
      corrupted.back() ^= 0xff;
      loop_->RunAfter(absl::Milliseconds(1),
                      [this, corrupted] { socket().Deliver(corrupted, clock_.Wall()); });
    }
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].sequence(), 2u);
  EXPECT_TRUE(replies[0].corrupted());
  EXPECT_EQ(replies[1].sequence(), 1u);
  EXPECT_TRUE(replies[1].out_of_order());
  EXPECT_TRUE(replies[2].duplicate());
  const v1::TargetSummary summary = Summary();
  EXPECT_EQ(summary.duplicates(), 1u);
  EXPECT_EQ(summary.reordered(), 1u);
  EXPECT_EQ(summary.corrupted(), 1u);
}

TEST_F(UdpEchoProbeTest, ASlowClientPausesTheSenderAndNothingIsDropped) {
  plan_.count = 30;
  plan_.interval = absl::Milliseconds(1);
  std::vector<absl::Duration> delays(30, absl::Microseconds(200));
  EchoAfter(delays);
  sink_->set_capacity(5);
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_LT(socket().sent.size(), 30u);
  EXPECT_EQ(done_, 0);
  for (int round = 0; round < 40 && done_ == 0; ++round) {
    sink_->Drain();
    RunFor(*loop_, clock_, absl::Milliseconds(50));
  }
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Replies().size(), 30u);
  EXPECT_EQ(sink_->dropped(), 0u);
}

TEST_F(UdpEchoProbeTest, ShutdownWithTheQueueFullStillDeliversTheEndAndSummary) {
  plan_.count = 0;
  plan_.interval = absl::Milliseconds(1);
  std::vector<absl::Duration> delays(1000, absl::Microseconds(100));
  EchoAfter(delays);
  sink_->set_capacity(3, /*hard_limit=*/3);
  StartProbe();
  RunFor(*loop_, clock_, absl::Milliseconds(200));
  probe_->Stop(StopReason::kAgentShutdown);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok());
  ASSERT_EQ(sink_->closing(), 2u);
  const auto& events = sink_->events();
  EXPECT_EQ(events[events.size() - 2].end().reason(),
            v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  EXPECT_TRUE(events.back().has_summary());
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(done_, 1);
}

TEST_F(UdpEchoProbeTest, CancelEmitsNothingMore) {
  plan_.count = 0;
  StartProbe();
  RunFor(*loop_, clock_, absl::Milliseconds(250));
  const size_t before = sink_->events().size();
  probe_->Stop(StopReason::kClientCancelled);
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink_->events().size(), before);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
