#ifndef NETPROBE_AGENT_NET_CAPABILITIES_H_
#define NETPROBE_AGENT_NET_CAPABILITIES_H_

#include <string>
#include <vector>

namespace netprobe {

// The network-related capabilities in this process's effective set, by name
// ("CAP_NET_RAW", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE").
std::vector<std::string> EffectiveNetCapabilities();

// Whether the effective set holds CAP_NET_RAW (raw sockets, capture).
bool HasNetRaw();

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_CAPABILITIES_H_
