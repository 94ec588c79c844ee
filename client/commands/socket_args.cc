#include "client/commands/socket_args.h"

#include <arpa/inet.h>

namespace netprobe::client {
namespace {

bool IsIpLiteral(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace

absl::Status ApplySocketArgs(const ParsedOptions& options, v1::SocketOptions* out,
                             v1::AddressFamily* family) {
  if (options.Has("interface")) {
    const std::string value = options.Get("interface");
    if (IsIpLiteral(value)) {
      out->set_source_address(value);
    } else {
      out->set_interface(value);
    }
  }
  if (options.Has("ipv4") && options.Has("ipv6")) {
    return absl::InvalidArgumentError("-4 and -6 exclude each other");
  }
  if (options.Has("ipv4")) *family = v1::ADDRESS_FAMILY_IPV4;
  if (options.Has("ipv6")) *family = v1::ADDRESS_FAMILY_IPV6;
  auto ttl = options.GetUint("ttl", 1, 255);
  if (!ttl.ok()) return ttl.status();
  if (*ttl) out->set_ttl(static_cast<uint32_t>(**ttl));
  auto tos = options.GetUint("tos", 0, 255);
  if (!tos.ok()) return tos.status();
  if (*tos) out->set_tos(static_cast<uint32_t>(**tos));
  return absl::OkStatus();
}

}  // namespace netprobe::client
