#include "agent/net/socket_setup.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/net/flow_label.h"
#include "agent/net/small_file.h"
#include "common/posix_error.h"

namespace netprobe {

absl::Status SetSocketOption(int fd, int level, int name, const void* value,
                             socklen_t length, const char* what) {
  if (setsockopt(fd, level, name, value, length) != 0) {
    return PosixError(absl::StrCat("setsockopt(", what, ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status SetIntSocketOption(int fd, int level, int name, int value,
                                const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return PosixError(absl::StrCat("setsockopt(", what, "=", value, ")"), errno);
  }
  return absl::OkStatus();
}

namespace {

// TCP_CONGESTION; an algorithm the kernel does not have (ENOENT) or does not
// allow this process (EPERM) gets the list of those it allows.
absl::Status SetCongestion(int fd, const std::string& name) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), name.size()) == 0) {
    return absl::OkStatus();
  }
  const int err = errno;
  absl::Status status =
      PosixError(absl::StrCat("setsockopt(TCP_CONGESTION=", name, ")"), err);
  if (err != ENOENT && err != EPERM) return status;
  absl::StatusOr<std::string> allowed =
      ReadSmallFile("/proc/sys/net/ipv4/tcp_allowed_congestion_control");
  if (!allowed.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(
      "congestion control \"", name, "\" is ",
      err == ENOENT ? "not known to the kernel" : "not allowed without CAP_NET_ADMIN",
      "; allowed: ", absl::StripAsciiWhitespace(*allowed),
      " (/proc/sys/net/ipv4/tcp_allowed_congestion_control)"));
}

}  // namespace

absl::Status ApplySocketSetup(int fd, int family, bool tcp, const SocketSetup& setup) {
  const bool v6 = family == AF_INET6;
  if (!setup.interface.empty()) {
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, setup.interface.c_str(),
                   setup.interface.size()) != 0) {
      return PosixError(absl::StrCat("setsockopt(SO_BINDTODEVICE=", setup.interface, ")"),
                        errno);
    }
  }
  if (setup.ttl) {
    NETPROBE_RETURN_IF_ERROR(
        v6 ? SetIntSocketOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, *setup.ttl,
                                "IPV6_UNICAST_HOPS")
           : SetIntSocketOption(fd, IPPROTO_IP, IP_TTL, *setup.ttl, "IP_TTL"));
  }
  if (setup.tos) {
    NETPROBE_RETURN_IF_ERROR(
        v6 ? SetIntSocketOption(fd, IPPROTO_IPV6, IPV6_TCLASS, *setup.tos, "IPV6_TCLASS")
           : SetIntSocketOption(fd, IPPROTO_IP, IP_TOS, *setup.tos, "IP_TOS"));
  }
  if (setup.dont_fragment != SocketSetup::Df::kDefault) {
    // The IPv4 and IPv6 values are the same numbers (linux/in.h, in6.h).
    int mode = IP_PMTUDISC_DONT;
    switch (setup.dont_fragment) {
      case SocketSetup::Df::kSet:
        mode = IP_PMTUDISC_PROBE;
        break;
      case SocketSetup::Df::kDo:
        mode = IP_PMTUDISC_DO;
        break;
      case SocketSetup::Df::kWant:
        mode = IP_PMTUDISC_WANT;
        break;
      default:
        break;
    }
    NETPROBE_RETURN_IF_ERROR(v6 ? SetIntSocketOption(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
                                                     mode, "IPV6_MTU_DISCOVER")
                                : SetIntSocketOption(fd, IPPROTO_IP, IP_MTU_DISCOVER,
                                                     mode, "IP_MTU_DISCOVER"));
  }
  if (setup.send_buffer) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, SOL_SOCKET, SO_SNDBUF, *setup.send_buffer, "SO_SNDBUF"));
  }
  if (setup.receive_buffer) {
    NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(fd, SOL_SOCKET, SO_RCVBUF,
                                                *setup.receive_buffer, "SO_RCVBUF"));
  }
  if (setup.priority) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, SOL_SOCKET, SO_PRIORITY, *setup.priority, "SO_PRIORITY"));
  }
  if (setup.mark) {
    NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(
        fd, SOL_SOCKET, SO_MARK, static_cast<int>(*setup.mark), "SO_MARK"));
  }
  if (tcp && setup.tcp_nodelay) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"));
  }
  if (tcp && setup.tcp_keepalive_idle) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"));
    NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(
        fd, IPPROTO_TCP, TCP_KEEPIDLE,
        static_cast<int>(absl::ToInt64Seconds(*setup.tcp_keepalive_idle)),
        "TCP_KEEPIDLE"));
  }
  if (tcp && !setup.congestion.empty()) {
    NETPROBE_RETURN_IF_ERROR(SetCongestion(fd, setup.congestion));
  }
  if (tcp && setup.mss) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fd, IPPROTO_TCP, TCP_MAXSEG, *setup.mss, "TCP_MAXSEG"));
  }
  if (setup.flow_label && v6) {
    NETPROBE_RETURN_IF_ERROR(
        ApplyFlowLabel(fd, setup.flow_label->peer, setup.flow_label->label));
  } else if (setup.flow_label && setup.flow_label->label != 0) {
    return absl::InvalidArgumentError("flow_label: IPv4 has no flow label");
  }
  if (setup.source) {
    if (setup.source->family() != family) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.source_address: ", setup.source->ip(),
                       " is not of the target's family"));
    }
    if (bind(fd, setup.source->get(), setup.source->length()) != 0) {
      if (errno == EACCES && setup.source->port() != 0 && setup.source->port() < 1024) {
        return absl::FailedPreconditionError(absl::StrCat(
            "options.source_port: ", setup.source->port(),
            " is below 1024, which needs CAP_NET_BIND_SERVICE; the agent lacks it (it "
            "keeps it only when one of its own ports is below 1024)"));
      }
      return PosixError(absl::StrCat("bind(", setup.source->ToString(), ")"), errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace netprobe
