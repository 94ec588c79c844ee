#include "agent/policy/policy.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "agent/policy/plan_limits.h"
#include "agent/policy/probe_rule.h"
#include "agent/probes/send_budget.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

constexpr auto kDenied = absl::StatusCode::kPermissionDenied;

std::shared_ptr<const Policy> Make(const std::string& text) {
  v1::Policy config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  auto policy = Policy::Build(config);
  EXPECT_THAT(policy, IsOk());
  return policy.ok() ? *policy : Policy::Default();
}

SocketAddress At(const char* ip) { return *SocketAddress::FromLiteral(ip); }

Caller Anonymous() { return Caller{.identity = "", .peer = "ipv4:198.18.0.9:4000"}; }
Caller Identified(const std::string& identity) {
  return Caller{.identity = identity, .peer = "ipv4:198.18.0.11:4000"};
}

TEST(Policy, DefaultEnablesAllButCaptureAndBroadcastAndDeniesMetadata) {
  auto policy = Policy::Default();
  for (const char* probe :
       {"Ping", "TcpConnect", "UdpEcho", "Multicast", "Sockets", "Traceroute"}) {
    EXPECT_THAT(policy->CheckProbe(Anonymous(), probe), IsOk()) << probe;
  }
  EXPECT_THAT(policy->CheckProbe(Anonymous(), "Capture"),
              StatusIs(kDenied, HasSubstr("policy: the Capture probe is not enabled")));
  EXPECT_THAT(policy->CheckProbe(Anonymous(), "Broadcast"), StatusIs(kDenied));
  EXPECT_THAT(policy->CheckTarget(At("169.254.169.254"), "targets[0]"),
              StatusIs(kDenied, HasSubstr("targets[0]: 169.254.169.254 is denied by "
                                          "policy.deny 169.254.169.254/32")));
  EXPECT_THAT(policy->CheckTarget(At("::ffff:169.254.169.254"), "t"), StatusIs(kDenied));
  EXPECT_THAT(policy->CheckTarget(At("198.18.0.11"), "t"), IsOk());
  EXPECT_THAT(Make("deny_nothing: true")->CheckTarget(At("169.254.169.254"), "t"),
              IsOk());
}

TEST(Policy, DenyBeforeAllowInEveryNotation) {
  auto policy = Make(R"(allow: "198.18.0.0/15" allow: "2001:2::/48"
                        deny: "198.18.0.12/32")");
  EXPECT_THAT(policy->CheckTarget(At("198.18.0.11"), "t"), IsOk());
  EXPECT_THAT(policy->CheckTarget(At("2001:2::b"), "t"), IsOk());
  EXPECT_THAT(policy->CheckTarget(At("198.18.0.12"), "t"),
              StatusIs(kDenied, HasSubstr("policy.deny 198.18.0.12/32")));
  EXPECT_THAT(policy->CheckTarget(At("::ffff:198.18.0.12"), "t"), StatusIs(kDenied));
  EXPECT_THAT(policy->CheckTarget(At("::ffff:198.18.0.11"), "t"), IsOk());
  EXPECT_THAT(
      policy->CheckTarget(At("10.0.0.1"), "targets[3]"),
      StatusIs(kDenied, HasSubstr("targets[3]: 10.0.0.1 is outside policy.allow")));
  EXPECT_THAT(policy->CheckTarget(At("2001:3::1"), "t"), StatusIs(kDenied));
}

TEST(Policy, IdentityRulesEnableProbesAndReplaceLimits) {
  auto policy = Make(R"(
    limits { targets_per_request: 10 max_duration { seconds: 60 } }
    identities { identity: "x509:ops" enabled_probes: "Capture" enabled_probes: "Ping"
                 limits { targets_per_request: 100 } }
    identities { identity: "*" limits { max_duration { seconds: 5 } } })");
  EXPECT_THAT(policy->CheckProbe(Identified("x509:ops"), "Capture"), IsOk());
  EXPECT_THAT(policy->CheckProbe(Identified("x509:ops"), "TcpConnect"),
              StatusIs(kDenied, HasSubstr("not enabled for x509:ops")));
  EXPECT_THAT(policy->CheckProbe(Identified("token:ci"), "Capture"), StatusIs(kDenied));
  EXPECT_THAT(policy->CheckProbe(Identified("token:ci"), "TcpConnect"), IsOk());
  EXPECT_EQ(policy->LimitsFor(Identified("x509:ops")).targets_per_request(), 100u);
  EXPECT_EQ(policy->LimitsFor(Identified("x509:ops")).max_duration().seconds(), 60);
  EXPECT_EQ(policy->LimitsFor(Identified("token:ci")).max_duration().seconds(), 5);
  EXPECT_EQ(policy->LimitsFor(Identified("token:ci")).targets_per_request(), 10u);
  EXPECT_EQ(policy->LimitsFor(Anonymous()).max_duration().seconds(), 60);
}

// Issue 17: concurrency limits are on without a policy saying so; a policy
// or an identity rule replaces them.
TEST(Policy, ConcurrencyLimitsHaveDefaults) {
  auto none = Make("");
  EXPECT_EQ(none->LimitsFor(Anonymous()).concurrent_probes_per_client(), 64u);
  EXPECT_EQ(none->LimitsFor(Anonymous()).concurrent_probes_total(), 1024u);
  EXPECT_EQ(Policy::Default()
                ->LimitsFor(Identified("unix:uid=0(root)"))
                .concurrent_probes_per_client(),
            64u);
  auto set = Make(R"(
    limits { concurrent_probes_per_client: 8 concurrent_probes_total: 100 }
    identities { identity: "x509:ops" limits { concurrent_probes_per_client: 500 } })");
  EXPECT_EQ(set->LimitsFor(Anonymous()).concurrent_probes_per_client(), 8u);
  EXPECT_EQ(set->LimitsFor(Anonymous()).concurrent_probes_total(), 100u);
  EXPECT_EQ(set->LimitsFor(Identified("x509:ops")).concurrent_probes_per_client(), 500u);
}

TEST(Policy, BadConfigNamesTheField) {
  v1::Policy config;
  config.add_enabled_probes("Tcpdump");
  EXPECT_THAT(Policy::Build(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.enabled_probes[0]: 'Tcpdump' is not a probe")));
  config.Clear();
  config.add_deny("10.0.0.0/8");
  config.add_deny("10.0.0.1/8");
  EXPECT_THAT(Policy::Build(config), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("policy.deny[1]: ")));
  config.Clear();
  config.add_identities();
  EXPECT_THAT(Policy::Build(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.identities[0].identity")));
}

TEST(PlanLimits, RequestsBeyondTheLimitsNameTheRule) {
  v1::PolicyLimits limits;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(targets_per_request: 2 max_payload: 100 min_interval { nanos: 10000000 }
         max_duration { seconds: 10 } capture_max_snaplen: 128
         capture_interfaces: "eth0")",
      &limits));
  PingPlan ping;
  ping.targets = {"a", "b", "c"};
  ping.count = 5;
  EXPECT_THAT(CheckPlanLimits(limits, ping),
              StatusIs(kDenied, HasSubstr("policy.limits.targets_per_request: 3 targets "
                                          "exceed the limit of 2")));
  ping.targets = {"a"};
  ping.size = 200;
  EXPECT_THAT(CheckPlanLimits(limits, ping),
              StatusIs(kDenied, HasSubstr("policy.limits.max_payload: size of 200")));
  ping.size = 56;
  ping.interval = absl::Milliseconds(1);
  EXPECT_THAT(CheckPlanLimits(limits, ping),
              StatusIs(kDenied, HasSubstr("policy.limits.min_interval: interval 1ms")));
  ping.interval = absl::Seconds(1);
  ping.count = 0;
  EXPECT_THAT(CheckPlanLimits(limits, ping),
              StatusIs(kDenied, HasSubstr("policy.limits.max_duration: a request without "
                                          "a count")));
  ping.count = 12;
  EXPECT_THAT(CheckPlanLimits(limits, ping),
              StatusIs(kDenied, HasSubstr("12 rounds 1s apart take 11s")));
  ping.count = 11;
  EXPECT_THAT(CheckPlanLimits(limits, ping), IsOk());

  CapturePlan capture;
  capture.interface = "eth0";
  capture.snaplen = 128;
  capture.duration = absl::Seconds(5);
  EXPECT_THAT(CheckPlanLimits(limits, capture), IsOk());
  capture.interface = "any";
  EXPECT_THAT(CheckPlanLimits(limits, capture),
              StatusIs(kDenied, HasSubstr("policy.limits.capture_interfaces")));
  capture.interface = "eth0";
  capture.snaplen = 129;
  EXPECT_THAT(CheckPlanLimits(limits, capture),
              StatusIs(kDenied, HasSubstr("policy.limits.capture_max_snaplen")));
}

TEST(SendBudget, HoldsTheRateWithABurstOfOneMillisecond) {
  SendBudget budget(1000);  // 1 per ms; a burst holds 1 ms: one packet
  absl::Duration now = absl::Seconds(100);
  EXPECT_EQ(budget.NextSend(now), now);
  budget.Consume(now);
  EXPECT_EQ(budget.NextSend(now), now + absl::Milliseconds(1));
  // Idle time earns no more than the catch-up allowance (20 ms: 20 packets)
  // plus the burst.
  now += absl::Seconds(1);
  int sent = 0;
  while (budget.NextSend(now) <= now) {
    budget.Consume(now);
    ++sent;
  }
  EXPECT_EQ(sent, 21);

  SendBudget fast(100000);  // 100 per ms: 100 at once, then one per 10 us
  sent = 0;
  while (fast.NextSend(now) <= now) {
    fast.Consume(now);
    ++sent;
  }
  EXPECT_EQ(sent, 100);
  EXPECT_EQ(fast.NextSend(now), now + absl::Microseconds(10));
}

TEST(SendBudgets, TheSlowestBudgetDecides) {
  SendBudgetRegistry registry;
  auto client = registry.ForClient("unix:", 1000);
  auto total = registry.Total(500);
  EXPECT_EQ(registry.ForClient("unix:", 1000), client) << "one bucket per caller";
  EXPECT_NE(registry.ForClient("unix:", 2000), client) << "a new rate, a new bucket";
  SendBudgets budgets;
  budgets.Add(client);
  budgets.Add(total);
  const absl::Duration now = absl::Seconds(1);
  budgets.Consume(now);
  EXPECT_EQ(budgets.NextSend(now), now + absl::Milliseconds(2));
}

// Issue 16: every probe kind has its rule, and the rules name exactly the
// probes the policy and GetInfo know, in their order.
template <typename... Plans>
std::vector<std::string> RuleNames() {
  static_assert((HasProbeRule<Plans> && ...));
  return {std::string(ProbeRule<Plans>::kName)...};
}

TEST(ProbeRule, EveryProbeKindHasOneUnderItsPolicyName) {
  const std::vector<std::string> rules =
      RuleNames<PingPlan, TcpConnectPlan, UdpEchoPlan, BroadcastPlan, MulticastPlan,
                CapturePlan, SocketsPlan, TraceroutePlan, ThroughputPlan>();
  const std::vector<std::string> names(Policy::ProbeNames().begin(),
                                       Policy::ProbeNames().end());
  EXPECT_EQ(rules, names);
  static_assert(!HasProbeRule<int>, "a type without a rule is not a probe kind");
}

TEST(ProbeRule, PrivilegedOptionsAreDeclaredAndReportedPerPlan) {
  using ::testing::ElementsAre;
  using ::testing::IsEmpty;
  EXPECT_THAT(ProbeRule<PingPlan>::kPrivileged,
              ElementsAre(PrivilegedOption::kMark, PrivilegedOption::kInterface,
                          PrivilegedOption::kSourceAddress, PrivilegedOption::kPriority,
                          PrivilegedOption::kLocalTargets));
  PingPlan ping;
  EXPECT_THAT(ProbeRule<PingPlan>::Used(ping), IsEmpty());
  ping.setup.priority = 6;  // what any process may set
  EXPECT_THAT(ProbeRule<PingPlan>::Used(ping), IsEmpty());
  ping.setup.priority = 7;
  EXPECT_THAT(ProbeRule<PingPlan>::Used(ping), ElementsAre(PrivilegedOption::kPriority));
  ping.setup.priority.reset();
  TcpConnectPlan tcp;
  EXPECT_THAT(ProbeRule<TcpConnectPlan>::Used(tcp), IsEmpty());
  tcp.send_payload = "GET /";
  EXPECT_THAT(ProbeRule<TcpConnectPlan>::Used(tcp),
              ElementsAre(PrivilegedOption::kTcpPayload));
  ping.setup.mark = 7;
  ping.setup.interface = "eth0";
  EXPECT_THAT(ProbeRule<PingPlan>::Used(ping),
              ElementsAre(PrivilegedOption::kMark, PrivilegedOption::kInterface));
  CapturePlan capture;
  capture.promiscuous = true;
  capture.include_own_traffic = true;
  EXPECT_THAT(ProbeRule<CapturePlan>::Used(capture),
              ElementsAre(PrivilegedOption::kInterface, PrivilegedOption::kPromiscuous,
                          PrivilegedOption::kOwnTraffic));
  SocketsPlan sockets;
  sockets.processes = true;
  EXPECT_THAT(ProbeRule<SocketsPlan>::Used(sockets),
              ElementsAre(PrivilegedOption::kProcesses));
  // Each kind's Used() is within what it declares.
  for (PrivilegedOption used : ProbeRule<CapturePlan>::Used(capture)) {
    EXPECT_THAT(ProbeRule<CapturePlan>::kPrivileged, ::testing::Contains(used));
  }
  EXPECT_EQ(PrivilegedOptionName(PrivilegedOption::kMark), "options.mark");
}

// A Sockets watch is held to max_duration like any request that runs until
// cancelled; a single snapshot ends by itself.
TEST(ProbeRule, SocketsWatchIsBoundedByMaxDuration) {
  v1::PolicyLimits limits;
  limits.mutable_max_duration()->set_seconds(60);
  SocketsPlan snapshot;
  EXPECT_THAT(ProbeRule<SocketsPlan>::CheckLimits(limits, snapshot), IsOk());
  SocketsPlan watch;
  watch.watch_interval = absl::Seconds(1);
  EXPECT_THAT(ProbeRule<SocketsPlan>::CheckLimits(limits, watch),
              StatusIs(kDenied, HasSubstr("policy.limits.max_duration: watch_duration "
                                          "unset (no end) is above the limit of 1m")));
  watch.watch_duration = absl::Minutes(2);
  EXPECT_THAT(ProbeRule<SocketsPlan>::CheckLimits(limits, watch),
              StatusIs(kDenied, HasSubstr("policy.limits.max_duration: watch_duration "
                                          "2m is above the limit of 1m")));
  watch.watch_duration = absl::Minutes(1);
  EXPECT_THAT(ProbeRule<SocketsPlan>::CheckLimits(limits, watch), IsOk());
  watch.watch_duration = absl::ZeroDuration();
  EXPECT_THAT(ProbeRule<SocketsPlan>::CheckLimits(v1::PolicyLimits(), watch), IsOk());
}

// WatchResults is a right the policy enables like a probe: on by default,
// and only where an explicit list or a caller's rule names it.
TEST(Policy, WatchResultsIsEnabledByThePolicy) {
  EXPECT_THAT(Policy::Default()->CheckProbe(Anonymous(), Policy::kWatchResults), IsOk());
  auto listed = Make(R"(enabled_probes: "Ping"
                        identities { identity: "x509:ops" enabled_probes: "Ping" }
                        identities { identity: "x509:dash" enabled_probes: "WatchResults" })");
  EXPECT_THAT(listed->CheckProbe(Anonymous(), Policy::kWatchResults),
              StatusIs(kDenied, HasSubstr("policy: WatchResults is not enabled on this "
                                          "agent (enabled: Ping;")));
  EXPECT_THAT(listed->CheckProbe(Identified("x509:ops"), Policy::kWatchResults),
              StatusIs(kDenied, HasSubstr("policy: WatchResults is not enabled for "
                                          "x509:ops (its rule enables Ping)")));
  EXPECT_THAT(listed->CheckProbe(Identified("x509:dash"), Policy::kWatchResults), IsOk());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
