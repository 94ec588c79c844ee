#include "agent/probes/pacer.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "agent/net/rate_limiter.h"
#include "tests/test_support/fake_clock.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::RunFor;
using testing::UpTo;

class PacerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }
  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
};

TEST(RateLimiter, AWakeUpThatComesLateKeepsItsCredit) {
  RateLimiter limiter(1000);  // one per ms
  absl::Duration now = absl::Seconds(10);
  limiter.Consume(now);
  // 5 ms late: the 5 sends due meanwhile go at once (plus the burst).
  now += absl::Milliseconds(6);
  int sent = 0;
  while (limiter.NextSend(now) <= now) {
    limiter.Consume(now);
    ++sent;
  }
  EXPECT_EQ(sent, 6);
  // A stall longer than the catch-up allowance loses the rest.
  now += absl::Seconds(1);
  sent = 0;
  while (limiter.NextSend(now) <= now) {
    limiter.Consume(now);
    ++sent;
  }
  EXPECT_EQ(sent, 21) << "20 ms of catch-up plus the burst";
}

TEST(RateLimiter, WakeUpComesHalfABurstAfterTheFirstAllowedSend) {
  RateLimiter limiter(100000);  // one per 10 us, bursts of 1 ms (100)
  const absl::Duration now = absl::Seconds(10);
  while (limiter.NextSend(now) <= now) limiter.Consume(now);
  EXPECT_EQ(limiter.NextSend(now), now + absl::Microseconds(10));
  EXPECT_EQ(limiter.WakeAt(now), now + absl::Microseconds(510));
}

TEST_F(PacerTest, HoldsTheGlobalRateWithin1PercentWhenWakeUpsComeLate) {
  // 1,000 targets every 50 ms under a 20,000/s bound, wake-ups up to 3 ms late.
  Pacer::Options options;
  options.targets = 1000;
  options.interval = absl::Milliseconds(50);
  options.rate = 20000;
  size_t max_burst = 0, burst = 0;
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t, uint32_t) { ++burst; });
  pacer.Start();
  const absl::Duration start = clock_.Monotonic();
  auto late = UpTo(absl::Milliseconds(3));
  testing::Lateness measured = [&] {
    max_burst = std::max(max_burst, burst);
    burst = 0;
    return late();
  };
  RunFor(*loop_, clock_, absl::Seconds(2), measured);
  const double seconds = absl::ToDoubleSeconds(clock_.Monotonic() - start);
  const double rate = pacer.total_sent() / seconds;
  EXPECT_NEAR(rate, 20000, 200) << pacer.total_sent() << " in " << seconds << " s";
  // The burst after a late wake-up is bounded by the catch-up allowance.
  EXPECT_LE(max_burst, 20000 * 0.021 + 1);
}

TEST_F(PacerTest, ACatchUpGoesInBurstsWithTheLoopPollingBetween) {
  // 100,000/s over 1,000 targets; every 50th wake-up comes 10 ms late, which
  // leaves 1,000 sends due at once: they go max_burst at a time, each burst
  // from a timer of its own (the loop polls, and reads replies, between
  // them), and the rate is still the one asked.
  Pacer::Options options;
  options.targets = 1000;
  options.interval = absl::Milliseconds(1);
  options.rate = 100000;
  options.max_burst = Pacer::kSharedSocketBurst;
  int max_burst = 0, burst = 0, wake_ups = 0;
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t, uint32_t) { ++burst; });
  pacer.Start();
  const absl::Duration start = clock_.Monotonic();
  testing::Lateness late = [&] {
    max_burst = std::max(max_burst, burst);
    burst = 0;
    return ++wake_ups % 50 == 0 ? absl::Milliseconds(10) : absl::ZeroDuration();
  };
  RunFor(*loop_, clock_, absl::Seconds(1), late);
  const double seconds = absl::ToDoubleSeconds(clock_.Monotonic() - start);
  EXPECT_NEAR(pacer.total_sent() / seconds, 100000, 1000) << pacer.total_sent();
  // A step of the fake loop runs the timers due twice (before its poll and in
  // it), so a step sees at most two bursts; the real loop polls before each.
  EXPECT_GT(max_burst, Pacer::kSharedSocketBurst / 2);
  EXPECT_LE(max_burst, 2 * Pacer::kSharedSocketBurst);
}

TEST_F(PacerTest, WithoutLateWakeUpsTheRateIsExact) {
  Pacer::Options options;
  options.targets = 10;
  options.interval = absl::Milliseconds(1);
  options.rate = 5000;
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; }, [](size_t, uint32_t) {});
  pacer.Start();
  RunFor(*loop_, clock_, absl::Seconds(1));
  // The first burst goes at once (1 ms: 5 sends), then exactly 5,000/s.
  EXPECT_NEAR(pacer.total_sent(), 5005, 2);
}

TEST_F(PacerTest, ATargetsIntervalKeepsItsScheduleWhenWakeUpsComeLate) {
  Pacer::Options options;
  options.targets = 1;
  options.count = 100;
  options.interval = absl::Milliseconds(10);
  std::vector<absl::Duration> at;
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t, uint32_t sequence) {
        EXPECT_EQ(sequence, at.size() + 1);
        at.push_back(clock_.Monotonic());
      });
  const absl::Duration start = clock_.Monotonic();
  pacer.Start();
  RunFor(*loop_, clock_, absl::Seconds(2), UpTo(absl::Milliseconds(4)));
  ASSERT_EQ(at.size(), 100u);
  EXPECT_TRUE(pacer.exhausted());
  // 99 intervals: 990 ms, whatever the lateness of each wake-up.
  EXPECT_LE(at.back() - start, absl::Milliseconds(994));
  EXPECT_GE(at.back() - start, absl::Milliseconds(990));
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(PacerTest, TheCallersBudgetIsDeliveredWithin1PercentWhenWakeUpsComeLate) {
  // The policy's packets_per_second_per_client (500/s) on a flood.
  Pacer::Options options;
  options.targets = 1;
  options.interval = absl::Microseconds(100);
  options.budgets.Add(std::make_shared<SendBudget>(500));
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; }, [](size_t, uint32_t) {});
  pacer.Start();
  RunFor(*loop_, clock_, absl::Seconds(4), UpTo(absl::Milliseconds(3)));
  EXPECT_NEAR(pacer.total_sent() / 4.0, 500, 5);
}

// Issue 18, defect 4: a round's requests left as one burst and measured
// RTTs that depended on their place in the list. Of N targets, target k is
// first due k x interval / N after the start, then every interval.
TEST_F(PacerTest, ARoundsTargetsAreSpreadOverTheInterval) {
  Pacer::Options options;
  options.targets = 4;
  options.count = 3;
  options.interval = absl::Seconds(1);
  options.rate = 20000;  // the ping request's default bound changes nothing
  options.max_burst = Pacer::kSharedSocketBurst;
  std::vector<std::vector<absl::Duration>> at(options.targets);
  const absl::Duration start = clock_.Monotonic();
  Pacer pacer(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t target, uint32_t sequence) {
        EXPECT_EQ(sequence, at[target].size() + 1);
        at[target].push_back(clock_.Monotonic() - start);
      });
  pacer.Start();
  RunFor(*loop_, clock_, absl::Seconds(3));
  EXPECT_TRUE(pacer.exhausted());
  for (size_t target = 0; target < at.size(); ++target) {
    ASSERT_EQ(at[target].size(), 3u) << target;
    for (size_t i = 0; i < at[target].size(); ++i) {
      EXPECT_EQ(at[target][i], absl::Milliseconds(250 * target + 1000 * i))
          << "target " << target << ", attempt " << i + 1;
    }
  }
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

// The spread holds the rate the targets ask for (1,000 targets every 10 ms,
// 100,000/s, no global bound) within 1% when wake-ups come late, and on time
// a wake-up sends only what falls due within kGroup (1 ms of a schedule
// 10 us apart: 101 sends). (The late run sets no max_burst: the
// fake loop would make each chunk's timer, due now, late too, where the real loop runs it
// after its next poll without sleeping;
// ACatchUpGoesInBurstsWithTheLoopPollingBetween covers max_burst.)
TEST_F(PacerTest, AThousandSpreadTargetsHoldTheirRateWithin1Percent) {
  Pacer::Options options;
  options.targets = 1000;
  options.interval = absl::Milliseconds(10);
  for (const bool late_wake_ups : {false, true}) {
    SCOPED_TRACE(late_wake_ups ? "wake-ups up to 3 ms late" : "wake-ups on time");
    options.max_burst = late_wake_ups ? 0 : Pacer::kSharedSocketBurst;
    size_t max_burst = 0, burst = 0;
    Pacer pacer(
        loop_.get(), options, [](size_t) { return true; },
        [&](size_t, uint32_t) { ++burst; });
    pacer.Start();
    const absl::Duration start = clock_.Monotonic();
    auto late = UpTo(absl::Milliseconds(3));
    testing::Lateness measured = [&] {
      max_burst = std::max(max_burst, burst);
      burst = 0;
      return late_wake_ups ? late() : absl::ZeroDuration();
    };
    RunFor(*loop_, clock_, absl::Seconds(2), measured);
    const double seconds = absl::ToDoubleSeconds(clock_.Monotonic() - start);
    EXPECT_NEAR(pacer.total_sent() / seconds, 100000, 1000)
        << pacer.total_sent() << " in " << seconds << " s";
    // Late by up to 3 ms: what fell due meanwhile (300) and kGroup's (101).
    const size_t group = static_cast<size_t>(Pacer::kGroup / absl::Microseconds(10)) + 1;
    EXPECT_LE(max_burst, late_wake_ups ? 300 + group : group);
    pacer.Stop();
  }
}

TEST_F(PacerTest, AClosedGatePausesUntilPumpedAgain) {
  Pacer::Options options;
  options.targets = 2;
  options.count = 5;
  options.interval = absl::Milliseconds(1);
  bool open = true;
  int sent = 0;
  Pacer pacer(
      loop_.get(), options, [&](size_t) { return open; },
      [&](size_t, uint32_t) {
        if (++sent == 3) open = false;
      });
  pacer.Start();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(loop_->pending_timer_count(), 0u) << "a closed gate waits without a timer";
  open = true;
  pacer.Pump();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_EQ(sent, 10);
  EXPECT_TRUE(pacer.exhausted());
}

TEST_F(PacerTest, StopInsideSendEndsTheRound) {
  Pacer::Options options;
  options.targets = 100;
  options.interval = absl::Milliseconds(1);
  int sent = 0;
  std::unique_ptr<Pacer> pacer;
  pacer = std::make_unique<Pacer>(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t, uint32_t) {
        if (++sent == 7) pacer->Stop();
      });
  pacer->Start();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_EQ(sent, 7);
  EXPECT_TRUE(pacer->stopped());
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

// A trace's TTLs beyond the target: retired, they send nothing more and
// take none of the rate (the other targets' attempts come as if they were
// never there).
TEST_F(PacerTest, RetiredTargetsTakeNoMoreAttemptsNorTheRate) {
  Pacer::Options options;
  options.targets = 30;
  options.count = 3;
  options.interval = absl::ZeroDuration();
  options.rate = 1000;  // one per ms
  options.spread = false;
  std::vector<std::pair<size_t, absl::Duration>> sends;
  std::unique_ptr<Pacer> pacer;
  pacer = std::make_unique<Pacer>(
      loop_.get(), options, [](size_t) { return true; },
      [&](size_t target, uint32_t) {
        sends.emplace_back(target, loop_->Now());
        // The 5th send "reaches the target": TTLs 5.. end there.
        if (sends.size() == 5) {
          for (size_t t = 5; t < 30; ++t) pacer->Retire(t);
        }
      });
  const absl::Duration start = loop_->Now();
  pacer->Start();
  RunFor(*loop_, clock_, absl::Seconds(1));
  ASSERT_EQ(sends.size(), 15u) << "5 targets x 3";
  for (const auto& [target, at] : sends) EXPECT_LT(target, 5u);
  EXPECT_TRUE(pacer->exhausted());
  EXPECT_LT(sends.back().second - start, absl::Milliseconds(16))
      << "15 sends at 1 per ms, none spent on the retired";
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
