#ifndef NETPROBE_AGENT_PROBES_TCP_INFO_H_
#define NETPROBE_AGENT_PROBES_TCP_INFO_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe {

// Decodes a struct tcp_info as the kernel gave it: `len` bytes, which may be
// shorter (older kernel) or longer (newer) than this build's struct. Fields
// beyond `len` are left unset. The one decoder for both TCP_INFO from
// getsockopt and INET_DIAG_INFO from sock_diag.
void DecodeTcpInfo(const uint8_t* data, size_t len, v1::TcpInfo* out);

// Kernel TCP state name for a tcpi_state value ("ESTABLISHED", "SYN_SENT", ...).
absl::string_view TcpStateName(uint8_t state);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TCP_INFO_H_
