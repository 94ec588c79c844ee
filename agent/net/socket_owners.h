#ifndef NETPROBE_AGENT_NET_SOCKET_OWNERS_H_
#define NETPROBE_AGENT_NET_SOCKET_OWNERS_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace netprobe {

// A process holding a socket open, as `ss -p` shows it.
struct SocketOwner {
  uint32_t pid = 0;
  std::string name;  // /proc/PID/comm
  int fd = -1;
};

using SocketOwners = std::unordered_map<uint64_t, std::vector<SocketOwner>>;

// Socket inode -> the processes holding it, from the "socket:[INODE]" links
// in /proc/PID/fd (what ss -p reads). Processes that exit meanwhile, or
// whose fds this process may not read, are skipped. Blocking file-system
// work: for a worker thread, never the event loop. `proc` is for tests.
SocketOwners ReadSocketOwners(const std::string& proc = "/proc");

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SOCKET_OWNERS_H_
