#ifndef NETPROBE_AGENT_PROBES_SOCK_DIAG_ENTRY_H_
#define NETPROBE_AGENT_PROBES_SOCK_DIAG_ENTRY_H_

#include "agent/net/sock_diag.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe {

// `socket` as the Sockets RPC reports it: protocol and ss's netid, the ss
// state name, endpoints (inet only: address, port, family; an IPv6 link-local
// address carries "%<interface>"), queues, inode, uid, the unix path and peer,
// SK_MEMINFO's rmem/wmem and buffer sizes, and TCP_INFO through DecodeTcpInfo
// with the congestion name. Processes are the caller's to add.
void ToSocketEntry(const sock_diag::Socket& socket, v1::SocketEntry* entry);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCK_DIAG_ENTRY_H_
