#include "agent/server/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <string>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

ListenAddress ParseOk(absl::string_view text) {
  auto parsed = ParseListenAddress(text);
  EXPECT_THAT(parsed, IsOk()) << text;
  return parsed.ok() ? *parsed : ListenAddress();
}

TEST(ParseListenAddressTest, UnixAbsolutePath) {
  ListenAddress a = ParseOk("unix:/run/netprobe/agent.sock");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(a.path, "/run/netprobe/agent.sock");
  EXPECT_EQ(a.ToGrpcUri(), "unix:/run/netprobe/agent.sock");
}

TEST(ParseListenAddressTest, UnixTripleSlashIsAbsolute) {
  ListenAddress a = ParseOk("unix:///run/netprobe/agent.sock");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(a.path, "/run/netprobe/agent.sock");
  EXPECT_EQ(a.ToGrpcUri(), "unix:/run/netprobe/agent.sock");
}

TEST(ParseListenAddressTest, UnixRelativePath) {
  ListenAddress a = ParseOk("unix:agent.sock");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(a.path, "agent.sock");
  EXPECT_EQ(a.ToGrpcUri(), "unix:agent.sock");
}

TEST(ParseListenAddressTest, UnixEmptyPathRejected) {
  for (const char* text : {"unix:", "unix://"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(text), HasSubstr("empty"))));
  }
}

TEST(ParseListenAddressTest, UnixPathLengthLimitIsSunPath) {
  static_assert(sizeof(sockaddr_un{}.sun_path) == 108);
  const std::string longest = "/" + std::string(106, 'a');  // 107 bytes + NUL fits
  ListenAddress a = ParseOk("unix:" + longest);
  EXPECT_EQ(a.path, longest);

  const std::string too_long = "/" + std::string(107, 'a');  // 108: no room for NUL
  EXPECT_THAT(ParseListenAddress("unix:" + too_long),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 107")));
  EXPECT_THAT(ParseListenAddress("unix:" + std::string(300, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
}

TEST(ParseListenAddressTest, Ipv4LoopbackWithKernelChosenPort) {
  ListenAddress a = ParseOk("127.0.0.1:0");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 0u);
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(a.ToGrpcUri(), "127.0.0.1:0");
}

TEST(ParseListenAddressTest, WholeLoopbackNetIsLoopback) {
  EXPECT_TRUE(ParseOk("127.1.2.3:80").loopback);
  EXPECT_FALSE(ParseOk("128.0.0.1:80").loopback);
  EXPECT_FALSE(ParseOk("126.255.255.255:80").loopback);
}

TEST(ParseListenAddressTest, Ipv6LoopbackInBrackets) {
  ListenAddress a = ParseOk("[::1]:7431");
  EXPECT_EQ(a.kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7431u);
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(a.ToGrpcUri(), "[::1]:7431");
}

TEST(ParseListenAddressTest, LocalhostIsLoopback) {
  ListenAddress a = ParseOk("localhost:1");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 1u);
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(a.ToGrpcUri(), "localhost:1");
}

TEST(ParseListenAddressTest, WildcardsAndOtherHostsAreNotLoopback) {
  for (const char* text : {"0.0.0.0:7431", "[::]:7431", "198.18.0.2:7431",
                           "[2001:db8::1]:7431", "agent.example:7431"}) {
    ListenAddress a = ParseOk(text);
    EXPECT_EQ(a.kind, ListenAddress::Kind::kTcp) << text;
    EXPECT_FALSE(a.loopback) << text;
  }
}

TEST(ParseListenAddressTest, V4MappedLoopbackIsLoopback) {
  ListenAddress a = ParseOk("[::ffff:127.0.0.1]:1");
  EXPECT_EQ(a.host, "::ffff:127.0.0.1");
  EXPECT_TRUE(a.loopback);
  EXPECT_EQ(a.ToGrpcUri(), "[::ffff:127.0.0.1]:1");
  EXPECT_FALSE(ParseOk("[::ffff:10.0.0.1]:1").loopback);
}

TEST(ParseListenAddressTest, PortLimits) {
  EXPECT_EQ(ParseOk("127.0.0.1:65535").port, 65535u);
  for (const char* text :
       {"127.0.0.1:65536", "127.0.0.1:70000", "127.0.0.1:abc", "127.0.0.1:", "127.0.0.1",
        "[::1]:", "[::1]:99999", "127.0.0.1:-1", "127.0.0.1:4294967297", ":7431"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(text)))
        << text;
  }
}

TEST(ParseListenAddressTest, MissingPortMessageSaysWhatIsExpected) {
  EXPECT_THAT(ParseListenAddress("127.0.0.1:70000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 to 65535")));
  EXPECT_THAT(ParseListenAddress("localhost"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HOST:PORT")));
}

TEST(ParseListenAddressTest, Ipv6WithoutBracketsRejected) {
  for (const char* text : {"::1:7431", "::1", "2001:db8::1:80", "fe80::1"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[IPv6]:PORT")))
        << text;
  }
}

TEST(ParseListenAddressTest, BadBracketsRejected) {
  for (const char* text : {"[::1]", "[::1", "[::1]7431", "[]:7431"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(text)))
        << text;
  }
}

TEST(ParseListenAddressTest, ToGrpcUriRoundTrips) {
  for (const char* text :
       {"unix:/run/netprobe/agent.sock", "unix:agent.sock", "127.0.0.1:0", "[::1]:7431",
        "localhost:1", "0.0.0.0:7431", "[::ffff:127.0.0.1]:1", "[2001:db8::1]:65535"}) {
    ListenAddress a = ParseOk(text);
    EXPECT_EQ(a.ToGrpcUri(), text);
    ListenAddress again = ParseOk(a.ToGrpcUri());
    EXPECT_EQ(again.kind, a.kind) << text;
    EXPECT_EQ(again.path, a.path) << text;
    EXPECT_EQ(again.host, a.host) << text;
    EXPECT_EQ(again.port, a.port) << text;
    EXPECT_EQ(again.loopback, a.loopback) << text;
  }
}

TEST(CheckListenerSecurityTest, NonLoopbackTcpNeedsInsecure) {
  ListenAddress any = ParseOk("0.0.0.0:7431");
  EXPECT_THAT(CheckListenerSecurity(any, /*insecure=*/false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--insecure"), HasSubstr("0.0.0.0:7431"))));
  EXPECT_THAT(CheckListenerSecurity(any, /*insecure=*/true), IsOk());

  ListenAddress v6 = ParseOk("[2001:db8::1]:7431");
  EXPECT_THAT(CheckListenerSecurity(v6, /*insecure=*/false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--insecure")));
  EXPECT_THAT(CheckListenerSecurity(v6, /*insecure=*/true), IsOk());
}

TEST(CheckListenerSecurityTest, NonLoopbackTcpWithAuthenticatedCallersNeedsNoInsecure) {
  for (const char* text : {"0.0.0.0:7431", "[2001:db8::1]:7431", "198.18.0.10:0"}) {
    ListenAddress a = ParseOk(text);
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false,
                                      {.tls = true, .identifies_callers = true}),
                IsOk())
        << text;
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false,
                                      {.tls = false, .identifies_callers = true}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not loopback")))
        << "tokens in plaintext off loopback: " << text;
  }
  EXPECT_THAT(CheckListenerSecurity(ParseOk("0.0.0.0:7431"), /*insecure=*/false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls-cert"), HasSubstr("--client-ca"),
                             HasSubstr("--token-file"), HasSubstr("--insecure"))));
}

TEST(CheckListenerSecurityTest, UnixAlwaysAllowed) {
  for (const char* text : {"unix:/run/netprobe/agent.sock", "unix:rel.sock"}) {
    ListenAddress a = ParseOk(text);
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false), IsOk()) << text;
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/true), IsOk()) << text;
  }
}

// Any local user reaches a loopback port: anonymous callers there only with
// --insecure; tokens (plaintext is fine on loopback) or client certificates.
TEST(CheckListenerSecurityTest, LoopbackTcpNeedsCallersWhoProveWhoTheyAre) {
  for (const char* text :
       {"127.0.0.1:0", "[::1]:7431", "localhost:1", "[::ffff:127.0.0.1]:1"}) {
    ListenAddress a = ParseOk(text);
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("any local user"), HasSubstr("--token-file"),
                               HasSubstr("--client-ca"), HasSubstr("--insecure"))))
        << text;
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false, {.tls = true}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "TLS alone names no caller: " << text;
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/false,
                                      {.tls = false, .identifies_callers = true}),
                IsOk())
        << text;
    EXPECT_THAT(CheckListenerSecurity(a, /*insecure=*/true), IsOk()) << text;
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
