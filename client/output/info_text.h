#ifndef NETPROBE_CLIENT_OUTPUT_INFO_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_INFO_TEXT_H_

#include <string>

#include "netprobe/v1/agent.pb.h"

namespace netprobe::client {

// AgentInfo for people: a header block, then interfaces the way `ip -brief`
// readers expect ("2: eth0 <up,broadcast,...> mtu 1500", "inet 198.18.0.2/24").
std::string FormatAgentInfo(const v1::AgentInfo& info);

// "3d4h", "5m12s", "41.2s" style for uptimes.
std::string FormatUptime(int64_t seconds);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_INFO_TEXT_H_
