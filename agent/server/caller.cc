#include "agent/server/caller.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

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

Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  caller.peer = context.peer();
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return caller;
  const std::string property = auth->GetPeerIdentityPropertyName();
  const std::vector<grpc::string_ref> values = auth->GetPeerIdentity();
  if (values.empty()) return caller;
  const std::string value(values.front().data(), values.front().size());
  if (property == "netprobe_token_name") {
    caller.identity = absl::StrCat("token:", value);
  } else {
    caller.identity = absl::StrCat("x509:", value);
  }
  return caller;
}

}  // namespace netprobe
