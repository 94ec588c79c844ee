#ifndef NETPROBE_CLIENT_VERSION_H_
#define NETPROBE_CLIENT_VERSION_H_

namespace netprobe::client {

// The client's version (the project's, from CMake), as `netprobe --version`
// prints it and capture files name their application ("netprobe 0.9.0").
inline constexpr char kClientVersion[] = NETPROBE_VERSION;

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_VERSION_H_
