#ifndef NETPROBE_AGENT_POLICY_CALLER_H_
#define NETPROBE_AGENT_POLICY_CALLER_H_

#include <string>

namespace netprobe {

// Who is calling, as far as the transport says: what the policy's
// per-identity rules and the audit log know of a caller.
struct Caller {
  // "token:<name>" (a bearer token from the token file; it wins over a
  // client certificate), "x509:<subject CN>" (mutual TLS; the first subject
  // alternative name when the certificate has no CN), or "" (anonymous: the
  // unix socket, or TCP without client certificates or tokens).
  std::string identity;
  // gRPC's peer string: "ipv4:198.18.0.11:40112", "unix:".
  std::string peer;
  // What limits count against: the identity, else the peer's address (port
  // dropped), else "unix".
  std::string Key() const;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_CALLER_H_
