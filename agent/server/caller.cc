#include "agent/server/caller.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/server/token_auth.h"
#include "agent/server/unix_peers.h"

namespace netprobe {

std::string IdentityOf(const grpc::AuthContext& auth) {
  auto first = [&auth](const char* property) -> std::string {
    const std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
    if (values.empty()) return "";
    return std::string(values.front().data(), values.front().size());
  };
  // Set by TokenAuthProcessor after checking the call's token.
  if (auth.GetPeerIdentityPropertyName() == kTokenNameProperty) {
    const std::string name = first(kTokenNameProperty);
    return name.empty() ? "" : absl::StrCat("token:", name);
  }
  // gRPC's TLS names the peer identity after the client certificate: its
  // SANs when it has any, else its CN; there is no client certificate
  // unless the agent required and verified one (--client-ca). Other
  // identities are not callers': local credentials (loopback listeners
  // with tokens) name their transport, "local".
  if (auth.GetPeerIdentityPropertyName() != GRPC_X509_SAN_PROPERTY_NAME &&
      auth.GetPeerIdentityPropertyName() != GRPC_X509_CN_PROPERTY_NAME) {
    return "";
  }
  // The CN first: one value, what `openssl x509 -subject` shows and a
  // client CA usually names people and tools by; SANs (DNS names, URIs,
  // emails) may be many.
  std::string name = first(GRPC_X509_CN_PROPERTY_NAME);
  if (name.empty()) name = first(GRPC_X509_SAN_PROPERTY_NAME);
  return name.empty() ? "" : absl::StrCat("x509:", name);
}

Caller CallerOf(const grpc::ServerContextBase& context) {
  const std::string peer = context.peer();
  // A connection of the agent's unix sockets (UnixAcceptor).
  if (std::optional<Caller> unix_caller = UnixPeers::Get().Find(peer)) {
    return *std::move(unix_caller);
  }
  Caller caller;
  caller.peer = peer;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) caller.identity = IdentityOf(*auth);
  return caller;
}

}  // namespace netprobe
