#ifndef NETPROBE_AGENT_SCHEDULE_MESH_CONFIG_H_
#define NETPROBE_AGENT_SCHEDULE_MESH_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/schedule/probe_request.h"
#include "netprobe/v1/schedule.pb.h"

namespace netprobe {

// The series of every mesh entry together may not exceed this (per agent).
inline constexpr uint64_t kMaxMeshSeries = 100000;
inline constexpr int kMaxMeshNames = 16;
inline constexpr uint32_t kDefaultMeshMaxPeers = 1000;
inline constexpr uint32_t kMaxMeshPeers = 10000;
inline constexpr uint32_t kDefaultMeshRate = 100;
inline constexpr uint32_t kMaxMeshRate = 10000;
inline constexpr uint32_t kMaxMeshCount = 10;
inline constexpr int kMaxMeshBuckets = 16;
// Attempts of one mesh entry in flight at once: below the policy's
// concurrent_probes_per_client (64), so a round never meets that limit.
inline constexpr size_t kMeshInFlight = 32;

// One kind a mesh probes: "Ping", "UdpEcho" or "TcpConnect" (the policy's
// and the metrics' names) and its port (0 for ping).
struct MeshKind {
  std::string name;
  uint16_t port = 0;
};

// A validated MeshRequest.
struct MeshPlan {
  std::vector<std::string> names;
  int family = 0;  // AF_UNSPEC, AF_INET or AF_INET6
  bool include_self = false;
  std::optional<absl::Duration> resolve_interval;  // unset: every round
  uint32_t max_peers = kDefaultMeshMaxPeers;
  uint32_t rate = kDefaultMeshRate;  // attempts per second, all kinds
  absl::Duration timeout = absl::Seconds(1);
  uint32_t count = 1;
  std::vector<MeshKind> kinds;  // ping, then udp echo, then tcp
  std::vector<double> rtt_buckets;
  bool no_rtt_histogram = false;
  std::optional<uint32_t> size;

  // Series per peer and kind: success, loss, average RTT, and with the
  // histogram its buckets + Inf, _sum and _count.
  uint64_t SeriesPerPeerKind() const {
    return 3 + (no_rtt_histogram ? 0 : rtt_buckets.size() + 3);
  }
  uint64_t MaxSeries() const {
    return uint64_t{max_peers} * kinds.size() * SeriesPerPeerKind();
  }
};

// A validated scheduled_probes entry with a mesh.
struct MeshSpec {
  std::string name;
  std::string field;  // "scheduled_probes[i]", for errors
  absl::Duration interval = absl::Seconds(60);
  // Sorted by name: the extra labels of its metrics.
  std::vector<std::pair<std::string, std::string>> labels;
  MeshPlan plan;
  v1::MeshRequest request;  // as configured: a changed entry is a new one
  // The last expansion (start, reload); empty until expanded.
  std::vector<std::string> peers;
};

// The default RTT histogram bounds (seconds).
const std::vector<double>& DefaultMeshRttBuckets();

// Checks `request` of an entry with interval `interval`; errors are
// INVALID_ARGUMENT naming `field` (e.g. "scheduled_probes[0]") + ".mesh.X"
// and the limit.
absl::StatusOr<MeshPlan> ValidateMesh(const v1::MeshRequest& request,
                                      absl::Duration interval, absl::string_view field);

// Whether a round over `peers` fits in `interval`: peers x kinds x count
// attempts at the rate, plus the timeout. INVALID_ARGUMENT on
// `field`.interval naming both limits.
absl::Status CheckMeshBudget(const MeshPlan& plan, size_t peers, absl::Duration interval,
                             absl::string_view field);

// How long a round's attempts are spread over: the interval less the
// timeout (the last one must end before the next round is due).
absl::Duration MeshSpreadWindow(const MeshPlan& plan, absl::Duration interval);

// The request of one attempt of `kind` at `peer` (an address as text):
// count 1, the mesh's timeout and size; ping "ADDR", UDP echo and TCP
// "ADDR:PORT" or "[v6]:PORT".
ProbeRequest MeshAttemptRequest(const MeshPlan& plan, const MeshKind& kind,
                                const std::string& peer);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_MESH_CONFIG_H_
