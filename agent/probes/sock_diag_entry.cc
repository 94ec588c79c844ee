#include "agent/probes/sock_diag_entry.h"

#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/probes/tcp_info.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

v1::SocketProtocol ProtocolOf(const sock_diag::Socket& socket) {
  if (socket.family == AF_UNIX) return v1::SOCKET_PROTOCOL_UNIX;
  switch (socket.protocol) {
    case IPPROTO_TCP:
      return v1::SOCKET_PROTOCOL_TCP;
    case IPPROTO_UDP:
      return v1::SOCKET_PROTOCOL_UDP;
    case IPPROTO_RAW:
      return v1::SOCKET_PROTOCOL_RAW;
    default:
      return v1::SOCKET_PROTOCOL_UNSPECIFIED;
  }
}

void FillEndpoint(const sock_diag::Socket& socket, const sock_diag::Endpoint& endpoint,
                  v1::Endpoint* out) {
  std::string address = sock_diag::FormatAddress(socket.family, endpoint);
  const bool v6 = socket.family == AF_INET6;
  // fe80::/10 means nothing without its interface; other addresses name a host.
  if (v6 && endpoint.address[0] == 0xfe && (endpoint.address[1] & 0xc0) == 0x80 &&
      socket.interface != 0) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(socket.interface, name) != nullptr) {
      absl::StrAppend(&address, "%", name);
    } else {
      absl::StrAppend(&address, "%", socket.interface);
    }
  }
  out->set_address(std::move(address));
  out->set_port(endpoint.port);
  out->set_family(v6 ? v1::ADDRESS_FAMILY_IPV6 : v1::ADDRESS_FAMILY_IPV4);
}

// ss's Netid column.
absl::string_view NetidOf(const sock_diag::Socket& socket) {
  if (socket.family == AF_UNIX) {
    switch (socket.type) {
      case SOCK_STREAM:
        return "u_str";
      case SOCK_DGRAM:
        return "u_dgr";
      case SOCK_SEQPACKET:
        return "u_seq";
      default:
        return "unix";
    }
  }
  switch (socket.protocol) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    default:
      return "raw";
  }
}

// ss -o's timer names, by idiag_timer value.
absl::string_view TimerName(uint8_t timer) {
  static constexpr const char* kNames[] = {"off",      "on",      "keepalive",
                                           "timewait", "persist", "delack"};
  return timer < sizeof(kNames) / sizeof(kNames[0]) ? kNames[timer] : "unknown";
}

}  // namespace

void ToSocketEntry(const sock_diag::Socket& socket, v1::SocketEntry* entry) {
  entry->set_protocol(ProtocolOf(socket));
  entry->set_netid(std::string(NetidOf(socket)));
  entry->set_state(std::string(sock_diag::StateName(socket.protocol, socket.state)));
  if (socket.family == AF_INET || socket.family == AF_INET6) {
    FillEndpoint(socket, socket.local, entry->mutable_local());
    FillEndpoint(socket, socket.remote, entry->mutable_remote());
  }
  entry->set_send_queue(socket.send_queue);
  entry->set_receive_queue(socket.receive_queue);
  entry->set_inode(socket.inode);
  if (socket.has_uid) entry->set_uid(socket.uid);
  if (socket.tcp_info_size > 0) {
    DecodeTcpInfo(socket.tcp_info.data(), socket.tcp_info_size,
                  entry->mutable_tcp_info());
  }
  if (!socket.congestion.empty()) {
    entry->mutable_tcp_info()->set_congestion(socket.congestion);
  }
  if (!socket.path.empty()) entry->set_path(socket.path);
  entry->set_peer_inode(socket.peer_inode);
  // Kernels report as many SK_MEMINFO values as they know, in this order.
  const auto meminfo = [&](size_t index) -> uint64_t {
    return index < socket.meminfo_count ? socket.meminfo[index] : 0;
  };
  entry->set_rmem_alloc(meminfo(SK_MEMINFO_RMEM_ALLOC));
  entry->set_rcvbuf(meminfo(SK_MEMINFO_RCVBUF));
  entry->set_wmem_alloc(meminfo(SK_MEMINFO_WMEM_ALLOC));
  entry->set_sndbuf(meminfo(SK_MEMINFO_SNDBUF));
  if (socket.meminfo_count > SK_MEMINFO_OPTMEM) {
    entry->set_fwd_alloc(meminfo(SK_MEMINFO_FWD_ALLOC));
    entry->set_wmem_queued(meminfo(SK_MEMINFO_WMEM_QUEUED));
    entry->set_optmem(meminfo(SK_MEMINFO_OPTMEM));
  }
  if (socket.meminfo_count > SK_MEMINFO_BACKLOG) {
    entry->set_backlog(meminfo(SK_MEMINFO_BACKLOG));
  }
  if (socket.meminfo_count > SK_MEMINFO_DROPS)
    entry->set_drops(meminfo(SK_MEMINFO_DROPS));
  entry->set_cookie(socket.cookie);
  if (socket.family == AF_INET6 && socket.has_v6only) entry->set_v6only(socket.v6only);
  if (socket.has_shutdown) entry->set_shutdown(socket.shutdown);
  if (socket.timer != 0) {
    v1::SocketTimer* timer = entry->mutable_timer();
    timer->set_name(std::string(TimerName(socket.timer)));
    ToProto(absl::Milliseconds(socket.expires_ms), timer->mutable_expires());
    timer->set_retransmits(socket.retransmits);
  }
}

}  // namespace netprobe
