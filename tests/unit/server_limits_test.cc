#include "agent/server/server_limits.h"

#include <gmock/gmock.h>
#include <grpc/impl/codegen/grpc_types.h>
#include <gtest/gtest.h>

#include <climits>
#include <map>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

std::map<std::string, int> Args(const ServerLimits& limits) {
  std::map<std::string, int> out;
  for (const auto& [name, value] : ServerLimitArgs(limits)) out[name] = value;
  return out;
}

TEST(ServerLimitsTest, DefaultsAsDocumented) {
  auto limits = ServerLimitsFromConfig(v1::ServerLimits());
  ASSERT_THAT(limits, IsOk());
  EXPECT_EQ(limits->max_receive_message_bytes, 2 << 20);
  EXPECT_EQ(limits->max_send_message_bytes, 16 << 20);
  EXPECT_EQ(limits->memory_quota_bytes, uint64_t{256} << 20);
  std::map<std::string, int> args = Args(*limits);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONCURRENT_STREAMS], 100);
  EXPECT_EQ(args[GRPC_ARG_MAX_METADATA_SIZE], 8192);
  EXPECT_EQ(args[GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS], 10000);
  EXPECT_EQ(args[GRPC_ARG_KEEPALIVE_TIME_MS], 60000);
  EXPECT_EQ(args[GRPC_ARG_KEEPALIVE_TIMEOUT_MS], 20000);
  EXPECT_EQ(args[GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA], 0);
  EXPECT_EQ(args[GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS], 10000);
  EXPECT_EQ(args[GRPC_ARG_HTTP2_MAX_PING_STRIKES], 2);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_IDLE_MS], 300000);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_AGE_MS], 3600000);
  // Open calls are never cut by the age limit.
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS], INT_MAX);
  EXPECT_EQ(limits->max_resets_per_connection, 200u);
  EXPECT_EQ(limits->audit_lines_per_connection, 100u);
  EXPECT_EQ(limits->max_unix_connections_per_uid, 64u);
}

TEST(ServerLimitsTest, ConfigReplacesFieldsAndZeroTurnsAgeAndIdleOff) {
  v1::ServerLimits config;
  config.set_max_concurrent_streams(8);
  config.set_max_receive_message_bytes(4096);
  config.mutable_handshake_timeout()->set_seconds(3);
  config.mutable_max_connection_idle()->set_seconds(0);
  config.mutable_max_connection_age()->set_seconds(0);
  config.mutable_max_connection_age_grace()->set_seconds(30);
  config.set_max_threads(4);
  config.set_max_resets_per_connection(50);
  config.set_audit_lines_per_connection(1);
  auto limits = ServerLimitsFromConfig(config);
  ASSERT_THAT(limits, IsOk());
  EXPECT_EQ(limits->max_receive_message_bytes, 4096);
  EXPECT_EQ(limits->max_threads, 4);
  EXPECT_EQ(limits->max_resets_per_connection, 50u);
  EXPECT_EQ(limits->audit_lines_per_connection, 1u);
  std::map<std::string, int> args = Args(*limits);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONCURRENT_STREAMS], 8);
  EXPECT_EQ(args[GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS], 3000);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_IDLE_MS], INT_MAX);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_AGE_MS], INT_MAX);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS], 30000);
}

TEST(ServerLimitsTest, OutOfRangeNamesTheField) {
  v1::ServerLimits streams;
  streams.set_max_concurrent_streams(0);
  EXPECT_THAT(
      ServerLimitsFromConfig(streams),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("server_limits.max_concurrent_streams: must be from 1")));
  v1::ServerLimits send;
  send.set_max_send_message_bytes(1 << 20);  // below what the agent builds
  EXPECT_THAT(
      ServerLimitsFromConfig(send),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_send_message_bytes")));
  v1::ServerLimits handshake;
  handshake.mutable_handshake_timeout()->set_seconds(0);  // 0 is not "off" here
  EXPECT_THAT(ServerLimitsFromConfig(handshake),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("handshake_timeout: must be from 1s to 10m")));
  v1::ServerLimits age;
  age.mutable_max_connection_age()->set_seconds(30);
  EXPECT_THAT(ServerLimitsFromConfig(age),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_connection_age: must be 0 (off) or from 1m")));
  v1::ServerLimits resets;
  resets.set_max_resets_per_connection(9);  // a few Ctrl-Cs must not end a connection
  EXPECT_THAT(
      ServerLimitsFromConfig(resets),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("server_limits.max_resets_per_connection: must be from 10 "
                         "to 100000")));
  v1::ServerLimits lines;
  lines.set_audit_lines_per_connection(0);  // every caller's first calls are audited
  EXPECT_THAT(ServerLimitsFromConfig(lines),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("audit_lines_per_connection: must be from 1")));
  v1::ServerLimits unix_connections;
  unix_connections.set_max_unix_connections_per_uid(0);  // nobody but root could call
  EXPECT_THAT(ServerLimitsFromConfig(unix_connections),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("server_limits.max_unix_connections_per_uid: must be "
                                 "from 1 to 65536")));
  unix_connections.set_max_unix_connections_per_uid(3);
  auto three = ServerLimitsFromConfig(unix_connections);
  ASSERT_THAT(three, IsOk());
  EXPECT_EQ(three->max_unix_connections_per_uid, 3u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
