#ifndef NETPROBE_AGENT_POLICY_CALLER_H_
#define NETPROBE_AGENT_POLICY_CALLER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace netprobe {

// A unix-socket caller as the kernel names it (SO_PEERCRED, SO_PEERGROUPS):
// what policy rules by uid, user and group match.
struct UnixCaller {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  pid_t pid = 0;
};

// Who is calling, as far as the transport says: what the policy's
// per-identity rules and the audit log know of a caller.
struct Caller {
  // "unix:uid=<uid>(<user>)" (a unix-socket caller; the name when the agent
  // could look it up), "token:<name>" (a bearer token from the token file;
  // it wins over a client certificate), "x509:<subject CN>" (mutual TLS; the
  // first subject alternative name when the certificate has no CN), or ""
  // (anonymous: TCP without client certificates or tokens).
  std::string identity;
  // gRPC's peer string ("ipv4:198.18.0.11:40112"), or for a unix caller
  // "unix:pid=<pid>,gid=<gid>(<group>)".
  std::string peer;
  // Set for callers on the unix socket.
  std::optional<UnixCaller> unix_peer;
  // Where the request came from. Requests of the agent's config are its
  // administrator's: a scheduled probe holds every grant; a /probe module's
  // options too, but its target comes from the HTTP query, so a local one
  // is refused as for any caller over TCP.
  enum class Origin { kCall, kSchedule, kProbeEndpoint };
  Origin origin = Origin::kCall;
  // What limits count against: "unix:uid=N" for a unix caller, else the
  // identity, else the peer's address (port dropped), else "unix".
  std::string Key() const;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_CALLER_H_
