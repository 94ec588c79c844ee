#include "agent/net/flow_label.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/net/socket_setup.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// The kernel ABI of <linux/in6.h> and <linux/ipv6.h>, which clash with
// glibc's <netinet/in.h>; defined here as Linux traceroute does. Values from
// include/uapi/linux/in6.h: struct in6_flowlabel_req, IPV6_FLOWLABEL_MGR 32,
// IPV6_FLOWINFO_SEND 33, IPV6_FL_A_GET 0, IPV6_FL_F_CREATE 1, IPV6_FL_S_ANY
// 255; IPV6_AUTOFLOWLABEL 70 is in glibc's <bits/in.h>.
struct FlowLabelRequest {
  in6_addr flr_dst;
  uint32_t flr_label;  // network byte order
  uint8_t flr_action;
  uint8_t flr_share;
  uint16_t flr_flags;
  uint16_t flr_expires;
  uint16_t flr_linger;
  uint32_t pad;
};
static_assert(sizeof(FlowLabelRequest) == 32, "struct in6_flowlabel_req is 32 bytes");
constexpr int kIpv6FlowLabelMgr = 32;
constexpr int kIpv6FlowInfoSend = 33;
constexpr uint8_t kFlowLabelActionGet = 0;
constexpr uint16_t kFlowLabelFlagCreate = 1;
constexpr uint8_t kFlowLabelShareAny = 255;
#ifndef IPV6_AUTOFLOWLABEL
#define IPV6_AUTOFLOWLABEL 70
#endif

}  // namespace

absl::Status ApplyFlowLabel(int fd, const SocketAddress& peer, uint32_t label) {
  NETPROBE_RETURN_IF_ERROR(
      SetIntSocketOption(fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0, "IPV6_AUTOFLOWLABEL"));
  if (label == 0) return absl::OkStatus();
  if (peer.family() != AF_INET6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flow_label: ", peer.ip(), " is not IPv6, and IPv4 has no flow label"));
  }
  FlowLabelRequest request;
  std::memset(&request, 0, sizeof(request));
  request.flr_dst = reinterpret_cast<const sockaddr_in6*>(peer.get())->sin6_addr;
  request.flr_label = htonl(label & kMaxFlowLabel);
  request.flr_action = kFlowLabelActionGet;
  request.flr_share = kFlowLabelShareAny;
  request.flr_flags = kFlowLabelFlagCreate;
  if (setsockopt(fd, IPPROTO_IPV6, kIpv6FlowLabelMgr, &request, sizeof(request)) != 0) {
    const int err = errno;
    if (err == ERANGE) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "flow_label: %u (0x%05x) is in the stateless range this host reserves: with "
          "net.ipv6.flowlabel_state_ranges = 1 the kernel leases labels up to %u "
          "(0x%05x) only",
          label, label, kMaxStatefulFlowLabel, kMaxStatefulFlowLabel));
    }
    return PosixError(absl::StrFormat("setsockopt(IPV6_FLOWLABEL_MGR, label %u)", label),
                      err);
  }
  return SetIntSocketOption(fd, IPPROTO_IPV6, kIpv6FlowInfoSend, 1, "IPV6_FLOWINFO_SEND");
}

}  // namespace netprobe
