#ifndef NETPROBE_AGENT_SCHEDULE_MESH_PEERS_H_
#define NETPROBE_AGENT_SCHEDULE_MESH_PEERS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/net/socket_address.h"
#include "agent/schedule/mesh_config.h"

namespace netprobe {

struct ScheduleConfig;

// What expanding a mesh asks of the host: seams, so tests script the
// resolver and the agent's own addresses.
struct MeshHost {
  // Every address of a name (ResolveAllNow): blocking.
  std::function<absl::StatusOr<std::vector<SocketAddress>>(
      const std::string& name, int family, absl::string_view field)>
      resolve;
  // Whether an address is the agent's own (IsLocalAddress).
  std::function<bool(const SocketAddress&)> is_own;
};

// getaddrinfo and the host's interfaces.
MeshHost RealMeshHost();

// The peers `plan`'s names expand to: every address of each name (a literal
// is itself) of the plan's family, the agent's own left out unless
// include_self, each once, sorted (as text: "198.18.0.11", "2001:2::b").
// Blocking. Errors name `field` (e.g. "scheduled_probes[0]") + ".mesh.X":
// a name that does not resolve or has no address of the family, only the
// agent's own addresses, more than max_peers.
absl::StatusOr<std::vector<std::string>> ExpandMesh(const MeshPlan& plan,
                                                    const MeshHost& host,
                                                    absl::string_view field);

// At start and reload: expands every mesh entry of `schedule` (filling its
// `peers`) and checks that a round over them fits in its interval
// (CheckMeshBudget). Blocking; the first error.
absl::Status ExpandMeshesNow(ScheduleConfig* schedule, const MeshHost& host);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_MESH_PEERS_H_
