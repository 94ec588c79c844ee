#include "common/target_tally.h"

#include <gtest/gtest.h>

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

int64_t Us(const google::protobuf::Duration& d) {
  return d.seconds() * 1000000 + d.nanos() / 1000;
}

TEST(DurationSamples, StatisticsOfFixedSamples) {
  DurationSamples samples;
  // 1..100 ms: mean 50.5, population stddev sqrt((100^2-1)/12) = 28.866 ms.
  for (int i = 100; i >= 1; --i) samples.Add(absl::Milliseconds(i));
  v1::DurationStats stats;
  samples.Fill(&stats);
  EXPECT_EQ(stats.count(), 100u);
  EXPECT_EQ(Us(stats.min()), 1000);
  EXPECT_EQ(Us(stats.max()), 100000);
  EXPECT_EQ(Us(stats.avg()), 50500);
  EXPECT_NEAR(Us(stats.stddev()), 28866, 1);
  // Nearest rank: p50 is the 50th value, p90 the 90th, p99 the 99th.
  EXPECT_EQ(Us(stats.p50()), 50000);
  EXPECT_EQ(Us(stats.p90()), 90000);
  EXPECT_EQ(Us(stats.p99()), 99000);
}

TEST(DurationSamples, OneSampleAndNone) {
  DurationSamples one;
  one.Add(absl::Microseconds(142));
  v1::DurationStats stats;
  one.Fill(&stats);
  EXPECT_EQ(Us(stats.min()), 142);
  EXPECT_EQ(Us(stats.p99()), 142);
  EXPECT_EQ(Us(stats.stddev()), 0);
  DurationSamples none;
  v1::DurationStats empty;
  none.Fill(&empty);
  EXPECT_EQ(empty.count(), 0u);
  EXPECT_FALSE(empty.has_min());
}

TEST(TargetTally, CountsOutcomesLossAndErrors) {
  TargetTally tally;
  tally.Record(v1::OUTCOME_OK, absl::Milliseconds(1));
  tally.Record(v1::OUTCOME_OK, absl::Milliseconds(3));
  tally.Record(v1::OUTCOME_TIMEOUT);
  tally.Record(v1::OUTCOME_REFUSED);
  tally.RecordDuplicate();
  v1::TargetSummary summary;
  tally.Fill(&summary);
  EXPECT_EQ(summary.sent(), 4u);
  EXPECT_EQ(summary.received(), 2u);
  EXPECT_DOUBLE_EQ(summary.loss_percent(), 50.0);
  EXPECT_EQ(summary.errors(), 1u);  // a timeout is loss, not an error
  EXPECT_EQ(summary.duplicates(), 1u);
  EXPECT_EQ(summary.rtt().count(), 2u);
  EXPECT_EQ(Us(summary.rtt().avg()), 2000);
  EXPECT_EQ(summary.outcomes().at("OUTCOME_OK"), 2u);
  EXPECT_EQ(summary.outcomes().at("OUTCOME_TIMEOUT"), 1u);
  EXPECT_EQ(summary.outcomes().at("OUTCOME_REFUSED"), 1u);
}

TEST(TargetTally, NothingSentIsNoLoss) {
  v1::TargetSummary summary;
  TargetTally().Fill(&summary);
  EXPECT_EQ(summary.sent(), 0u);
  EXPECT_DOUBLE_EQ(summary.loss_percent(), 0.0);
  EXPECT_FALSE(summary.has_rtt());
}

TEST(TargetTally, Rfc3550JitterOfFixedTransits) {
  TargetTally tally;
  v1::TargetSummary one;
  tally.RecordTransit(absl::Microseconds(100));
  tally.Fill(&one);
  EXPECT_FALSE(one.has_jitter());  // needs two transits
  // D = 160 us then 0: J = 160/16 = 10 us, then J = 10 - 10/16 = 9.375 us.
  tally.RecordTransit(absl::Microseconds(260));
  tally.RecordTransit(absl::Microseconds(260));
  v1::TargetSummary three;
  tally.Fill(&three);
  EXPECT_EQ(three.jitter().seconds(), 0);
  EXPECT_EQ(three.jitter().nanos(), 9375);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
