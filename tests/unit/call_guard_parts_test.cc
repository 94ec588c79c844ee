// Issue 17: the rapid-reset budget and the audit throttle, with fixed times.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/server/audit_throttle.h"
#include "agent/server/reset_budget.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

TEST(ResetBudgetTest, EndsAConnectionOnceItExceedsTheBudgetWithinAWindow) {
  ResetBudget budget(3, absl::Seconds(10));
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(budget.Record("ipv4:198.18.0.1:40000", true, kStart + absl::Seconds(i)));
  }
  // Calls that finish normally do not count.
  EXPECT_FALSE(budget.Record("ipv4:198.18.0.1:40000", false, kStart + absl::Seconds(3)));
  // Another connection has its own budget.
  EXPECT_FALSE(budget.Record("ipv4:198.18.0.1:40002", true, kStart + absl::Seconds(3)));
  EXPECT_TRUE(budget.Record("ipv4:198.18.0.1:40000", true, kStart + absl::Seconds(4)));
  // Exactly once: the calls still draining from it do not end it again.
  EXPECT_FALSE(budget.Record("ipv4:198.18.0.1:40000", true, kStart + absl::Seconds(5)));
  EXPECT_EQ(budget.connections(), 2u);
}

TEST(ResetBudgetTest, OccasionalResetsNeverEndAConnection) {
  // A user's Ctrl-C or a deadline every 4 s: 3 per 10 s window at most.
  ResetBudget budget(3, absl::Seconds(10));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(budget.Record("fd:12", true, kStart + absl::Seconds(4 * i))) << i;
  }
}

TEST(ResetBudgetTest, SweepForgetsQuietConnections) {
  ResetBudget budget(3, absl::Seconds(10));
  budget.Record("fd:12", true, kStart);
  budget.Record("fd:13", true, kStart + absl::Seconds(8));
  budget.Sweep(kStart + absl::Seconds(10));
  EXPECT_EQ(budget.connections(), 1u);
  budget.Sweep(kStart + absl::Seconds(18));
  EXPECT_EQ(budget.connections(), 0u);
}

TEST(ResetBudgetTest, ANewConnectionOnAReusedDescriptorStartsWithAWholeBudget) {
  ResetBudget budget(3, absl::Seconds(10));
  for (int i = 0; i < 3; ++i) budget.Record("fd:12", true, kStart);
  EXPECT_TRUE(budget.Record("fd:12", true, kStart));  // ended
  // The agent accepts a new unix connection on descriptor 12 within the
  // same window: without Forget it would inherit the ended one's state.
  budget.Forget("fd:12");
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(budget.Record("fd:12", true, kStart + absl::Seconds(1))) << i;
  }
  EXPECT_TRUE(budget.Record("fd:12", true, kStart + absl::Seconds(1)));
}

TEST(AuditThrottleTest, LogsTheFirstCallsAndSummarisesTheRestPerConnection) {
  AuditThrottle throttle(2, absl::Seconds(10));
  const auto admit = [&](absl::string_view peer, absl::string_view method,
                         absl::string_view code, int second) {
    return throttle.Admit(peer, "ipv4:198.18.0.1:40000", "token:ci", method, code,
                          kStart + absl::Seconds(second));
  };
  EXPECT_TRUE(admit("ipv4:198.18.0.1:40000", "/netprobe.v1.Agent/GetInfo", "OK", 0));
  EXPECT_TRUE(admit("ipv4:198.18.0.1:40000", "/netprobe.v1.Agent/GetInfo", "OK", 0));
  EXPECT_FALSE(
      admit("ipv4:198.18.0.1:40000", "/netprobe.v1.Agent/GetInfo", "CANCELLED", 1));
  EXPECT_FALSE(admit("ipv4:198.18.0.1:40000", "/x.Y/Z", "UNIMPLEMENTED", 2));
  EXPECT_FALSE(
      admit("ipv4:198.18.0.1:40000", "/netprobe.v1.Agent/GetInfo", "CANCELLED", 3));
  // Another connection is not throttled by the first one's flood.
  EXPECT_TRUE(admit("ipv4:198.18.0.1:40002", "/netprobe.v1.Probes/Ping", "OK", 3));
  EXPECT_THAT(throttle.Flush(kStart + absl::Seconds(9)), IsEmpty());
  EXPECT_THAT(throttle.Flush(kStart + absl::Seconds(10)),
              ElementsAre("rpc flood peer=ipv4:198.18.0.1:40000 identity=token:ci "
                          "window=10.0s logged=2 summarised=3 "
                          "codes={CANCELLED:2,UNIMPLEMENTED:1} "
                          "methods={/netprobe.v1.Agent/GetInfo:2,/x.Y/Z:1}"));
  // A new window: its first calls are logged again.
  EXPECT_TRUE(admit("ipv4:198.18.0.1:40000", "/netprobe.v1.Agent/GetInfo", "OK", 11));
}

TEST(AuditThrottleTest, MethodNamesAreBoundedInNumberAndLength) {
  AuditThrottle throttle(1, absl::Seconds(10));
  EXPECT_TRUE(throttle.Admit("fd:9", "unix:pid=1", "", "/first", "OK", kStart));
  for (size_t i = 0; i < AuditThrottle::kMaxMethods + 5; ++i) {
    EXPECT_FALSE(throttle.Admit("fd:9", "unix:pid=1", "", absl::StrCat("/m", i),
                                "UNIMPLEMENTED", kStart));
  }
  EXPECT_FALSE(throttle.Admit("fd:9", "unix:pid=1", "", std::string(1000, 'x'),
                              "UNIMPLEMENTED", kStart));
  const std::vector<std::string> lines = throttle.Flush(kStart + absl::Seconds(10));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr("identity=- "));
  EXPECT_THAT(lines[0], ::testing::HasSubstr("summarised=14 "));
  EXPECT_THAT(lines[0], ::testing::HasSubstr("other:6}"));
  EXPECT_LT(lines[0].size(), 1500u);
}

TEST(AuditThrottleTest, QuietConnectionsAreForgotten) {
  AuditThrottle throttle(1, absl::Seconds(10));
  EXPECT_TRUE(throttle.Admit("fd:9", "unix:pid=1", "", "/a", "OK", kStart));
  EXPECT_THAT(throttle.Flush(kStart + absl::Seconds(10)), IsEmpty());  // a window's calls
  EXPECT_THAT(throttle.Flush(kStart + absl::Seconds(20)), IsEmpty());  // none: forgotten
  // Its number may be a new connection now: logged from the start.
  EXPECT_TRUE(
      throttle.Admit("fd:9", "unix:pid=2", "", "/a", "OK", kStart + absl::Seconds(21)));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
