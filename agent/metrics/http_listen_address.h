#ifndef NETPROBE_AGENT_METRICS_HTTP_LISTEN_ADDRESS_H_
#define NETPROBE_AGENT_METRICS_HTTP_LISTEN_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace netprobe::metrics {

// A parsed --metrics-listen value.
struct HttpListenAddress {
  std::string host;       // an IP address, without brackets: "127.0.0.1", "::1", "::"
  uint16_t port = 0;      // 0: the kernel chooses
  bool loopback = false;  // only this host can connect
};

// Parses "HOST:PORT" or "[IPv6]:PORT". HOST is an IP address or "localhost"
// (taken as 127.0.0.1): no name lookups at startup, and bind errors name a
// single address. INVALID_ARGUMENT names --metrics-listen and the value.
absl::StatusOr<HttpListenAddress> ParseHttpListenAddress(std::string_view text);

// "127.0.0.1:9431", "[::1]:9431".
std::string FormatHostPort(std::string_view host, uint16_t port);

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_HTTP_LISTEN_ADDRESS_H_
