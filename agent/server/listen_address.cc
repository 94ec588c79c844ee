#include "agent/server/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

std::string ListenAddress::ToGrpcUri() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix:", path);
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  ListenAddress out;
  if (absl::StartsWith(text, "unix:")) {
    absl::string_view path = text.substr(5);
    if (absl::StartsWith(path, "//")) path.remove_prefix(2);  // unix:///abs
    if (path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", text, "': unix socket path is empty"));
    }
    if (path.size() >= 108) {  // sizeof(sockaddr_un::sun_path)
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address '", text, "': unix socket path is longer than 107 bytes"));
    }
    out.kind = ListenAddress::Kind::kUnix;
    out.path = std::string(path);
    return out;
  }
  absl::string_view host, port;
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address '", text, "': expected [IPv6]:PORT, e.g. [::1]:7431"));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos || text.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen address '", text, "': expected HOST:PORT, [IPv6]:PORT or unix:/PATH"));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint32_t port_number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", text, "': needs a host and a port from 0 to 65535"));
  }
  out.kind = ListenAddress::Kind::kTcp;
  out.host = std::string(host);
  out.port = port_number;
  out.loopback = IsLoopbackHost(out.host);
  return out;
}

absl::Status CheckListenerSecurity(const ListenAddress& address, bool insecure,
                                   ListenerSecurity security) {
  if (address.kind == ListenAddress::Kind::kUnix || insecure) return absl::OkStatus();
  if (security.identifies_callers && (address.loopback || security.tls)) {
    return absl::OkStatus();
  }
  if (address.loopback) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address.ToGrpcUri(),
        "': any local user reaches a loopback port, so it takes only callers who "
        "prove who they are: tokens (--token-file) or client certificates "
        "(--tls-cert, --tls-key, --client-ca); or pass --insecure to accept anyone "
        "(the unix socket, the default, names each caller by uid)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "listen address '", address.ToGrpcUri(),
      "' is not loopback: anyone who reaches it could send probes. Say who may "
      "call: TLS (--tls-cert, --tls-key) with client certificates (--client-ca) "
      "or tokens (--token-file); or pass --insecure to accept anyone"));
}

}  // namespace netprobe
