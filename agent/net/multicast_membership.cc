#include "agent/net/multicast_membership.h"

#include <errno.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

// Linux >= 4.20; older C libraries lack the name.
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

namespace netprobe {
namespace {

std::string InterfaceName(unsigned index) {
  char name[IF_NAMESIZE] = {};
  if (index == 0) return "the kernel's choice";
  if (if_indextoname(index, name) == nullptr) return absl::StrCat("index ", index);
  return name;
}

}  // namespace

absl::StatusOr<MulticastMembership> MulticastMembership::Join(
    int fd, const SocketAddress& group, unsigned interface_index,
    const std::optional<SocketAddress>& source) {
  MulticastMembership m;
  m.level_ = group.family() == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  m.source_specific_ = source.has_value();
  m.request_.gsr_interface = interface_index;
  std::memcpy(&m.request_.gsr_group, group.get(), group.length());
  int rc;
  if (source) {
    std::memcpy(&m.request_.gsr_source, source->get(), source->length());
    rc = setsockopt(fd, m.level_, MCAST_JOIN_SOURCE_GROUP, &m.request_,
                    sizeof(m.request_));
  } else {
    group_req any{};
    any.gr_interface = interface_index;
    std::memcpy(&any.gr_group, group.get(), group.length());
    rc = setsockopt(fd, m.level_, MCAST_JOIN_GROUP, &any, sizeof(any));
  }
  if (rc != 0) {
    const int err = errno;
    if (err == ENODEV && interface_index == 0) {
      // The caller left out an argument this host needs (CLI: -I): exit 2.
      return absl::InvalidArgumentError(
          absl::StrCat("interface: no route to the group ", group.ip(),
                       " picks an interface to join on; pass an interface"));
    }
    return PosixError(
        absl::StrCat("setsockopt(",
                     source ? "MCAST_JOIN_SOURCE_GROUP " : "MCAST_JOIN_GROUP ",
                     group.ip(), source ? absl::StrCat(" from ", source->ip()) : "",
                     " on ", InterfaceName(interface_index), ")"),
        err);
  }
  m.fd_ = fd;
  return m;
}

MulticastMembership& MulticastMembership::operator=(
    MulticastMembership&& other) noexcept {
  if (this != &other) {
    Leave();
    fd_ = std::exchange(other.fd_, -1);
    level_ = other.level_;
    source_specific_ = other.source_specific_;
    request_ = other.request_;
  }
  return *this;
}

void MulticastMembership::Leave() {
  if (fd_ < 0) return;
  if (source_specific_) {
    setsockopt(fd_, level_, MCAST_LEAVE_SOURCE_GROUP, &request_, sizeof(request_));
  } else {
    group_req any{};
    any.gr_interface = request_.gsr_interface;
    any.gr_group = request_.gsr_group;
    setsockopt(fd_, level_, MCAST_LEAVE_GROUP, &any, sizeof(any));
  }
  // A failed leave needs no handling: closing the socket leaves as well.
  fd_ = -1;
}

absl::Status ReceiveOnlyJoinedGroups(int fd, int family) {
  const int off = 0;
  const bool v6 = family == AF_INET6;
  if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                 v6 ? IPV6_MULTICAST_ALL : IP_MULTICAST_ALL, &off, sizeof(off)) != 0) {
    return PosixError(
        v6 ? "setsockopt(IPV6_MULTICAST_ALL)" : "setsockopt(IP_MULTICAST_ALL)", errno);
  }
  return absl::OkStatus();
}

}  // namespace netprobe
