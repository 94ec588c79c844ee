// Identity rules for unix-socket callers (uid, user, group), grants of
// privileged options, and the policy's refusal of rules that are not one
// or that overlap.
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "agent/policy/identity_pattern.h"
#include "agent/policy/policy.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr auto kDenied = absl::StatusCode::kPermissionDenied;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

absl::StatusOr<std::shared_ptr<const Policy>> Build(const std::string& text) {
  v1::Policy config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return Policy::Build(config);
}

std::shared_ptr<const Policy> Make(const std::string& text) {
  auto policy = Build(text);
  EXPECT_THAT(policy, IsOk());
  return policy.ok() ? *policy : Policy::Default();
}

Caller Unix(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  Caller caller;
  caller.identity = absl::StrCat("unix:uid=", uid);
  caller.peer = "unix:pid=1";
  caller.unix_peer = UnixCaller{.uid = uid, .gid = gid, .groups = std::move(groups)};
  return caller;
}
Caller Root() { return Unix(0, 0); }
Caller Tcp(const std::string& identity) {
  Caller caller;
  caller.identity = identity;
  caller.peer = "ipv4:198.18.0.11:4000";
  return caller;
}

SocketAddress At(const char* ip) { return *SocketAddress::FromLiteral(ip); }

TEST(IdentityPattern, UnixFormsMatchUidAndPrimaryOrSupplementaryGroup) {
  auto uid = ParseIdentityPattern("unix:uid=1000", "f");
  ASSERT_THAT(uid, IsOk());
  EXPECT_TRUE(uid->Matches(Unix(1000, 1000)));
  EXPECT_FALSE(uid->Matches(Unix(1001, 1000)));
  EXPECT_FALSE(uid->Matches(Tcp("unix:uid=1000"))) << "a TCP caller is never a uid";

  auto gid = ParseIdentityPattern("unix:gid=100", "f");
  ASSERT_THAT(gid, IsOk());
  EXPECT_TRUE(gid->Matches(Unix(1000, 100)));
  EXPECT_TRUE(gid->Matches(Unix(1000, 1000, {27, 100})));
  EXPECT_FALSE(gid->Matches(Unix(1000, 1000, {27})));

  auto root = ParseIdentityPattern("unix:user=root", "f");
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->id, 0u);
  EXPECT_TRUE(root->Matches(Root()));
  auto root_group = ParseIdentityPattern("unix:group=root", "f");
  ASSERT_THAT(root_group, IsOk());
  EXPECT_EQ(root_group->id, 0u);

  auto any_unix = ParseIdentityPattern("unix:*", "f");
  ASSERT_THAT(any_unix, IsOk());
  EXPECT_TRUE(any_unix->Matches(Unix(5, 5)));
  EXPECT_FALSE(any_unix->Matches(Tcp("token:ci")));
  auto any_identified = ParseIdentityPattern("*", "f");
  ASSERT_THAT(any_identified, IsOk());
  EXPECT_TRUE(any_identified->Matches(Tcp("token:ci")));
  EXPECT_FALSE(any_identified->Matches(Unix(5, 5))) << "* is TCP's catch-all";
  EXPECT_FALSE(any_identified->Matches(Tcp(""))) << "an anonymous caller is nobody";
}

TEST(IdentityPattern, BadIdentitiesNameTheFieldAndTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unix:uid=4294967295", "uid '4294967295' is out of range (0 to 4294967294)"},
      {"unix:uid=-1", "uid '-1' is out of range"},
      {"unix:uid=", "uid '' is out of range"},
      {"unix:uid=12x", "uid '12x' is out of range"},
      {"unix:gid=99999999999", "gid '99999999999' is out of range"},
      {"unix:user=no-such-user-np", "no user 'no-such-user-np' on this host"},
      {"unix:group=no-such-group-np", "no group 'no-such-group-np' on this host"},
      {"unix:user=1000", "unix:user= takes a user name (unix:uid= a number)"},
      {"x509:", "names nobody"},
      {"alice", "'alice' is not an identity"},
      {"unix:alice", "is not an identity"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT(ParseIdentityPattern(text, "policy.identities[3].identity"),
                StatusIs(kInvalid, AllOf(HasSubstr("policy.identities[3].identity: "),
                                         HasSubstr(message))))
        << text;
  }
}

TEST(Policy, OverlappingRulesAreRefusedNamingBoth) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(identities { identity: "unix:uid=1000" } identities { identity: "unix:uid=1000" })",
       "both are uid 1000"},
      {R"(identities { identity: "unix:user=root" } identities { identity: "unix:uid=0" })",
       "both are uid 0"},
      {R"(identities { identity: "unix:user=root" } identities { identity: "unix:group=root" })",
       "user root is in group 0(root)"},
      {R"(identities { identity: "unix:gid=0" } identities { identity: "unix:user=root" })",
       "user root is in group 0"},
      {R"(identities { identity: "unix:gid=100" } identities { identity: "unix:gid=100" })",
       "both are gid 100"},
      {R"(identities { identity: "unix:*" } identities { identity: "unix:uid=5" })",
       "every unix caller matches the earlier rule"},
      {R"(identities { identity: "*" } identities { identity: "token:ci" })",
       "every identified caller matches the earlier rule"},
      {R"(identities { identity: "x509:a" } identities { identity: "x509:a" })",
       "the same identity twice"},
  };
  for (const auto& [text, why] : cases) {
    EXPECT_THAT(Build(text),
                StatusIs(kInvalid, AllOf(HasSubstr("policy.identities[1]: '"),
                                         HasSubstr("overlaps policy.identities[0] ('"),
                                         HasSubstr(why))))
        << text;
  }
  // Catch-alls after the specific rules of their kind, and rules of
  // different kinds, do not overlap.
  EXPECT_THAT(Build(R"(identities { identity: "unix:uid=5" }
                       identities { identity: "unix:gid=77" }
                       identities { identity: "token:ci" }
                       identities { identity: "*" }
                       identities { identity: "unix:*" })"),
              IsOk());
}

TEST(Policy, BadGrantsAreRefused) {
  EXPECT_THAT(
      Build(R"(identities { identity: "unix:uid=5" grants: "marks" })"),
      StatusIs(kInvalid, AllOf(HasSubstr("policy.identities[0].grants[0]: 'marks' "
                                         "is not a grant (mark, interface, "),
                               HasSubstr("tcp_payload, or * for all"))));
  EXPECT_THAT(
      Build(R"(identities { identity: "unix:uid=5" grants: "mark" grants: "none" })"),
      StatusIs(kInvalid, HasSubstr("grants[1]: 'none' contradicts the other grants")));
}

TEST(Policy, ByDefaultRootOnTheUnixSocketHoldsEveryGrantAndNobodyElseAny) {
  auto policy = Policy::Default();
  for (PrivilegedOption option : kAllPrivilegedOptions) {
    EXPECT_TRUE(policy->Granted(Root(), option)) << GrantName(option);
    EXPECT_FALSE(policy->Granted(Unix(1000, 1000), option)) << GrantName(option);
    EXPECT_FALSE(policy->Granted(Tcp("x509:root"), option)) << GrantName(option);
    EXPECT_FALSE(policy->Granted(Tcp(""), option)) << GrantName(option);
  }
  EXPECT_THAT(
      policy->CheckGrants(Unix(1000, 1000), "the Ping probe", {PrivilegedOption::kMark}),
      StatusIs(kDenied,
               AllOf(HasSubstr("policy: the Ping probe with options.mark needs the grant "
                               "'mark', which unix:uid=1000 does not hold"),
                     HasSubstr("by default only root on the unix socket holds grants"))));
  EXPECT_THAT(policy->CheckGrants(Root(), "the Ping probe",
                                  {PrivilegedOption::kMark, PrivilegedOption::kPriority}),
              IsOk());
}

TEST(Policy, RequestsOfTheConfigHoldTheirGrants) {
  auto policy = Policy::Default();
  Caller scheduled;
  scheduled.origin = Caller::Origin::kSchedule;
  Caller probe_endpoint;
  probe_endpoint.origin = Caller::Origin::kProbeEndpoint;
  for (PrivilegedOption option : kAllPrivilegedOptions) {
    EXPECT_TRUE(policy->Granted(scheduled, option)) << GrantName(option);
    EXPECT_EQ(policy->Granted(probe_endpoint, option),
              option != PrivilegedOption::kLocalTargets)
        << GrantName(option);
  }
}

TEST(Policy, ARulesGrantsReplaceTheDefaultForItsCallers) {
  auto policy = Make(R"(
    identities { identity: "unix:uid=0" grants: "none" }
    identities { identity: "unix:gid=100" grants: ["mark", "interface"] }
    identities { identity: "token:noc" grants: "*" }
    identities { identity: "unix:uid=7" enabled_probes: "Ping" })");
  EXPECT_FALSE(policy->Granted(Root(), PrivilegedOption::kMark));
  EXPECT_TRUE(policy->Granted(Unix(1000, 1000, {100}), PrivilegedOption::kMark));
  EXPECT_TRUE(policy->Granted(Unix(1000, 100), PrivilegedOption::kInterface));
  EXPECT_FALSE(policy->Granted(Unix(1000, 100), PrivilegedOption::kSourceAddress));
  EXPECT_TRUE(policy->Granted(Tcp("token:noc"), PrivilegedOption::kTcpPayload));
  EXPECT_FALSE(policy->Granted(Tcp("token:ci"), PrivilegedOption::kTcpPayload));
  // A rule without grants keeps the default (none for uid 7).
  EXPECT_FALSE(policy->Granted(Unix(7, 7), PrivilegedOption::kMark));
  EXPECT_THAT(
      policy->CheckGrants(Unix(1000, 100), "the Ping probe",
                          {PrivilegedOption::kSourceAddress}),
      StatusIs(kDenied, HasSubstr("its rule policy.identities[1] ('unix:gid=100') "
                                  "grants mark, interface")));
}

TEST(Policy, AUidRuleLimitsThatUidAndNotRoot) {
  auto policy =
      Make(R"(identities { identity: "unix:uid=1000" enabled_probes: "Ping" })");
  EXPECT_THAT(policy->CheckProbe(Unix(1000, 1000), "Ping"), IsOk());
  EXPECT_THAT(policy->CheckProbe(Unix(1000, 1000), "TcpConnect"),
              StatusIs(kDenied, HasSubstr("not enabled for unix:uid=1000")));
  EXPECT_THAT(policy->CheckProbe(Root(), "TcpConnect"), IsOk());
}

TEST(Policy, ATcpCallerWithoutTheGrantCannotTargetTheAgentsHost) {
  auto policy = Make(R"(identities { identity: "token:ops" grants: "local_targets" })");
  auto anonymous = TargetPolicyFor(policy, Tcp(""));
  for (const char* ip : {"127.0.0.1", "127.9.9.9", "::1", "0.0.0.0",
                         "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"}) {
    EXPECT_THAT(
        anonymous->CheckTarget(At(ip), "targets[0]"),
        StatusIs(kDenied, AllOf(HasSubstr(absl::StrCat("targets[0]: ")),
                                HasSubstr("needs the grant local_targets"),
                                HasSubstr("anonymous caller ipv4:198.18.0.11:4000"))))
        << ip;
    EXPECT_THAT(TargetPolicyFor(policy, Tcp("token:ops"))->CheckTarget(At(ip), "t"),
                IsOk())
        << ip;
    EXPECT_THAT(TargetPolicyFor(policy, Unix(1000, 1000))->CheckTarget(At(ip), "t"),
                IsOk())
        << ip;
  }
  EXPECT_THAT(anonymous->CheckTarget(At("198.18.0.11"), "t"), IsOk());
  // The policy's own rules still apply behind the check.
  EXPECT_THAT(anonymous->CheckTarget(At("169.254.169.254"), "t"),
              StatusIs(kDenied, HasSubstr("policy.deny")));
}

TEST(Policy, AUnixCallersLimitsCountByUidWhateverItsName) {
  Caller named = Unix(1000, 1000);
  named.identity = "unix:uid=1000(alice)";
  EXPECT_EQ(named.Key(), "unix:uid=1000");
  EXPECT_EQ(Unix(1000, 1000).Key(), named.Key());
  EXPECT_EQ(Tcp("token:ci").Key(), "token:ci");
}

// A multicast send looped back to the host reaches its listeners: a local
// target, free to unix callers, granted to TCP ones.
TEST(Policy, ALoopedBackMulticastSendIsALocalTarget) {
  auto policy = Make(R"(identities { identity: "token:ops" grants: "local_targets" })");
  const PrivilegedOption local[] = {PrivilegedOption::kLocalTargets};
  EXPECT_THAT(policy->CheckGrants(Unix(1000, 1000), "the Multicast probe", local),
              IsOk());
  EXPECT_THAT(policy->CheckGrants(Tcp("token:ops"), "the Multicast probe", local),
              IsOk());
  EXPECT_THAT(policy->CheckGrants(Tcp("token:ci"), "the Multicast probe", local),
              StatusIs(kDenied, HasSubstr("needs the grant 'local_targets'")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
