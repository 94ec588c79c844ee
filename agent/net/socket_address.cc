#include "agent/net/socket_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe {

std::optional<SocketAddress> SocketAddress::FromLiteral(absl::string_view ip,
                                                        uint16_t port) {
  SocketAddress out;
  std::string text(ip);
  std::string scope;
  if (size_t pct = text.find('%'); pct != std::string::npos) {
    scope = text.substr(pct + 1);
    text.resize(pct);
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (scope.empty() && inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return out;
  }
  out.storage_ = {};
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    if (!scope.empty()) {
      unsigned index = if_nametoindex(scope.c_str());
      if (index == 0 && !absl::SimpleAtoi(scope, &index)) return std::nullopt;
      v6->sin6_scope_id = index;
    }
    return out;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  if (sa != nullptr && len > 0) {
    std::memcpy(&out.storage_, sa, std::min<size_t>(len, sizeof(out.storage_)));
  }
  return out;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(get())->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(get())->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

void SocketAddress::set_flow_info(uint32_t flow_info) {
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_flowinfo = htonl(flow_info);
  }
}

uint32_t SocketAddress::flow_info() const {
  if (family() != AF_INET6) return 0;
  return ntohl(reinterpret_cast<const sockaddr_in6*>(get())->sin6_flowinfo);
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(get())->sin_addr, buf,
              sizeof(buf));
    return buf;
  }
  if (family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(get());
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    std::string out = buf;
    char name[IF_NAMESIZE] = {};
    if (v6->sin6_scope_id != 0 && if_indextoname(v6->sin6_scope_id, name) != nullptr) {
      absl::StrAppend(&out, "%", name);
    }
    return out;
  }
  return "";
}

std::string SocketAddress::ToString() const {
  if (family() == AF_INET6) return absl::StrCat("[", ip(), "]:", port());
  return absl::StrCat(ip(), ":", port());
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, absl::string_view field) {
  absl::string_view host, port;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", text, "' is not [IPv6]:PORT (e.g. [2001:db8::1]:443)"));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": '", text, "' has no port; write HOST:PORT"));
    }
    if (text.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", text, "': put an IPv6 address in brackets, [ADDR]:PORT"));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": '", text, "' has no host"));
  }
  uint32_t number = 0;
  if (!absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": port '", port, "' is out of range: it must be from 1 to 65535"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(number)};
}

}  // namespace netprobe
