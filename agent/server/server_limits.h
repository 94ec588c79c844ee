#ifndef NETPROBE_AGENT_SERVER_SERVER_LIMITS_H_
#define NETPROBE_AGENT_SERVER_SERVER_LIMITS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// Limits of the gRPC server against load from any caller, authenticated or
// not. Debian's gRPC 1.51 lacks DoS hardening added upstream later, and its
// defaults are generous (no stream limit, 2 minute handshakes, unlimited
// connection lifetimes): these bound what one connection can hold.
struct ServerLimits {
  // Calls open on one connection; more wait in the client. gRPC's default
  // is unlimited; the CLI opens one, and 100 is HTTP/2's recommended floor.
  int max_concurrent_streams = 100;
  // The largest valid request is a ping of 4,096 names of 253 bytes (~1.05
  // MB); 2 MiB leaves room and refuses anything bigger before it is parsed.
  int max_receive_message_bytes = 2 << 20;
  // A response message batches events up to 1 MiB plus one event (a
  // captured packet up to 256 KiB): 16 MiB is far above any we build; the
  // CLI accepts 64 MiB.
  int max_send_message_bytes = 16 << 20;
  // gRPC's own default: a token and the usual headers need well under 1 KiB.
  int max_metadata_bytes = 8 << 10;
  // gRPC's default is 120 s: a peer that opens connections and never
  // finishes the handshake would hold each that long.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Dead-peer detection for open calls: a capture waiting for a rare packet
  // sends nothing for hours, so without pings a vanished client's probe
  // would run on.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients may keep connections alive through NATs with pings every 10 s;
  // faster pings (a ping flood) cost them the connection after 2 strikes.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  int max_ping_strikes = 2;
  // Idle connections (no calls) are closed; clients reconnect on demand.
  absl::Duration max_connection_idle = absl::Minutes(5);
  // Old connections take no new calls, so every hour each client
  // handshakes again (an expired or revoked certificate shows); open calls
  // run on to their end: the grace is unlimited, so long captures, watches
  // and pings until Ctrl-C are never cut by age.
  absl::Duration max_connection_age = absl::Hours(1);
  absl::Duration max_connection_age_grace = absl::InfiniteDuration();
  // gRPC's buffers (under pressure it shrinks windows and refuses new
  // streams); the probes' own memory is bounded by their request limits.
  uint64_t memory_quota_bytes = uint64_t{256} << 20;
  // Threads of synchronous services (the ResourceQuota's cap; the agent
  // serves none: every service, reflection too, uses the callback API).
  int max_threads = 32;
  // CallGuard: resets per connection within 10 s before it is closed (a
  // flood resets thousands a second, each call costing ~20 KB until gRPC
  // frees it; Ctrl-C and deadlines reset one at a time), and audit lines
  // per connection within 10 s before they are summarised.
  uint32_t max_resets_per_connection = 200;
  uint32_t audit_lines_per_connection = 100;
  // Open unix connections per uid (root excepted): each costs the agent a
  // descriptor, and the CLI holds one per run; 64 is far above what a person
  // runs at once, and far below the agent's descriptor limit.
  uint32_t max_unix_connections_per_uid = 64;
};

// The defaults with the fields set in `config` replaced. INVALID_ARGUMENT
// names a field outside its range.
absl::StatusOr<ServerLimits> ServerLimitsFromConfig(const v1::ServerLimits& config);

// The channel arguments for `limits`, as (name, value) pairs (the message
// sizes are set through the builder's own setters).
std::vector<std::pair<std::string, int>> ServerLimitArgs(const ServerLimits& limits);

// Sets every limit on `builder`.
void ApplyServerLimits(const ServerLimits& limits, grpc::ServerBuilder* builder);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_SERVER_LIMITS_H_
