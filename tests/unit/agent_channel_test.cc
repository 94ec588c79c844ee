#include "client/agent_channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

TEST(IsLocalTargetTest, UnixAndLoopbackOnly) {
  for (const char* local :
       {"unix:/run/netprobe/agent.sock", "unix-abstract:np", "127.0.0.1:7431",
        "127.9.9.9:1", "localhost:7431", "LOCALHOST:1", "[::1]:7431", "ipv4:127.0.0.1:1",
        "ipv6:[::1]:1", "dns:///localhost:7431", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_TRUE(IsLocalTarget(local)) << local;
  }
  for (const char* remote :
       {"198.18.0.10:7431", "[2001:2::a]:7431", "agent1:7431", "dns:///agent1:7431",
        "dns://8.8.8.8/localhost.example:1", "128.0.0.1:1", "localhost.evil.example:1"}) {
    EXPECT_FALSE(IsLocalTarget(remote)) << remote;
  }
}

ChannelSecurity Token() {
  ChannelSecurity s;
  s.token = "0123456789abcdef0123456789abcdef";
  s.token_source = "$NETPROBE_TOKEN";
  return s;
}

TEST(CheckChannelSecurityTest, TokensStayOffPlaintextNetworks) {
  EXPECT_THAT(CheckChannelSecurity(Token(), "198.18.0.10:7431"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not sending the token ($NETPROBE_TOKEN) in plaintext "
                                 "to 198.18.0.10:7431")));
  EXPECT_THAT(CheckChannelSecurity(Token(), "127.0.0.1:7431"), IsOk());
  EXPECT_THAT(CheckChannelSecurity(Token(), "unix:/run/netprobe/agent.sock"), IsOk());
  ChannelSecurity tls = Token();
  tls.tls_ca = "PEM";
  EXPECT_THAT(CheckChannelSecurity(tls, "198.18.0.10:7431"), IsOk());
}

TEST(CheckChannelSecurityTest, TlsOptionsNeedTheCaAndATcpAgent) {
  ChannelSecurity cert;
  cert.tls_cert = "PEM";
  cert.tls_key = "PEM";
  EXPECT_THAT(CheckChannelSecurity(cert, "198.18.0.10:7431"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs --tls-ca")));
  ChannelSecurity name;
  name.tls_server_name = "agent1";
  EXPECT_THAT(CheckChannelSecurity(name, "198.18.0.10:7431"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs --tls-ca")));
  ChannelSecurity unix_tls;
  unix_tls.tls_ca = "PEM";
  EXPECT_THAT(CheckChannelSecurity(unix_tls, "unix:/run/netprobe/agent.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unix socket")));
}

TEST(ClassifyAuthProblemTest, Grpc151Messages) {
  using grpc::Status;
  using grpc::StatusCode;
  EXPECT_EQ(ClassifyAuthProblem(Status(StatusCode::UNAUTHENTICATED, "x")),
            AuthProblem::kTokenRefused);
  EXPECT_EQ(ClassifyAuthProblem(
                Status(StatusCode::UNAVAILABLE,
                       "failed to connect to all addresses; last error: UNKNOWN: "
                       "ipv4:127.0.0.1:1: Ssl handshake failed: SSL_ERROR_SSL: "
                       "error:0A000086:SSL routines::certificate verify failed")),
            AuthProblem::kAgentNotTrusted);
  EXPECT_EQ(ClassifyAuthProblem(Status(StatusCode::UNAVAILABLE,
                                       "failed to connect to all addresses; last error: "
                                       "UNKNOWN: ipv4:127.0.0.1:1: Peer name other is "
                                       "not in peer certificate")),
            AuthProblem::kAgentNotTrusted);
  EXPECT_EQ(ClassifyAuthProblem(
                Status(StatusCode::UNAVAILABLE,
                       "failed to connect to all addresses; last error: UNKNOWN: "
                       "ipv4:127.0.0.1:1: Ssl handshake failed: SSL_ERROR_SSL: "
                       "error:0A00010B:SSL routines::wrong version number")),
            AuthProblem::kAgentWithoutTls);
  EXPECT_EQ(ClassifyAuthProblem(Status(StatusCode::UNAVAILABLE,
                                       "failed to connect to all addresses; last error: "
                                       "UNAVAILABLE: ipv4:127.0.0.1:1: Socket closed")),
            AuthProblem::kHandshakeRefused);
  // Not about authentication: the agent is down, or went away mid-call.
  EXPECT_EQ(
      ClassifyAuthProblem(Status(
          StatusCode::UNAVAILABLE,
          "failed to connect to all addresses; last error: UNKNOWN: "
          "ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused")),
      AuthProblem::kNone);
  EXPECT_EQ(ClassifyAuthProblem(Status(StatusCode::UNAVAILABLE, "Socket closed")),
            AuthProblem::kNone);
  EXPECT_EQ(ClassifyAuthProblem(Status(StatusCode::PERMISSION_DENIED, "policy")),
            AuthProblem::kNone);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
