// PingProbe on a fake clock with scripted ICMP sockets: the probe's logic
// (timeouts, late, duplicate and reordered replies, errors mid-run, pausing
// for a slow client, the end of the stream) without root or a network.
#include "agent/probes/ping_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/net/resolver.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/fake_sockets.h"
#include "tests/test_support/recording_sink.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::FakeIcmpSocket;
using testing::FakeSocketOpener;
using testing::RecordingSink;
using testing::RunFor;
using testing::SentPacket;

constexpr char kTarget[] = "198.18.0.1";  // never sent to: the sockets are fakes

SocketAddress TargetAddress() { return *SocketAddress::FromLiteral(kTarget, 0); }

// An echo reply to `request` as a datagram ICMP socket reads it.
std::vector<uint8_t> ReplyTo(const SentPacket& request) {
  std::vector<uint8_t> reply = request.bytes;
  reply[0] = 0;  // echo reply
  return reply;
}

class PingProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    plan_.targets = {kTarget};
    plan_.count = 3;
    plan_.interval = absl::Milliseconds(100);
    plan_.timeout = absl::Seconds(1);
  }

  void StartProbe() {
    probe_ = std::make_unique<PingProbe>(plan_, loop_.get(), work_, sink_,
                                         [this] { ++done_; });
    probe_->Start();
    loop_->RunOnce();
  }
  FakeIcmpSocket& socket() { return *opener_.icmp.at(0); }
  // Answers each request `delay` after it was sent (a responder).
  void AnswerAfter(absl::Duration delay) {
    opener_.on_icmp_send = [this, delay](const SentPacket& request) {
      loop_->RunAfter(delay, [this, reply = ReplyTo(request)] {
        socket().Deliver(reply, TargetAddress(), clock_.Wall());
      });
      return 0;
    };
  }
  std::vector<v1::PingReply> Replies() const {
    std::vector<v1::PingReply> out;
    for (const auto& event : sink_->events()) {
      if (event.has_reply()) out.push_back(event.reply());
    }
    return out;
  }
  const v1::TargetSummary& Summary() const {
    for (const auto& event : sink_->events()) {
      if (event.has_summary()) return event.summary();
    }
    ADD_FAILURE() << "no summary";
    static const v1::TargetSummary none;
    return none;
  }

  FakeClock clock_;
  FakeSocketOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  PingPlan plan_;
  std::shared_ptr<RecordingSink<v1::PingEvent>> sink_ =
      std::make_shared<RecordingSink<v1::PingEvent>>();
  std::unique_ptr<PingProbe> probe_;
  int done_ = 0;
};

TEST_F(PingProbeTest, RepliesGiveRttsOnTheProbesClockAndASummary) {
  AnswerAfter(absl::Milliseconds(5));
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  ASSERT_EQ(done_, 1);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 3u);
  for (size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(replies[i].sequence(), i + 1);
    EXPECT_EQ(replies[i].result().outcome(), v1::OUTCOME_OK);
    EXPECT_EQ(replies[i].rtt().nanos(), 5'000'000);
  }
  EXPECT_EQ(Summary().sent(), 3u);
  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(sink_->closing(), 1u) << "the summary came with the end";
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

TEST_F(PingProbeTest, RepliesTheKernelDroppedAreReportedInTheSummary) {
  // The socket's SO_RXQ_OVFL count comes with each reply: 0, then 5 (the
  // socket's total, not an increment); the second request's reply is lost.
  int replies = 0;
  opener_.on_icmp_send = [&](const SentPacket& request) {
    const int n = replies++;
    if (n == 1) return 0;
    loop_->RunAfter(absl::Milliseconds(5), [this, n, reply = ReplyTo(request)] {
      socket().Deliver(reply, TargetAddress(), clock_.Wall(), n == 0 ? 0u : 5u);
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Summary().received(), 2u);
  EXPECT_EQ(Summary().kernel_drops(), 5u);
}

TEST_F(PingProbeTest, NoReplyTimesOutAfterExactlyTheTimeout) {
  plan_.count = 1;
  StartProbe();
  RunFor(*loop_, clock_, plan_.timeout - absl::Nanoseconds(1));
  EXPECT_TRUE(Replies().empty());
  RunFor(*loop_, clock_, absl::Nanoseconds(1));
  ASSERT_EQ(Replies().size(), 1u);
  EXPECT_EQ(Replies()[0].result().outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(Summary().received(), 0u);
  EXPECT_EQ(done_, 1);
}

TEST_F(PingProbeTest, AReplyAfterTheTimeoutIsCountedLateNotAnswered) {
  // The first request is answered at 250 ms, after its 200 ms timeout, while
  // the second (sent at 100 ms, never answered) keeps the probe running.
  plan_.count = 2;
  plan_.timeout = absl::Milliseconds(200);
  int request = 0;
  opener_.on_icmp_send = [this, &request](const SentPacket& sent) {
    if (++request == 1) {
      loop_->RunAfter(absl::Milliseconds(250), [this, reply = ReplyTo(sent)] {
        socket().Deliver(reply, TargetAddress(), clock_.Wall());
      });
    }
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].result().outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(replies[1].result().outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(Summary().received(), 0u);
  EXPECT_EQ(Summary().late(), 1u);
}

TEST_F(PingProbeTest, DuplicatesAndReorderingWhileRequestsAreInFlight) {
  plan_.count = 3;
  plan_.interval = absl::Milliseconds(10);
  int request = 0;
  opener_.on_icmp_send = [this, &request](const SentPacket& sent) {
    ++request;
    // The first is answered last (after the second), and twice.
    const absl::Duration delay =
        request == 1 ? absl::Milliseconds(30) : absl::Milliseconds(5);
    const int copies = request == 1 ? 2 : 1;
    loop_->RunAfter(delay, [this, copies, reply = ReplyTo(sent)] {
      for (int i = 0; i < copies; ++i) {
        socket().Deliver(reply, TargetAddress(), clock_.Wall());
      }
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].sequence(), 2u);
  EXPECT_EQ(replies[1].sequence(), 3u);
  EXPECT_EQ(replies[2].sequence(), 1u);
  EXPECT_TRUE(replies[2].out_of_order());
  EXPECT_EQ(replies[3].sequence(), 1u);
  EXPECT_TRUE(replies[3].duplicate());
  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(Summary().duplicates(), 1u);
  EXPECT_EQ(Summary().reordered(), 1u);
}

TEST_F(PingProbeTest, EpermMidRunIsAResultAndTheRunGoesOn) {
  plan_.count = 5;
  int request = 0;
  opener_.on_icmp_send = [this, &request](const SentPacket& sent) {
    if (++request == 3) return EPERM;  // a firewall rule, for this one only
    loop_->RunAfter(absl::Milliseconds(1), [this, reply = ReplyTo(sent)] {
      socket().Deliver(reply, TargetAddress(), clock_.Wall());
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  EXPECT_TRUE(sink_->status().ok());
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[2].sequence(), 3u);
  EXPECT_EQ(replies[2].result().outcome(), v1::OUTCOME_PROHIBITED);
  EXPECT_EQ(Summary().sent(), 5u);
  EXPECT_EQ(Summary().received(), 4u);
}

TEST_F(PingProbeTest, TheLastRequestFailingAtOnceStillEndsTheRun) {
  plan_.count = 2;
  opener_.on_icmp_send = [](const SentPacket&) { return ENETUNREACH; };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(Replies().size(), 2u);
}

TEST_F(PingProbeTest, ASlowClientPausesTheProbeAndNothingIsDropped) {
  plan_.count = 20;
  plan_.interval = absl::Milliseconds(1);
  AnswerAfter(absl::Microseconds(100));
  sink_->set_capacity(4);
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  const size_t sent_while_full = socket().sent.size();
  EXPECT_LT(sent_while_full, 20u) << "paused at the high-water mark";
  EXPECT_TRUE(sink_->resume_pending());
  EXPECT_EQ(done_, 0);
  for (int round = 0; round < 40 && done_ == 0; ++round) {
    sink_->Drain();
    RunFor(*loop_, clock_, absl::Milliseconds(50));
  }
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(Replies().size(), 20u);
  EXPECT_EQ(sink_->dropped(), 0u);
  EXPECT_EQ(Summary().received(), 20u);
}

TEST_F(PingProbeTest, ShutdownWithTheQueueFullStillDeliversTheEndAndSummaries) {
  plan_.targets = {kTarget, "198.18.0.2", "198.18.0.3"};
  plan_.count = 0;  // until stopped
  AnswerAfter(absl::Milliseconds(1));
  sink_->set_capacity(2, /*hard_limit=*/2);
  StartProbe();
  RunFor(*loop_, clock_, absl::Milliseconds(500));
  probe_->Stop(StopReason::kAgentShutdown);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok());
  EXPECT_EQ(done_, 1);
  ASSERT_EQ(sink_->closing(), 4u);
  const auto& events = sink_->events();
  const auto& end = events[events.size() - 4];
  ASSERT_TRUE(end.has_end());
  EXPECT_EQ(end.end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  for (size_t i = events.size() - 3; i < events.size(); ++i) {
    EXPECT_TRUE(events[i].has_summary());
  }
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

TEST_F(PingProbeTest, CancelEmitsNothingMoreAndReleasesTheSocket) {
  plan_.count = 0;
  AnswerAfter(absl::Milliseconds(1));
  StartProbe();
  RunFor(*loop_, clock_, absl::Milliseconds(350));
  const size_t before = sink_->events().size();
  probe_->Stop(StopReason::kClientCancelled);
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink_->events().size(), before);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  probe_->Stop(StopReason::kAgentShutdown);  // idempotent
  EXPECT_EQ(sink_->finishes(), 1);
  EXPECT_EQ(done_, 1);
}

TEST_F(PingProbeTest, ASocketThatCannotBeOpenedFailsTheRequest) {
  opener_.open_status = absl::FailedPreconditionError("no CAP_NET_RAW");
  StartProbe();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(done_, 1);
}

TEST_F(PingProbeTest, TheGlobalRateIsHeldOverManyTargetsWithLateWakeUps) {
  plan_.targets.clear();
  for (int i = 1; i <= 200; ++i) plan_.targets.push_back(absl::StrCat("198.18.1.", i));
  plan_.count = 0;
  plan_.interval = absl::Milliseconds(10);  // 20,000/s asked of the targets
  plan_.rate = 10000;                       // the global bound decides
  plan_.timeout = absl::Milliseconds(50);
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1), testing::UpTo(absl::Milliseconds(2)));
  EXPECT_NEAR(static_cast<double>(socket().sent.size()), 10000, 100);
  probe_->Stop(StopReason::kClientCancelled);
}

// Issue 21: the timeouts are one queue per socket and one timer, not a timer
// per request. 100 targets, every tenth silent, others answering out of send
// order (the later ones sooner): every answered request is OK, every silent
// one times out exactly once, and no timer is left.
TEST_F(PingProbeTest, TimeoutsOfManyTargetsShareOneTimerAndComeAtTheirOwnTime) {
  plan_.targets.clear();
  for (int i = 1; i <= 100; ++i) plan_.targets.push_back(absl::StrCat("198.18.1.", i));
  plan_.count = 5;
  plan_.interval = absl::Milliseconds(100);
  plan_.timeout = absl::Milliseconds(250);
  std::map<std::string, int> sends;
  opener_.on_icmp_send = [&](const SentPacket& request) {
    const std::string to = request.to.ip();
    const int octet = std::stoi(to.substr(to.rfind('.') + 1));
    ++sends[to];
    if (octet % 10 == 0) return 0;  // silent
    // Later targets answer sooner: replies out of send order.
    const absl::Duration delay = absl::Milliseconds(1 + (100 - octet) % 7 * 30);
    loop_->RunAfter(delay, [this, to, reply = ReplyTo(request)] {
      socket().Deliver(reply, *SocketAddress::FromLiteral(to, 0), clock_.Wall());
    });
    return 0;
  };
  StartProbe();
  for (int step = 0; step < 200 && !sink_->finished(); ++step) {
    RunFor(*loop_, clock_, absl::Milliseconds(5));
  }
  ASSERT_TRUE(sink_->finished());
  size_t ok = 0, timeouts = 0;
  for (const auto& reply : Replies()) {
    const int octet =
        std::stoi(reply.target().host().substr(reply.target().host().rfind('.') + 1));
    if (octet % 10 == 0) {
      EXPECT_EQ(reply.result().outcome(), v1::OUTCOME_TIMEOUT) << reply.target().host();
      ++timeouts;
    } else {
      EXPECT_EQ(reply.result().outcome(), v1::OUTCOME_OK) << reply.target().host();
      ++ok;
    }
  }
  EXPECT_EQ(ok, 90u * 5);
  EXPECT_EQ(timeouts, 10u * 5);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  for (const auto& [to, n] : sends) EXPECT_EQ(n, 5) << to;
}

// A silent target's timeout comes `timeout` after its send, not later, though
// the queue's timer was armed for an earlier request answered meanwhile.
TEST_F(PingProbeTest, ATimeoutBehindAnsweredRequestsComesOnTime) {
  plan_.targets = {"198.18.1.1", "198.18.1.2"};
  plan_.count = 1;
  plan_.interval = absl::Milliseconds(100);  // .2 goes 50 ms after .1
  plan_.timeout = absl::Milliseconds(300);
  opener_.on_icmp_send = [&](const SentPacket& request) {
    if (request.to.ip() == "198.18.1.1") {
      loop_->RunAfter(absl::Milliseconds(2), [this, reply = ReplyTo(request)] {
        socket().Deliver(reply, *SocketAddress::FromLiteral("198.18.1.1", 0),
                         clock_.Wall());
      });
    }
    return 0;
  };
  const absl::Duration start = clock_.Monotonic();
  StartProbe();
  while (!sink_->finished() && clock_.Monotonic() - start < absl::Seconds(2)) {
    RunFor(*loop_, clock_, absl::Milliseconds(1));
  }
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(clock_.Monotonic() - start, absl::Milliseconds(350))
      << "the timeout of .2, sent at 50 ms, ends the run";
  const auto replies = Replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(replies[1].result().outcome(), v1::OUTCOME_TIMEOUT);
}

// Issue 18: report_sends announces every request before its outcome, and a
// run cut short by its call's deadline ends like ping -w: a StreamEnd saying
// so, then a summary counting the requests still in flight as sent and lost.
TEST_F(PingProbeTest, ADeadlineCountsTheRequestsInFlightAsSentAndLost) {
  plan_.count = 0;
  plan_.timeout = absl::Seconds(5);
  plan_.report_sends = true;
  opener_.on_icmp_send = [](const SentPacket&) { return 0; };  // nobody answers
  StartProbe();
  RunFor(*loop_, clock_, absl::Milliseconds(350));  // sends at 0, 100, 200, 300 ms
  std::vector<uint32_t> announced;
  for (const auto& event : sink_->events()) {
    if (event.has_sent()) {
      announced.push_back(event.sent().sequence());
      EXPECT_EQ(event.sent().target().address(), kTarget);
    }
  }
  EXPECT_EQ(announced, (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_TRUE(Replies().empty());
  probe_->Stop(StopReason::kDeadline);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  const auto& events = sink_->events();
  ASSERT_GE(events.size(), 2u);
  const v1::PingEvent& end = events[events.size() - 2];
  ASSERT_TRUE(end.has_end());
  EXPECT_EQ(end.end().reason(), v1::StreamEnd::REASON_DEADLINE);
  EXPECT_EQ(end.end().detail(),
            "the call's deadline was reached; requests in flight are counted as sent "
            "and lost");
  EXPECT_EQ(Summary().sent(), 4u);
  EXPECT_EQ(Summary().received(), 0u);
  EXPECT_EQ(Summary().loss_percent(), 100.0);
  EXPECT_TRUE(Summary().outcomes().empty()) << "no outcome was invented";
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(done_, 1);
}

TEST_F(PingProbeTest, WithoutReportSendsNoSentEvents) {
  AnswerAfter(absl::Milliseconds(5));
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(1));
  for (const auto& event : sink_->events()) EXPECT_FALSE(event.has_sent());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
