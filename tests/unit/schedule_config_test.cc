// Validation of config.scheduled_probes and config.modules: every error names
// the field and the limit.
#include "agent/schedule/schedule_config.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

v1::AgentConfig Config(const std::string& text) {
  v1::AgentConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

TEST(ScheduleConfigTest, AcceptsPingTcpAndUdpProbesAndAModule) {
  auto schedule = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "gw-ping"
      interval { seconds: 10 }
      labels { key: "site" value: "fra1" }
      labels { key: "role" value: "gateway" }
      ping { targets: "198.18.0.1" targets: "2001:2::1" count: 3 }
    }
    scheduled_probes {
      name: "web"
      tcp_connect { targets: "198.18.0.2:443" count: 2 }
    }
    scheduled_probes {
      name: "echo"
      interval { seconds: 5 }
      udp_echo { target: "198.18.0.3:7" count: 3 }
    }
    modules {
      name: "icmp"
      ping { count: 2 }
    }
  )pb"));
  ASSERT_THAT(schedule, IsOk());
  ASSERT_EQ(schedule->probes.size(), 3u);
  EXPECT_EQ(schedule->probes[0].interval, absl::Seconds(10));
  EXPECT_EQ(schedule->probes[1].interval, absl::Seconds(60));  // the default
  // Labels come sorted by name.
  ASSERT_EQ(schedule->probes[0].labels.size(), 2u);
  EXPECT_EQ(schedule->probes[0].labels[0].first, "role");
  EXPECT_EQ(KindOf(schedule->probes[2].request), std::string("UdpEcho"));
  ASSERT_EQ(schedule->modules.size(), 1u);
  EXPECT_EQ(schedule->modules[0].timeout, absl::Seconds(10));
}

TEST(ScheduleConfigTest, NoConfigIsNoSchedule) {
  auto schedule = ValidateSchedule(v1::AgentConfig());
  ASSERT_THAT(schedule, IsOk());
  EXPECT_TRUE(schedule->probes.empty());
  EXPECT_TRUE(schedule->modules.empty());
}

struct BadCase {
  const char* config;
  const char* message;
};

class ScheduleConfigBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ScheduleConfigBadTest, NamesTheFieldAndTheLimit) {
  EXPECT_THAT(
      ValidateSchedule(Config(GetParam().config)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScheduleConfigBadTest,
    ::testing::Values(
        BadCase{R"pb(scheduled_probes { ping { targets: "198.18.0.1" count: 1 } })pb",
                "scheduled_probes[0].name: '' is not 1..64 characters"},
        BadCase{R"pb(scheduled_probes {
                       name: "9lives"
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].name: '9lives'"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       ping { targets: "198.18.0.1" count: 1 }
                     }
                     scheduled_probes {
                       name: "a"
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[1].name: 'a' is used twice"},
        BadCase{R"pb(scheduled_probes { name: "a" })pb",
                "scheduled_probes[0]: needs a request (ping, tcp_connect or udp_echo)"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       interval { nanos: 500000000 }
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].interval: 500ms is not from 1s to 24h"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       interval { seconds: 100000 }
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].interval: 27h46m40s is not from 1s to 24h"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       ping { targets: "198.18.0.1" }
                     })pb",
                "scheduled_probes[0].ping.count: 0 is not from 1 to 1000"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       udp_echo { target: "198.18.0.1:7" count: 1001 }
                     })pb",
                "scheduled_probes[0].udp_echo.count: 1001 is not from 1 to 1000"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       ping { count: 1 }
                     })pb",
                "scheduled_probes[0].ping.targets"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       tcp_connect { targets: "198.18.0.1" }
                     })pb",
                "scheduled_probes[0].tcp_connect.targets"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       interval { seconds: 5 }
                       ping { targets: "198.18.0.1" count: 10 }
                     })pb",
                "scheduled_probes[0]: one run may take up to 10s, longer than its "
                "interval 5s"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       labels { key: "target" value: "x" }
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].labels: 'target' is not a label name of its own"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       labels { key: "__x" value: "x" }
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].labels: '__x'"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       labels { key: "a-b" value: "x" }
                       ping { targets: "198.18.0.1" count: 1 }
                     })pb",
                "scheduled_probes[0].labels: 'a-b'"},
        BadCase{R"pb(modules { name: "m" })pb", "modules[0]: needs a request"},
        BadCase{R"pb(modules {
                       name: "m"
                       timeout { seconds: 61 }
                       ping { count: 1 }
                     })pb",
                "modules[0].timeout: 1m1s is not from 1s to 1m"},
        BadCase{R"pb(modules {
                       name: "m"
                       timeout { seconds: 2 }
                       ping { count: 5 }
                     })pb",
                "modules[0]: one run may take up to 5s, longer than its timeout 2s"},
        BadCase{R"pb(modules {
                       name: "m"
                       ping { count: 1 }
                     }
                     modules {
                       name: "m"
                       ping { count: 1 }
                     })pb",
                "modules[1].name: 'm' is used twice"}));

TEST(ScheduleConfigTest, TooManyLabels) {
  v1::AgentConfig config = Config(R"pb(scheduled_probes {
                                         name: "a"
                                         ping { targets: "198.18.0.1" count: 1 }
                                       })pb");
  for (int i = 0; i <= kMaxProbeLabels; ++i) {
    (*config.mutable_scheduled_probes(0)->mutable_labels())["l" + std::to_string(i)] =
        "v";
  }
  EXPECT_THAT(ValidateSchedule(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("scheduled_probes[0].labels: 17 labels, above the limit "
                                 "of 16")));
}

TEST(ProbeRequestTest, WithTargetReplacesTheTargets) {
  v1::PingRequest ping;
  ping.add_targets("a");
  ping.add_targets("b");
  auto aimed = WithTarget(ping, "198.18.0.9");
  ASSERT_EQ(std::get<v1::PingRequest>(aimed).targets_size(), 1);
  EXPECT_EQ(std::get<v1::PingRequest>(aimed).targets(0), "198.18.0.9");
  v1::UdpEchoRequest udp;
  EXPECT_EQ(std::get<v1::UdpEchoRequest>(WithTarget(udp, "h:7")).target(), "h:7");
}

TEST(ProbeRequestTest, LongestRunBoundsEachKind) {
  v1::PingRequest ping;
  ping.add_targets("198.18.0.1");
  ping.set_count(3);  // 2 intervals of 1s + a 1s timeout
  EXPECT_EQ(LongestRun(ping, "p").value_or(absl::ZeroDuration()), absl::Seconds(3));
  v1::TcpConnectRequest tcp;
  tcp.add_targets("198.18.0.1:80");  // one attempt, 3s timeout
  EXPECT_EQ(LongestRun(tcp, "t").value_or(absl::ZeroDuration()), absl::Seconds(3));
  tcp.set_count(4);  // 3 intervals of 1s + the last attempt's timeout
  EXPECT_EQ(LongestRun(tcp, "t").value_or(absl::ZeroDuration()), absl::Seconds(6));
  tcp.set_concurrency(1);  // 4 rounds of one attempt, each up to 3s
  EXPECT_EQ(LongestRun(tcp, "t").value_or(absl::ZeroDuration()), absl::Seconds(12));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
