#include "agent/policy/caller.h"

#include "absl/strings/match.h"

namespace netprobe {

std::string Caller::Key() const {
  if (!identity.empty()) return identity;
  // "ipv4:198.18.0.11:40112" -> "ipv4:198.18.0.11"; "ipv6:[::1]:5" -> "ipv6:[::1]".
  const size_t colon = peer.rfind(':');
  if (absl::StartsWith(peer, "ipv") && colon != std::string::npos && colon > 5) {
    return peer.substr(0, colon);
  }
  return peer.empty() ? "unix" : peer;
}

}  // namespace netprobe
