#ifndef NETPROBE_AGENT_SERVER_VERSION_H_
#define NETPROBE_AGENT_SERVER_VERSION_H_

namespace netprobe {

// Set from CMake's project(VERSION).
inline constexpr char kNetprobeVersion[] = NETPROBE_VERSION;

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_VERSION_H_
