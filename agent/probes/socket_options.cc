#include "agent/probes/socket_options.h"

#include <errno.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/net/capabilities.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

absl::Status OutOfRange(const char* field, uint64_t value, uint64_t min, uint64_t max) {
  return absl::InvalidArgumentError(
      absl::StrFormat("options.%s: %d is out of range: it must be from %d to %d", field,
                      value, min, max));
}

bool HasNetAdmin() {
  auto caps = EffectiveNetCapabilities();
  return std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN") != caps.end();
}

// A source address is usable when a socket can bind to it.
absl::Status CheckLocalAddress(const SocketAddress& address) {
  UniqueFd fd(socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("socket", errno);
  SocketAddress probe = address;
  probe.set_port(0);
  if (bind(fd.get(), probe.get(), probe.length()) != 0) {
    if (errno == EADDRNOTAVAIL) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.source_address: ", address.ip(), " is not an address of this host"));
    }
    return PosixError(absl::StrCat("options.source_address: bind ", address.ip()), errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SocketSetup> ValidateSocketOptions(const v1::SocketOptions& options,
                                                  bool tcp) {
  SocketSetup setup;
  if (!options.interface().empty()) {
    if (options.interface().size() >= IFNAMSIZ ||
        if_nametoindex(options.interface().c_str()) == 0) {
      return absl::NotFoundError(absl::StrCat("options.interface: no interface '",
                                              options.interface(), "' on this host"));
    }
    setup.interface = options.interface();
  }
  if (options.source_port() > 65535) {
    return OutOfRange("source_port", options.source_port(), 0, 65535);
  }
  if (!options.source_address().empty()) {
    auto address = SocketAddress::FromLiteral(
        options.source_address(), static_cast<uint16_t>(options.source_port()));
    if (!address) {
      return absl::InvalidArgumentError(absl::StrCat("options.source_address: '",
                                                     options.source_address(),
                                                     "' is not an IP address"));
    }
    NETPROBE_RETURN_IF_ERROR(CheckLocalAddress(*address));
    setup.source = *address;
  } else if (options.source_port() != 0) {
    return absl::InvalidArgumentError(
        "options.source_port: needs options.source_address (the address to bind)");
  }
  if (options.has_ttl()) {
    if (options.ttl() < 1 || options.ttl() > 255)
      return OutOfRange("ttl", options.ttl(), 1, 255);
    setup.ttl = static_cast<int>(options.ttl());
  }
  if (options.has_tos()) {
    if (options.tos() > 255) return OutOfRange("tos", options.tos(), 0, 255);
    setup.tos = static_cast<int>(options.tos());
  }
  switch (options.dont_fragment()) {
    case v1::DONT_FRAGMENT_SET:
      setup.dont_fragment = SocketSetup::Df::kSet;
      break;
    case v1::DONT_FRAGMENT_CLEAR:
      setup.dont_fragment = SocketSetup::Df::kClear;
      break;
    case v1::DONT_FRAGMENT_DO:
      setup.dont_fragment = SocketSetup::Df::kDo;
      break;
    case v1::DONT_FRAGMENT_WANT:
      setup.dont_fragment = SocketSetup::Df::kWant;
      break;
    default:
      break;
  }
  constexpr uint32_t kMinBuffer = 1024, kMaxBuffer = 64 << 20;
  if (options.has_send_buffer()) {
    if (options.send_buffer() < kMinBuffer || options.send_buffer() > kMaxBuffer) {
      return OutOfRange("send_buffer", options.send_buffer(), kMinBuffer, kMaxBuffer);
    }
    setup.send_buffer = static_cast<int>(options.send_buffer());
  }
  if (options.has_receive_buffer()) {
    if (options.receive_buffer() < kMinBuffer || options.receive_buffer() > kMaxBuffer) {
      return OutOfRange("receive_buffer", options.receive_buffer(), kMinBuffer,
                        kMaxBuffer);
    }
    setup.receive_buffer = static_cast<int>(options.receive_buffer());
  }
  if (options.has_priority()) {
    if (options.priority() > 255)
      return OutOfRange("priority", options.priority(), 0, 255);
    // Above 6 the kernel wants CAP_NET_ADMIN.
    if (options.priority() > 6 && !HasNetAdmin()) {
      return absl::FailedPreconditionError(
          absl::StrCat("options.priority: ", options.priority(),
                       " is above 6, which needs CAP_NET_ADMIN; the agent lacks it"));
    }
    setup.priority = static_cast<int>(options.priority());
  }
  if (options.has_mark()) {
    if (!HasNetAdmin()) {
      return absl::FailedPreconditionError(
          "options.mark: setting SO_MARK needs CAP_NET_ADMIN, which the agent lacks");
    }
    setup.mark = options.mark();
  }
  if (options.tcp_nodelay()) {
    if (!tcp)
      return absl::InvalidArgumentError("options.tcp_nodelay: applies to TCP only");
    setup.tcp_nodelay = true;
  }
  if (options.has_tcp_keepalive_idle()) {
    if (!tcp) {
      return absl::InvalidArgumentError(
          "options.tcp_keepalive_idle: applies to TCP only");
    }
    const absl::Duration idle = absl::Seconds(options.tcp_keepalive_idle().seconds()) +
                                absl::Nanoseconds(options.tcp_keepalive_idle().nanos());
    if (idle < absl::Seconds(1) || idle > absl::Hours(2)) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.tcp_keepalive_idle: ", absl::FormatDuration(idle),
                       " is out of range: it must be from 1s to 2h"));
    }
    setup.tcp_keepalive_idle = idle;
  }
  return setup;
}

int FamilyFromProto(v1::AddressFamily family) {
  switch (family) {
    case v1::ADDRESS_FAMILY_IPV4:
      return AF_INET;
    case v1::ADDRESS_FAMILY_IPV6:
      return AF_INET6;
    default:
      return AF_UNSPEC;
  }
}

}  // namespace netprobe
