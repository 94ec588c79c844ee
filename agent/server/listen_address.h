#ifndef NETPROBE_AGENT_SERVER_LISTEN_ADDRESS_H_
#define NETPROBE_AGENT_SERVER_LISTEN_ADDRESS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe {

// A parsed --listen value.
struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kTcp;
  std::string path;       // kUnix: filesystem path
  std::string host;       // kTcp: without brackets ("::1", "127.0.0.1", "localhost")
  uint32_t port = 0;      // kTcp: 0 = let the kernel choose
  bool loopback = false;  // kTcp: host is loopback-only

  // The form gRPC's ServerBuilder::AddListeningPort takes.
  std::string ToGrpcUri() const;
};

// Parses "unix:/abs/path", "unix:relative", "host:port", "[v6]:port".
// INVALID_ARGUMENT names the value and what is wrong with it.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

// How TCP listeners are secured, as far as CheckListenerSecurity asks.
struct ListenerSecurity {
  bool tls = false;
  // Callers prove who they are: client certificates (with TLS) or tokens.
  bool identifies_callers = false;
};

// Whether a listener on `address` is allowed. Unix sockets always are (the
// kernel names each caller, and the file's mode and group decide who may
// connect). A TCP listener, loopback included, needs callers that prove who
// they are, and off loopback TLS as well (a token must not cross the network
// in plaintext); else only with `insecure`, which takes anonymous callers.
// Any local user reaches a loopback port, so an anonymous one would hand
// every user the agent's powers.
absl::Status CheckListenerSecurity(const ListenAddress& address, bool insecure,
                                   ListenerSecurity security = {});

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_LISTEN_ADDRESS_H_
