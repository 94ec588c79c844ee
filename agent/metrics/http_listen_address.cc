#include "agent/metrics/http_listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe::metrics {
namespace {

absl::Status Invalid(std::string_view value, absl::string_view why) {
  absl::string_view text(value.data(), value.size());
  return absl::InvalidArgumentError(
      absl::StrCat("--metrics-listen '", text, "': ", why,
                   " (expected HOST:PORT or [IPv6]:PORT with an IP address, e.g. "
                   "127.0.0.1:9431 or [::1]:9431; port 0 lets the kernel choose)"));
}

}  // namespace

absl::StatusOr<HttpListenAddress> ParseHttpListenAddress(std::string_view text) {
  std::string_view host, port;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos)
      return Invalid(text, "no ']:' after the IPv6 address");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    bracketed = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Invalid(text, "no port");
    if (text.find(':') != colon) return Invalid(text, "an IPv6 address needs [brackets]");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint32_t port_number = 0;
  if (!absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &port_number) ||
      port_number > 65535 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return Invalid(text, "the port is not a number from 0 to 65535");
  }
  HttpListenAddress out;
  out.port = static_cast<uint16_t>(port_number);
  if (host == "localhost" && !bracketed) {
    out.host = "127.0.0.1";
    out.loopback = true;
    return out;
  }
  out.host = std::string(host);
  in_addr v4;
  in6_addr v6;
  if (!bracketed && inet_pton(AF_INET, out.host.c_str(), &v4) == 1) {
    out.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (bracketed && inet_pton(AF_INET6, out.host.c_str(), &v6) == 1) {
    out.loopback = IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  } else {
    return Invalid(text, bracketed ? "not an IPv6 address in the brackets"
                                   : "the host is not an IPv4 address or localhost");
  }
  return out;
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  absl::string_view h(host.data(), host.size());
  if (h.find(':') != absl::string_view::npos) return absl::StrCat("[", h, "]:", port);
  return absl::StrCat(h, ":", port);
}

}  // namespace netprobe::metrics
