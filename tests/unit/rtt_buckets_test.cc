// The RTT histogram's buckets: the defaults, and the checks that
// --metrics-rtt-buckets and config.metrics_rtt_buckets go through.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "agent/schedule/probe_metrics.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::string_view kFlag = "--metrics-rtt-buckets";

TEST(RttBucketsTest, TheDefaultsRunFrom10usTo10sAndPassTheirOwnCheck) {
  const std::vector<double> buckets = RttBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front(), 0.00001);
  EXPECT_EQ(buckets.back(), 10.0);
  EXPECT_EQ(buckets.size(), 19u);
  EXPECT_THAT(CheckRttBuckets(buckets, kFlag), IsOk());
}

TEST(RttBucketsTest, OneBoundAndTheMostAllowedAreAccepted) {
  EXPECT_THAT(CheckRttBuckets({0.001}, kFlag), IsOk());
  std::vector<double> most;
  for (size_t i = 1; i <= kMaxRttBuckets; ++i) most.push_back(i * 0.0001);
  EXPECT_THAT(CheckRttBuckets(most, kFlag), IsOk());
}

TEST(RttBucketsTest, NoneOrTooManyAreRefusedWithTheCount) {
  EXPECT_THAT(CheckRttBuckets({}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets: 0 buckets; give 1 to 64")));
  std::vector<double> too_many;
  for (size_t i = 1; i <= kMaxRttBuckets + 1; ++i) too_many.push_back(i * 0.0001);
  EXPECT_THAT(CheckRttBuckets(too_many, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets: 65 buckets; give 1 to 64")));
}

TEST(RttBucketsTest, ABoundNotAboveZeroOrNotFiniteIsRefusedByIndex) {
  EXPECT_THAT(CheckRttBuckets({0.001, 0}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[1]: 0 is not a number of "
                                 "seconds above 0")));
  EXPECT_THAT(CheckRttBuckets({-0.001}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[0]: -0.001 is not")));
  EXPECT_THAT(CheckRttBuckets({0.001, std::numeric_limits<double>::infinity()}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[1]: inf is not")));
  EXPECT_THAT(CheckRttBuckets({std::nan("")}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[0]: nan is not")));
}

TEST(RttBucketsTest, BoundsThatDoNotAscendAreRefusedNamingTheFirstOutOfOrder) {
  EXPECT_THAT(CheckRttBuckets({0.0001, 0.001, 0.0005}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[2]: 0.0005 is not above 0.001: "
                                 "the bounds must ascend")));
  EXPECT_THAT(CheckRttBuckets({0.001, 0.001}, kFlag),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--metrics-rtt-buckets[1]: 0.001 is not above 0.001")));
}

TEST(RttBucketsTest, TheFieldNamedIsTheOneGiven) {
  EXPECT_THAT(CheckRttBuckets({}, "metrics_rtt_buckets"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metrics_rtt_buckets: 0 buckets")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
