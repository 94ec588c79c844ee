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

// Whether a listener on `address` is allowed. Unix sockets and loopback TCP
// always are; other TCP when `authenticated` (TCP listeners have TLS and
// callers prove who they are: client certificates or tokens), else only with
// `insecure`. TLS alone would still let anyone who reaches it send probes.
absl::Status CheckListenerSecurity(const ListenAddress& address, bool insecure,
                                   bool authenticated = false);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_LISTEN_ADDRESS_H_
