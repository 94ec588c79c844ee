// Validation of config.scheduled_probes and config.modules: every error names
// the field and the limit.
#include "agent/schedule/schedule_config.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "common/proto_time.h"
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

TEST(ScheduleConfigTest, AcceptsATracerouteProbeAndModule) {
  auto schedule = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "path"
      interval { seconds: 30 }
      traceroute {
        target: "198.18.0.1"
        max_ttl: 16
        wait { seconds: 1 }
      }
    }
    scheduled_probes {
      name: "mtr"
      interval { seconds: 60 }
      traceroute {
        target: "198.18.0.1"
        rounds: 10
        wait { seconds: 1 }
      }
    }
    modules {
      name: "trace"
      traceroute {
        method: TRACEROUTE_METHOD_ICMP
        wait { seconds: 2 }
      }
    }
  )pb"));
  ASSERT_THAT(schedule, IsOk());
  ASSERT_EQ(schedule->probes.size(), 2u);
  EXPECT_EQ(KindOf(schedule->probes[0].request), std::string("Traceroute"));
  ASSERT_EQ(schedule->modules.size(), 1u);
  EXPECT_EQ(KindOf(schedule->modules[0].request), std::string("Traceroute"));
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
                "scheduled_probes[0]: needs a request (ping, tcp_connect, udp_echo, "
                "traceroute or throughput)"},
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
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute { target: "198.18.0.1" rounds: 0 }
                     })pb",
                "scheduled_probes[0].traceroute.rounds: 0 is not from 1 to 1000 "
                "(unset: one trace; 0 runs until cancelled"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute { target: "198.18.0.1" rounds: 1001 }
                     })pb",
                "scheduled_probes[0].traceroute.rounds: 1001 is not from 1 to 1000"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute { target: "198.18.0.1" max_ttl: 256 }
                     })pb",
                "scheduled_probes[0].traceroute.max_ttl: 256 is out of range: it must "
                "be from 1 to 255"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute { target: "198.18.0.1" first_ttl: 0 }
                     })pb",
                "scheduled_probes[0].traceroute.first_ttl: 0 is out of range"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute { target: "198.18.0.1" first_ttl: 9 max_ttl: 8 }
                     })pb",
                "scheduled_probes[0].traceroute.first_ttl: 9 is above max_ttl 8"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       traceroute {}
                     })pb",
                "scheduled_probes[0].traceroute.target: a host name or address is "
                "needed"},
        BadCase{R"pb(scheduled_probes {
                       name: "a"
                       interval { seconds: 5 }
                       traceroute {
                         target: "198.18.0.1"
                         rounds: 3
                         interval { seconds: 2 }
                         wait { seconds: 1 }
                       }
                     })pb",
                "scheduled_probes[0]: one run may take up to 5.003s, longer than its "
                "interval 5s"},
        BadCase{R"pb(modules {
                       name: "m"
                       traceroute { rounds: 0 }
                     })pb",
                "modules[0].traceroute.rounds: 0 is not from 1 to 1000"},
        BadCase{R"pb(modules {
                       name: "m"
                       timeout { seconds: 3 }
                       traceroute {}
                     })pb",
                "modules[0]: one run may take up to 5.009s, longer than its timeout 3s"},
        BadCase{R"pb(modules { name: "m" })pb",
                "modules[0]: needs a request (ping, tcp_connect, udp_echo or "
                "traceroute)"},
        // Issue 20: a scheduled throughput test is short and fits its
        // interval with room to spare; its request is checked as the RPC's.
        BadCase{R"pb(scheduled_probes {
                       name: "t"
                       interval { seconds: 60 }
                       throughput { target: "198.18.0.1" bytes: 1000000 }
                     })pb",
                "scheduled_probes[0].throughput.bytes: a scheduled throughput test runs "
                "for a duration (give duration, not bytes"},
        BadCase{R"pb(scheduled_probes {
                       name: "t"
                       interval { seconds: 10 }
                       throughput { target: "198.18.0.1" }
                     })pb",
                "scheduled_probes[0].throughput.duration: unset, the default 10s + 3s "
                "for connecting and exchanging results is 13s, not below the interval "
                "10s (a shorter duration or a longer interval)"},
        BadCase{R"pb(scheduled_probes {
                       name: "t"
                       interval { seconds: 5 }
                       throughput {
                         target: "198.18.0.1"
                         duration { seconds: 1 }
                         omit { seconds: 1 }
                       }
                     })pb",
                "scheduled_probes[0].throughput.duration: 1s + omit 1s + 3s for "
                "connecting and exchanging results is 5s, not below the interval 5s"},
        BadCase{R"pb(scheduled_probes {
                       name: "t"
                       interval { seconds: 60 }
                       throughput { target: "198.18.0.1" parallel: 17 }
                     })pb",
                "scheduled_probes[0].throughput.parallel: 17 streams is out of range"},
        BadCase{R"pb(scheduled_probes {
                       name: "t"
                       interval { seconds: 60 }
                       throughput { target: "198.18.0.1:0" }
                     })pb",
                "scheduled_probes[0].throughput.target: port '0' is out of range"},
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

// Issue 20: 1 s every 5 s fits (1 s + 3 s of setup is below 5 s).
TEST(ScheduleConfigTest, AcceptsAShortThroughputTest) {
  auto schedule = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "tput"
      interval { seconds: 5 }
      throughput {
        target: "198.18.0.1"
        duration { seconds: 1 }
      }
    }
  )pb"));
  ASSERT_THAT(schedule, IsOk());
  ASSERT_EQ(schedule->probes.size(), 1u);
  EXPECT_EQ(KindOf(schedule->probes[0].request), std::string("Throughput"));
  EXPECT_EQ(LongestRun(schedule->probes[0].request, "p").value_or(absl::ZeroDuration()),
            absl::Seconds(4));
}

// Throughput is off by default: a schedule holding one needs the policy to
// enable it, and its test within the policy's limits; the scheduler is no
// identity, so no identity rule's enabled_probes or limits stand for it.
TEST(ScheduleConfigTest, AThroughputScheduleNeedsThePolicyToAdmitIt) {
  auto schedule = ValidateSchedule(Config(R"pb(
    scheduled_probes {
      name: "tput"
      interval { seconds: 30 }
      throughput {
        target: "198.18.0.1"
        duration { seconds: 2 }
      }
    }
    scheduled_probes {
      name: "gw"
      ping { targets: "198.18.0.1" count: 1 }
    }
  )pb"));
  ASSERT_THAT(schedule, IsOk());
  auto policy = [](const std::string& text) {
    v1::AgentConfig config = Config(text);
    absl::StatusOr<std::shared_ptr<const Policy>> built = Policy::Build(config.policy());
    EXPECT_THAT(built, IsOk());
    return built.ok() ? *built : Policy::Default();
  };
  EXPECT_THAT(CheckSchedulePolicy(*schedule, *Policy::Default()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("scheduled_probes[0] ('tput'): policy: the Throughput "
                                 "probe is not enabled on this agent")));
  EXPECT_THAT(CheckSchedulePolicy(
                  *schedule,
                  *policy(R"pb(policy {
                                 identities { identity: "*" enabled_probes: "Throughput" }
                               })pb")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not enabled")));
  EXPECT_THAT(CheckSchedulePolicy(
                  *schedule, *policy(R"pb(policy { enabled_probes: "Throughput" })pb")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("scheduled_probes[1] ('gw'): policy: the Ping probe is "
                                 "not enabled")));
  EXPECT_THAT(CheckSchedulePolicy(*schedule, *policy(R"pb(policy {
                                                            enabled_probes: "Ping"
                                                            enabled_probes: "Throughput"
                                                          })pb")),
              IsOk());
  EXPECT_THAT(
      CheckSchedulePolicy(*schedule,
                          *policy(R"pb(policy {
                                         enabled_probes: "Ping"
                                         enabled_probes: "Throughput"
                                         limits { throughput_max_duration { seconds: 1 } }
                                       })pb")),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("scheduled_probes[0] ('tput').throughput: "
                         "policy.limits.throughput_max_duration: duration 2s is above "
                         "the limit of 1s")));
}

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
  v1::TracerouteRequest trace;
  trace.set_target("a");
  EXPECT_EQ(std::get<v1::TracerouteRequest>(WithTarget(trace, "198.18.0.9")).target(),
            "198.18.0.9");
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
  v1::TracerouteRequest trace;
  trace.set_target("198.18.0.1");  // 30 hops x 3 probes at 10,000/s, then a 5s wait
  EXPECT_EQ(LongestRun(trace, "r").value_or(absl::ZeroDuration()),
            absl::Milliseconds(5009));
  trace.set_max_ttl(255);  // 163,200 probes: 3 waves of at most 60,000 in flight
  trace.set_flows(64);
  trace.set_probes_per_hop(10);
  trace.set_rate_limit(100000);
  EXPECT_EQ(LongestRun(trace, "r").value_or(absl::ZeroDuration()), absl::Seconds(15));
  v1::TracerouteRequest mtr;  // 10 rounds 2s apart, each 30 probes + a 1s wait
  mtr.set_target("198.18.0.1");
  mtr.set_rounds(10);
  ToProto(absl::Seconds(2), mtr.mutable_interval());
  ToProto(absl::Seconds(1), mtr.mutable_wait());
  EXPECT_EQ(LongestRun(mtr, "r").value_or(absl::ZeroDuration()),
            absl::Milliseconds(19003));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
