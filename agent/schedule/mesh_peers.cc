#include "agent/schedule/mesh_peers.h"

#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/local_addresses.h"
#include "agent/net/resolver.h"
#include "agent/schedule/schedule_config.h"

namespace netprobe {
namespace {

const char* FamilyText(int family) {
  if (family == AF_INET) return "IPv4 address";
  if (family == AF_INET6) return "IPv6 address";
  return "address";
}

std::string Quoted(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const std::string& name : names) quoted.push_back(absl::StrCat("'", name, "'"));
  return absl::StrJoin(quoted, ", ");
}

// Sorted as addresses: IPv4 first, then by their bytes.
bool AddressLess(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return a.family() == AF_INET;
  const auto bytes = [](const SocketAddress& s) {
    if (s.family() == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(s.get());
      return std::string(reinterpret_cast<const char*>(&in->sin_addr), 4);
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(s.get());
    return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), 16);
  };
  return bytes(a) < bytes(b);
}

}  // namespace

MeshHost RealMeshHost() {
  MeshHost host;
  host.resolve = ResolveAllNow;
  host.is_own = IsLocalAddress;
  return host;
}

absl::StatusOr<std::vector<std::string>> ExpandMesh(const MeshPlan& plan,
                                                    const MeshHost& host,
                                                    absl::string_view field) {
  std::vector<SocketAddress> peers;
  std::set<std::string> seen;
  std::vector<std::string> own;
  for (size_t i = 0; i < plan.names.size(); ++i) {
    const std::string at = absl::StrCat(field, ".mesh.peers[", i, "]");
    absl::StatusOr<std::vector<SocketAddress>> addresses =
        host.resolve(plan.names[i], plan.family, at);
    if (!addresses.ok()) return addresses.status();
    if (addresses->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ": '", plan.names[i], "' resolves to no ", FamilyText(plan.family)));
    }
    for (const SocketAddress& address : *addresses) {
      if (!seen.insert(address.ip()).second) continue;
      if (!plan.include_self && host.is_own(address)) {
        own.push_back(address.ip());
        continue;
      }
      peers.push_back(address);
    }
  }
  if (peers.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, plan.names.size() == 1 ? ".mesh.peers[0]: " : ".mesh.peers: ",
        Quoted(plan.names), plan.names.size() == 1 ? " resolves" : " resolve",
        " only to this agent's own addresses (", absl::StrJoin(own, ", "),
        "), which are left out unless mesh.include_self is set"));
  }
  if (peers.size() > plan.max_peers) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".mesh.max_peers: ", Quoted(plan.names),
                     plan.names.size() == 1 ? " expands to " : " expand to ",
                     peers.size(), " peers, above max_peers ", plan.max_peers));
  }
  std::sort(peers.begin(), peers.end(), AddressLess);
  std::vector<std::string> out;
  out.reserve(peers.size());
  for (const SocketAddress& peer : peers) out.push_back(peer.ip());
  return out;
}

absl::Status ExpandMeshesNow(ScheduleConfig* schedule, const MeshHost& host) {
  for (MeshSpec& mesh : schedule->meshes) {
    absl::StatusOr<std::vector<std::string>> peers =
        ExpandMesh(mesh.plan, host, mesh.field);
    if (!peers.ok()) return peers.status();
    if (absl::Status fits =
            CheckMeshBudget(mesh.plan, peers->size(), mesh.interval, mesh.field);
        !fits.ok()) {
      return fits;
    }
    mesh.peers = *std::move(peers);
  }
  return absl::OkStatus();
}

}  // namespace netprobe
