#include "agent/policy/caller.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace netprobe {

std::string Caller::Key() const {
  // By uid alone: a name that could not be looked up, or changed, is the
  // same caller.
  if (unix_peer.has_value()) return absl::StrCat("unix:uid=", unix_peer->uid);
  if (!identity.empty()) return identity;
  // "ipv4:198.18.0.11:40112" -> "ipv4:198.18.0.11"; "ipv6:[::1]:5" -> "ipv6:[::1]".
  const size_t colon = peer.rfind(':');
  if (absl::StartsWith(peer, "ipv") && colon != std::string::npos && colon > 5) {
    return peer.substr(0, colon);
  }
  return peer.empty() ? "unix" : peer;
}

}  // namespace netprobe
