#ifndef NETPROBE_TESTS_LAB_NETNS_SOCKET_H_
#define NETPROBE_TESTS_LAB_NETNS_SOCKET_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/net/socket_address.h"
#include "agent/net/unique_fd.h"

namespace netprobe::testing {

// Opens a socket inside network namespace `netns` (a name under /run/netns).
// A socket keeps the namespace it was created in, so the test process can
// serve targets in lab hosts without helper processes.
absl::StatusOr<UniqueFd> OpenSocketInNetns(const std::string& netns, int domain, int type,
                                           int protocol = 0);

// A TCP listener on [::]:0 (dual-stack) in `netns`; `port` is the bound port.
struct NetnsListener {
  UniqueFd fd;
  uint16_t port = 0;
};
absl::StatusOr<NetnsListener> ListenTcpInNetns(const std::string& netns,
                                               int backlog = 4096);

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_LAB_NETNS_SOCKET_H_
