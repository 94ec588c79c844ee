#include "agent/schedule/mesh_config.h"

#include <sys/socket.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string Text(absl::Duration d) { return absl::FormatDuration(d); }

absl::Status InRange(uint64_t value, uint64_t low, uint64_t high,
                     absl::string_view field) {
  if (value < low) return Invalid(field, absl::StrCat(value, " is below ", low));
  if (value > high) return Invalid(field, absl::StrCat(value, " is above ", high));
  return absl::OkStatus();
}

absl::Status Port(uint32_t port, absl::string_view field) {
  if (port > 65535) return Invalid(field, absl::StrCat(port, " is above 65535"));
  return absl::OkStatus();
}

}  // namespace

const std::vector<double>& DefaultMeshRttBuckets() {
  static const std::vector<double> buckets = {100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3,
                                              5e-3,   10e-3,  25e-3,  100e-3, 1.0};
  return buckets;
}

absl::StatusOr<MeshPlan> ValidateMesh(const v1::MeshRequest& request,
                                      absl::Duration interval, absl::string_view field) {
  const std::string at = absl::StrCat(field, ".mesh");
  MeshPlan plan;
  if (request.peers_size() < 1 || request.peers_size() > kMaxMeshNames) {
    return Invalid(at + ".peers", absl::StrCat(request.peers_size(), " names; give 1 to ",
                                               kMaxMeshNames));
  }
  for (int i = 0; i < request.peers_size(); ++i) {
    const std::string& name = request.peers(i);
    if (name.empty() || name.size() > 253) {
      return Invalid(absl::StrCat(at, ".peers[", i, "]"),
                     absl::StrCat("'", name,
                                  "' is not a name or address of 1 to 253 "
                                  "characters"));
    }
    plan.names.push_back(name);
  }
  switch (request.family()) {
    case v1::ADDRESS_FAMILY_UNSPECIFIED:
      plan.family = AF_UNSPEC;
      break;
    case v1::ADDRESS_FAMILY_IPV4:
      plan.family = AF_INET;
      break;
    case v1::ADDRESS_FAMILY_IPV6:
      plan.family = AF_INET6;
      break;
    default:
      return Invalid(at + ".family", absl::StrCat(request.family(), " is not a family"));
  }
  plan.include_self = request.include_self();
  if (request.has_resolve_interval()) {
    const absl::Duration every = FromProto(request.resolve_interval());
    if (every < absl::Seconds(1) || every > absl::Hours(24)) {
      return Invalid(at + ".resolve_interval",
                     absl::StrCat(Text(every), " is not from 1s to 24h"));
    }
    plan.resolve_interval = every;
  }
  if (request.has_max_peers()) {
    if (absl::Status ok =
            InRange(request.max_peers(), 1, kMaxMeshPeers, at + ".max_peers");
        !ok.ok()) {
      return ok;
    }
    plan.max_peers = request.max_peers();
  }
  if (request.has_max_attempts_per_second()) {
    if (absl::Status ok = InRange(request.max_attempts_per_second(), 1, kMaxMeshRate,
                                  at + ".max_attempts_per_second");
        !ok.ok()) {
      return ok;
    }
    plan.rate = request.max_attempts_per_second();
  }
  if (request.has_timeout()) {
    plan.timeout = FromProto(request.timeout());
    if (plan.timeout < absl::Milliseconds(10) || plan.timeout > absl::Seconds(10)) {
      return Invalid(at + ".timeout",
                     absl::StrCat(Text(plan.timeout), " is not from 10ms to 10s"));
    }
  }
  if (plan.timeout >= interval) {
    return Invalid(
        at + ".timeout",
        absl::StrCat(Text(plan.timeout), " is not below the interval ", Text(interval)));
  }
  if (request.count() > kMaxMeshCount) {
    return Invalid(at + ".count",
                   absl::StrCat(request.count(), " is above ", kMaxMeshCount));
  }
  plan.count = request.count() == 0 ? 1 : request.count();
  if (absl::Status ok = Port(request.udp_echo_port(), at + ".udp_echo_port"); !ok.ok()) {
    return ok;
  }
  if (absl::Status ok = Port(request.tcp_port(), at + ".tcp_port"); !ok.ok()) return ok;
  if (request.ping()) plan.kinds.push_back({"Ping", 0});
  if (request.udp_echo_port() != 0) {
    plan.kinds.push_back({"UdpEcho", static_cast<uint16_t>(request.udp_echo_port())});
  }
  if (request.tcp_port() != 0) {
    plan.kinds.push_back({"TcpConnect", static_cast<uint16_t>(request.tcp_port())});
  }
  if (plan.kinds.empty()) {
    return Invalid(at, "no kind: set ping, udp_echo_port or tcp_port (at least one)");
  }
  if (request.rtt_buckets_size() > kMaxMeshBuckets) {
    return Invalid(at + ".rtt_buckets",
                   absl::StrCat(request.rtt_buckets_size(), " buckets; give 1 to ",
                                kMaxMeshBuckets));
  }
  for (int i = 0; i < request.rtt_buckets_size(); ++i) {
    const double bound = request.rtt_buckets(i);
    const std::string bucket = absl::StrCat(at, ".rtt_buckets[", i, "]");
    if (!std::isfinite(bound) || bound <= 0) {
      return Invalid(bucket, absl::StrCat(bound, " is not a number of seconds above 0"));
    }
    if (i > 0 && bound <= request.rtt_buckets(i - 1)) {
      return Invalid(bucket,
                     absl::StrCat(bound, " is not above ", request.rtt_buckets(i - 1),
                                  ": the bounds must ascend"));
    }
    plan.rtt_buckets.push_back(bound);
  }
  if (plan.rtt_buckets.empty()) plan.rtt_buckets = DefaultMeshRttBuckets();
  plan.no_rtt_histogram = request.no_rtt_histogram();
  if (request.has_size()) plan.size = request.size();
  if (plan.MaxSeries() > kMaxMeshSeries) {
    return Invalid(
        at + ".max_peers",
        absl::StrCat(plan.max_peers, " peers x ", plan.kinds.size(), " kinds x ",
                     plan.SeriesPerPeerKind(), " series is ", plan.MaxSeries(),
                     " series, above the cap of ", kMaxMeshSeries,
                     " (kMaxMeshSeries; fewer max_peers, fewer kinds or "
                     "no_rtt_histogram)"));
  }
  return plan;
}

absl::Duration MeshSpreadWindow(const MeshPlan& plan, absl::Duration interval) {
  return interval - plan.timeout;
}

absl::Status CheckMeshBudget(const MeshPlan& plan, size_t peers, absl::Duration interval,
                             absl::string_view field) {
  const uint64_t attempts = uint64_t{peers} * plan.kinds.size() * plan.count;
  const absl::Duration sending =
      absl::Seconds(static_cast<double>(attempts) / static_cast<double>(plan.rate));
  if (sending + plan.timeout <= interval) return absl::OkStatus();
  return Invalid(
      absl::StrCat(field, ".interval"),
      absl::StrCat(Text(interval), " is too short for ", peers,
                   peers == 1 ? " peer: " : " peers: ", attempts,
                   " attempts at mesh.max_attempts_per_second ", plan.rate, " take ",
                   Text(sending), ", plus mesh.timeout ", Text(plan.timeout)));
}

ProbeRequest MeshAttemptRequest(const MeshPlan& plan, const MeshKind& kind,
                                const std::string& peer) {
  const std::string host_port = absl::StrCat(
      peer.find(':') != std::string::npos ? absl::StrCat("[", peer, "]") : peer, ":",
      kind.port);
  if (kind.name == "Ping") {
    v1::PingRequest ping;
    ping.add_targets(peer);
    ping.set_count(1);
    ToProto(plan.timeout, ping.mutable_timeout());
    if (plan.size) ping.set_size(*plan.size);
    return ping;
  }
  if (kind.name == "UdpEcho") {
    v1::UdpEchoRequest udp;
    udp.set_target(host_port);
    udp.set_count(1);
    ToProto(plan.timeout, udp.mutable_timeout());
    if (plan.size) udp.set_size(*plan.size);
    return udp;
  }
  v1::TcpConnectRequest tcp;
  tcp.add_targets(host_port);
  tcp.set_count(1);
  ToProto(plan.timeout, tcp.mutable_timeout());
  return tcp;
}

}  // namespace netprobe
