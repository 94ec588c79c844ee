#include "agent/server/server_limits.h"

#include <grpc/impl/codegen/grpc_types.h>
#include <grpcpp/resource_quota.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// gRPC takes milliseconds as int; "no limit" is INT_MAX.
int Millis(absl::Duration d) {
  if (d >= absl::Milliseconds(INT_MAX)) return INT_MAX;
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Status OutOfRange(absl::string_view field, absl::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("server_limits.", field, ": must be ", range));
}

template <typename T>
absl::Status CheckNumber(absl::string_view field, uint64_t value, uint64_t min,
                         uint64_t max, T* out) {
  if (value < min || value > max) {
    return OutOfRange(field, absl::StrCat("from ", min, " to ", max));
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

// `zero_allowed`: 0 means "off" for this field.
absl::Status CheckDuration(absl::string_view field, const google::protobuf::Duration& d,
                           absl::Duration min, absl::Duration max, bool zero_allowed,
                           absl::Duration* out) {
  const absl::Duration value = FromProto(d);
  if (zero_allowed && value == absl::ZeroDuration()) {
    *out = value;
    return absl::OkStatus();
  }
  if (value < min || value > max) {
    return OutOfRange(field, absl::StrCat(zero_allowed ? "0 (off) or " : "", "from ",
                                          absl::FormatDuration(min), " to ",
                                          absl::FormatDuration(max)));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerLimits> ServerLimitsFromConfig(const v1::ServerLimits& config) {
  ServerLimits limits;
  // Up to gRPC's int milliseconds (24.8 days).
  const absl::Duration kLongest = absl::Hours(24 * 24);
  if (config.has_max_concurrent_streams()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_concurrent_streams",
                                         config.max_concurrent_streams(), 1, 100000,
                                         &limits.max_concurrent_streams));
  }
  if (config.has_max_receive_message_bytes()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_receive_message_bytes",
                                         config.max_receive_message_bytes(), 1024,
                                         64 << 20, &limits.max_receive_message_bytes));
  }
  if (config.has_max_send_message_bytes()) {
    // Below 2 MiB, messages the agent builds (1 MiB of events plus one)
    // would fail their streams.
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_send_message_bytes",
                                         config.max_send_message_bytes(), 2 << 20,
                                         1 << 30, &limits.max_send_message_bytes));
  }
  if (config.has_max_metadata_bytes()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_metadata_bytes",
                                         config.max_metadata_bytes(), 1024, 1 << 20,
                                         &limits.max_metadata_bytes));
  }
  if (config.has_handshake_timeout()) {
    NETPROBE_RETURN_IF_ERROR(
        CheckDuration("handshake_timeout", config.handshake_timeout(), absl::Seconds(1),
                      absl::Minutes(10), false, &limits.handshake_timeout));
  }
  if (config.has_keepalive_time()) {
    NETPROBE_RETURN_IF_ERROR(CheckDuration("keepalive_time", config.keepalive_time(),
                                           absl::Seconds(10), absl::Hours(2), false,
                                           &limits.keepalive_time));
  }
  if (config.has_keepalive_timeout()) {
    NETPROBE_RETURN_IF_ERROR(
        CheckDuration("keepalive_timeout", config.keepalive_timeout(), absl::Seconds(1),
                      absl::Minutes(10), false, &limits.keepalive_timeout));
  }
  if (config.has_min_client_ping_interval()) {
    NETPROBE_RETURN_IF_ERROR(CheckDuration(
        "min_client_ping_interval", config.min_client_ping_interval(), absl::Seconds(1),
        absl::Hours(2), false, &limits.min_client_ping_interval));
  }
  if (config.has_max_ping_strikes()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_ping_strikes", config.max_ping_strikes(), 1,
                                         100, &limits.max_ping_strikes));
  }
  if (config.has_max_connection_idle()) {
    NETPROBE_RETURN_IF_ERROR(CheckDuration("max_connection_idle",
                                           config.max_connection_idle(), absl::Seconds(1),
                                           kLongest, true, &limits.max_connection_idle));
  }
  if (config.has_max_connection_age()) {
    NETPROBE_RETURN_IF_ERROR(CheckDuration("max_connection_age",
                                           config.max_connection_age(), absl::Minutes(1),
                                           kLongest, true, &limits.max_connection_age));
  }
  if (config.has_max_connection_age_grace()) {
    NETPROBE_RETURN_IF_ERROR(CheckDuration(
        "max_connection_age_grace", config.max_connection_age_grace(),
        absl::ZeroDuration(), kLongest, true, &limits.max_connection_age_grace));
  }
  if (config.has_memory_quota_bytes()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("memory_quota_bytes",
                                         config.memory_quota_bytes(), uint64_t{16} << 20,
                                         uint64_t{64} << 30, &limits.memory_quota_bytes));
  }
  if (config.has_max_threads()) {
    NETPROBE_RETURN_IF_ERROR(
        CheckNumber("max_threads", config.max_threads(), 2, 1024, &limits.max_threads));
  }
  if (config.has_max_resets_per_connection()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_resets_per_connection",
                                         config.max_resets_per_connection(), 10, 100000,
                                         &limits.max_resets_per_connection));
  }
  if (config.has_audit_lines_per_connection()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("audit_lines_per_connection",
                                         config.audit_lines_per_connection(), 1, 1000000,
                                         &limits.audit_lines_per_connection));
  }
  if (config.has_max_unix_connections_per_uid()) {
    NETPROBE_RETURN_IF_ERROR(CheckNumber("max_unix_connections_per_uid",
                                         config.max_unix_connections_per_uid(), 1, 65536,
                                         &limits.max_unix_connections_per_uid));
  }
  return limits;
}

std::vector<std::pair<std::string, int>> ServerLimitArgs(const ServerLimits& limits) {
  // 0 means "off" in our config; gRPC's "off" is INT_MAX.
  auto off_when_zero = [](absl::Duration d) {
    return d == absl::ZeroDuration() ? INT_MAX : Millis(d);
  };
  return {
      {GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {GRPC_ARG_MAX_METADATA_SIZE, limits.max_metadata_bytes},
      {GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, Millis(limits.handshake_timeout)},
      {GRPC_ARG_KEEPALIVE_TIME_MS, Millis(limits.keepalive_time)},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(limits.keepalive_timeout)},
      // The agent's own keepalive pings must not stop after two pings
      // without data (gRPC's default): an idle capture would lose its
      // dead-peer detection.
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},
      {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
       Millis(limits.min_client_ping_interval)},
      {GRPC_ARG_HTTP2_MAX_PING_STRIKES, limits.max_ping_strikes},
      {GRPC_ARG_MAX_CONNECTION_IDLE_MS, off_when_zero(limits.max_connection_idle)},
      {GRPC_ARG_MAX_CONNECTION_AGE_MS, off_when_zero(limits.max_connection_age)},
      {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, Millis(limits.max_connection_age_grace)},
  };
}

void ApplyServerLimits(const ServerLimits& limits, grpc::ServerBuilder* builder) {
  for (const auto& [name, value] : ServerLimitArgs(limits)) {
    builder->AddChannelArgument(name, value);
  }
  // The builder's own settings: BuildAndStart() would let them override
  // channel arguments of the same names.
  builder->SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder->SetMaxSendMessageSize(limits.max_send_message_bytes);
  grpc::ResourceQuota quota("netprobe-agent");
  quota.Resize(limits.memory_quota_bytes);
  quota.SetMaxThreads(limits.max_threads);
  // The builder keeps its own reference to the quota.
  builder->SetResourceQuota(quota);
}

}  // namespace netprobe
