#ifndef NETPROBE_AGENT_NET_SOCKSTAT_H_
#define NETPROBE_AGENT_NET_SOCKSTAT_H_

// The kernel's socket counters, as `ss -s` reads them: /proc/net/sockstat,
// /proc/net/sockstat6 and the Tcp line of /proc/net/snmp, for the caller's
// network namespace.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe {

struct Sockstat {
  // sockstat: "sockets: used N".
  int64_t sockets_used = 0;
  // "TCP: inuse N orphan N tw N alloc N mem N" (orphan, alloc and mem are
  // host-wide counters, not the namespace's).
  int64_t tcp_inuse = 0, tcp_orphan = 0, tcp_tw = 0, tcp_alloc = 0, tcp_mem = 0;
  int64_t udp_inuse = 0, raw_inuse = 0;
  int64_t frag_inuse = 0, frag_memory = 0;
  // sockstat6 (absent on a kernel without IPv6: all 0).
  int64_t tcp6_inuse = 0, udp6_inuse = 0, raw6_inuse = 0, frag6_inuse = 0;
  // snmp's Tcp CurrEstab: connections in ESTABLISHED or CLOSE-WAIT.
  int64_t tcp_curr_estab = 0;
};

// Adds what `text` (sockstat or sockstat6 lines, "KEY: name value ...")
// holds to `out`; unknown keys and names are skipped. INVALID_ARGUMENT for a
// value that is not a number.
absl::Status ParseSockstat(absl::string_view text, Sockstat* out);

// Sets tcp_curr_estab from /proc/net/snmp's two "Tcp:" lines (names, then
// values). INVALID_ARGUMENT when they are missing or do not match up.
absl::Status ParseSnmpTcp(absl::string_view text, Sockstat* out);

// Reads the three files under `proc_net` (blocking: a worker thread's job).
// An absent sockstat6 leaves the IPv6 figures 0; any other failure is the
// errno's status naming the file.
absl::StatusOr<Sockstat> ReadSockstat(const std::string& proc_net = "/proc/net");

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SOCKSTAT_H_
