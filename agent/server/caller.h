#ifndef NETPROBE_AGENT_SERVER_CALLER_H_
#define NETPROBE_AGENT_SERVER_CALLER_H_

#include <grpcpp/grpcpp.h>

#include <string>

namespace netprobe {

// Who is calling, as far as the transport says: what the policy's
// per-identity rules and the audit log know of a caller.
struct Caller {
  // "x509:<subject CN or first SAN>" (mutual TLS), "token:<name>" (a bearer
  // token from the token file), or "" (anonymous: the unix socket or a
  // plaintext TCP listener).
  std::string identity;
  // gRPC's peer string: "ipv4:198.18.0.11:40112", "unix:".
  std::string peer;
  // What limits count against: the identity, else the peer's address (port
  // dropped), else "unix".
  std::string Key() const;
};

Caller CallerOf(const grpc::ServerContextBase& context);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_CALLER_H_
