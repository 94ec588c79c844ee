// sock_diag requests and replies on fixed bytes built from the kernel's structs,
// malformed ones included; then one dump of this process's own sockets.
#include "agent/net/sock_diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/net/unique_fd.h"
#include "agent/probes/sock_diag_entry.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::sock_diag {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;
using namespace std::string_literals;

template <typename T>
Bytes BytesOf(const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  return Bytes(p, p + sizeof(value));
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A netlink attribute, padded to 4 bytes.
Bytes Attr(uint16_t type, const Bytes& payload) {
  rtattr header{static_cast<unsigned short>(RTA_LENGTH(payload.size())), type};
  Bytes out = Cat({BytesOf(header), payload});
  out.resize(RTA_ALIGN(out.size()), 0);
  return out;
}

// A netlink message, padded to 4 bytes; nlmsg_len as given when `len` is set.
Bytes Message(uint16_t type, const Bytes& payload, uint16_t flags = NLM_F_MULTI,
              std::optional<uint32_t> len = std::nullopt) {
  nlmsghdr header{};
  header.nlmsg_len = len.value_or(NLMSG_LENGTH(payload.size()));
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  header.nlmsg_seq = 1;
  Bytes out = Cat({BytesOf(header), payload});
  out.resize(NLMSG_ALIGN(out.size()), 0);
  return out;
}

Bytes Done(int32_t error = 0) { return Message(NLMSG_DONE, BytesOf(error)); }

Bytes Error(int32_t error) {
  nlmsgerr err{};
  err.error = error;
  return Message(NLMSG_ERROR, BytesOf(err), 0);
}

Bytes Ip(int family, const char* text) {
  Bytes out(family == AF_INET ? 4 : 16);
  EXPECT_EQ(inet_pton(family, text, out.data()), 1) << text;
  return out;
}

struct InetFields {
  int family = AF_INET;
  uint8_t state = kEstablished;
  const char* src = "127.0.0.1";
  uint16_t sport = 0;
  const char* dst = "0.0.0.0";
  uint16_t dport = 0;
  uint32_t inode = 0;
  uint32_t uid = 0;
  uint32_t rqueue = 0;
  uint32_t wqueue = 0;
  uint32_t interface = 0;
};

Bytes InetMsg(const InetFields& f) {
  inet_diag_msg msg{};
  msg.idiag_family = static_cast<uint8_t>(f.family);
  msg.idiag_state = f.state;
  msg.idiag_timer = 1;
  msg.idiag_retrans = 2;
  msg.idiag_expires = 200;
  const Bytes src = Ip(f.family, f.src), dst = Ip(f.family, f.dst);
  std::memcpy(msg.id.idiag_src, src.data(), src.size());
  std::memcpy(msg.id.idiag_dst, dst.data(), dst.size());
  msg.id.idiag_sport = htons(f.sport);
  msg.id.idiag_dport = htons(f.dport);
  msg.id.idiag_if = f.interface;
  msg.id.idiag_cookie[0] = 0x11;
  msg.id.idiag_cookie[1] = 0x22;
  msg.idiag_rqueue = f.rqueue;
  msg.idiag_wqueue = f.wqueue;
  msg.idiag_uid = f.uid;
  msg.idiag_inode = f.inode;
  return BytesOf(msg);
}

Bytes UnixMsg(uint8_t type, uint8_t state, uint32_t inode) {
  unix_diag_msg msg{};
  msg.udiag_family = AF_UNIX;
  msg.udiag_type = type;
  msg.udiag_state = state;
  msg.udiag_ino = inode;
  return BytesOf(msg);
}

Bytes MemInfo(uint32_t first) {
  Bytes out;
  for (uint32_t i = 0; i < SK_MEMINFO_VARS; ++i) {
    const Bytes value = BytesOf(first + i);
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

Bytes SampleTcpInfo() {
  tcp_info info;
  std::memset(&info, 0, sizeof(info));
  info.tcpi_state = kEstablished;
  info.tcpi_rtt = 1500;  // us
  info.tcpi_snd_cwnd = 10;
  info.tcpi_snd_mss = 1448;
  info.tcpi_bytes_acked = 4096;
  return BytesOf(info);
}

Bytes Text(absl::string_view text) { return Bytes(text.begin(), text.end()); }

absl::StatusOr<ReplySummary> Parse(const Bytes& bytes, int protocol,
                                   std::vector<Socket>* out) {
  return ParseReply(bytes, protocol, out);
}

// ---- requests -----------------------------------------------------------------

TEST(BuildRequest, TcpDumpAsksForInfoCongestionAndMemory) {
  const Bytes request = BuildRequest(
      {.family = AF_INET, .protocol = IPPROTO_TCP, .states = 0x400, .tcp_info = true}, 7);
  ASSERT_EQ(request.size(), NLMSG_LENGTH(sizeof(inet_diag_req_v2)));
  nlmsghdr header;
  std::memcpy(&header, request.data(), sizeof(header));
  EXPECT_EQ(header.nlmsg_len, request.size());
  EXPECT_EQ(header.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(header.nlmsg_seq, 7u);
  inet_diag_req_v2 req;
  std::memcpy(&req, request.data() + NLMSG_HDRLEN, sizeof(req));
  EXPECT_EQ(req.sdiag_family, AF_INET);
  EXPECT_EQ(req.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(req.idiag_ext, (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1)) |
                               (1 << (INET_DIAG_SKMEMINFO - 1)));
  EXPECT_EQ(req.idiag_states, 0x400u);
  EXPECT_EQ(req.pad, 0);
}

TEST(BuildRequest, UdpAndRawIgnoreTcpInfoAndRawDumpsEveryProtocol) {
  for (int protocol : {IPPROTO_UDP, IPPROTO_RAW}) {
    const Bytes request =
        BuildRequest({.family = AF_INET6, .protocol = protocol, .tcp_info = true}, 1);
    ASSERT_EQ(request.size(), NLMSG_LENGTH(sizeof(inet_diag_req_raw)));
    inet_diag_req_raw req;
    std::memcpy(&req, request.data() + NLMSG_HDRLEN, sizeof(req));
    EXPECT_EQ(req.sdiag_family, AF_INET6);
    EXPECT_EQ(req.sdiag_protocol, protocol);
    EXPECT_EQ(req.idiag_ext, 1 << (INET_DIAG_SKMEMINFO - 1));
    EXPECT_EQ(req.sdiag_raw_protocol, 0);  // a dump: every raw protocol
    EXPECT_EQ(req.idiag_states, kAllStates);
  }
}

TEST(BuildRequest, UnixShowsEverythingTheEntryNeeds) {
  const Bytes request = BuildRequest({.family = AF_UNIX}, 3);
  ASSERT_EQ(request.size(), NLMSG_LENGTH(sizeof(unix_diag_req)));
  unix_diag_req req;
  std::memcpy(&req, request.data() + NLMSG_HDRLEN, sizeof(req));
  EXPECT_EQ(req.sdiag_family, AF_UNIX);
  EXPECT_EQ(req.sdiag_protocol, 0);  // the kernel refuses anything else
  EXPECT_EQ(req.udiag_states, kAllStates);
  EXPECT_EQ(req.udiag_show, static_cast<uint32_t>(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS |
                                                  UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN |
                                                  UDIAG_SHOW_MEMINFO | UDIAG_SHOW_UID));
}

// ---- replies ------------------------------------------------------------------

TEST(ParseReply, SeveralTcpMessagesThenDone) {
  const Bytes info = SampleTcpInfo();
  const Bytes reply = Cat({
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.state = kListen,
                                            .sport = 8080,
                                            .inode = 1001,
                                            .uid = 1000,
                                            .rqueue = 0,
                                            .wqueue = 128})),
      Message(
          SOCK_DIAG_BY_FAMILY,
          Cat({InetMsg({.src = "198.18.0.1",
                        .sport = 8080,
                        .dst = "198.18.0.2",
                        .dport = 40000,
                        .inode = 1002,
                        .rqueue = 5,
                        .wqueue = 7}),
               Attr(INET_DIAG_INFO, info), Attr(INET_DIAG_CONG, Text("cubic\0"s)),
               Attr(INET_DIAG_SKMEMINFO, MemInfo(100)), Attr(INET_DIAG_SHUTDOWN, {2})})),
      Done(),
  });
  std::vector<Socket> sockets;
  const auto summary = Parse(reply, IPPROTO_TCP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_TRUE(summary->done);
  EXPECT_EQ(summary->sockets, 2u);
  EXPECT_EQ(summary->malformed, 0u);
  ASSERT_EQ(sockets.size(), 2u);

  const Socket& listener = sockets[0];
  EXPECT_EQ(listener.family, AF_INET);
  EXPECT_EQ(listener.protocol, IPPROTO_TCP);
  EXPECT_EQ(listener.type, SOCK_STREAM);
  EXPECT_EQ(listener.state, kListen);
  EXPECT_EQ(FormatAddress(AF_INET, listener.local), "127.0.0.1");
  EXPECT_EQ(listener.local.port, 8080);
  EXPECT_EQ(listener.send_queue, 128u);  // the backlog limit
  EXPECT_EQ(listener.inode, 1001u);
  EXPECT_EQ(listener.uid, 1000u);
  EXPECT_TRUE(listener.has_uid);
  EXPECT_EQ(listener.cookie, 0x2200000011u);
  EXPECT_EQ(listener.tcp_info_size, 0u);
  EXPECT_EQ(listener.meminfo_count, 0u);

  const Socket& conn = sockets[1];
  EXPECT_EQ(FormatAddress(AF_INET, conn.local), "198.18.0.1");
  EXPECT_EQ(FormatAddress(AF_INET, conn.remote), "198.18.0.2");
  EXPECT_EQ(conn.remote.port, 40000);
  EXPECT_EQ(conn.receive_queue, 5u);
  EXPECT_EQ(conn.send_queue, 7u);
  EXPECT_EQ(conn.timer, 1);
  EXPECT_EQ(conn.retransmits, 2);
  EXPECT_EQ(conn.expires_ms, 200u);
  ASSERT_EQ(conn.tcp_info_size, info.size());
  EXPECT_EQ(0, std::memcmp(conn.tcp_info.data(), info.data(), info.size()));
  EXPECT_EQ(conn.congestion, "cubic");
  ASSERT_EQ(conn.meminfo_count, SK_MEMINFO_VARS);
  EXPECT_EQ(conn.meminfo[SK_MEMINFO_RMEM_ALLOC], 100u);
  EXPECT_EQ(conn.meminfo[SK_MEMINFO_DROPS], 108u);

  v1::SocketEntry entry;
  ToSocketEntry(conn, &entry);
  EXPECT_EQ(entry.protocol(), v1::SOCKET_PROTOCOL_TCP);
  EXPECT_EQ(entry.netid(), "tcp");
  EXPECT_EQ(entry.state(), "ESTAB");
  EXPECT_EQ(entry.local().address(), "198.18.0.1");
  EXPECT_EQ(entry.local().port(), 8080u);
  EXPECT_EQ(entry.local().family(), v1::ADDRESS_FAMILY_IPV4);
  EXPECT_EQ(entry.remote().address(), "198.18.0.2");
  EXPECT_EQ(entry.remote().port(), 40000u);
  EXPECT_EQ(entry.receive_queue(), 5u);
  EXPECT_EQ(entry.send_queue(), 7u);
  EXPECT_EQ(entry.inode(), 1002u);
  EXPECT_EQ(entry.tcp_info().state(), "ESTABLISHED");  // through DecodeTcpInfo
  EXPECT_EQ(entry.tcp_info().rtt().nanos(), 1500000);
  EXPECT_EQ(entry.tcp_info().snd_cwnd(), 10u);
  EXPECT_EQ(entry.tcp_info().bytes_acked(), 4096u);
  EXPECT_EQ(entry.tcp_info().congestion(), "cubic");
  EXPECT_EQ(entry.rmem_alloc(), 100u);
  EXPECT_EQ(entry.rcvbuf(), 101u);
  EXPECT_EQ(entry.wmem_alloc(), 102u);
  EXPECT_EQ(entry.sndbuf(), 103u);
  // ss -m's f, w, o, bl, d; -o's timer; -e's cookie and shutdown.
  EXPECT_EQ(entry.fwd_alloc(), 104u);
  EXPECT_EQ(entry.wmem_queued(), 105u);
  EXPECT_EQ(entry.optmem(), 106u);
  EXPECT_EQ(entry.backlog(), 107u);
  EXPECT_EQ(entry.drops(), 108u);
  EXPECT_EQ(entry.timer().name(), "on");
  EXPECT_EQ(entry.timer().expires().nanos(), 200000000);
  EXPECT_EQ(entry.timer().retransmits(), 2u);
  EXPECT_EQ(entry.cookie(), 0x2200000011u);
  EXPECT_EQ(entry.shutdown(), 2u);
  EXPECT_FALSE(entry.has_v6only()) << "IPv4";
  // Without SK_MEMINFO's later values (an older kernel), they are absent.
  Socket old_kernel = conn;
  old_kernel.meminfo_count = 7;
  entry.Clear();
  ToSocketEntry(old_kernel, &entry);
  EXPECT_TRUE(entry.has_optmem());
  EXPECT_FALSE(entry.has_backlog());
  EXPECT_FALSE(entry.has_drops());
  old_kernel.meminfo_count = 4;
  old_kernel.timer = 0;
  entry.Clear();
  ToSocketEntry(old_kernel, &entry);
  EXPECT_FALSE(entry.has_fwd_alloc());
  EXPECT_FALSE(entry.has_timer());
}

TEST(ParseReply, V6onlyOfWildcardListeners) {
  const InetFields wildcard{
      .family = AF_INET6, .state = kListen, .src = "::", .sport = 7007, .dst = "::"};
  const Bytes reply = Cat({
      Message(SOCK_DIAG_BY_FAMILY,
              Cat({InetMsg(wildcard), Attr(INET_DIAG_SKV6ONLY, {0})})),
      Message(SOCK_DIAG_BY_FAMILY,
              Cat({InetMsg(wildcard), Attr(INET_DIAG_SKV6ONLY, {1})})),
      Message(SOCK_DIAG_BY_FAMILY, InetMsg(wildcard)),
      // An empty attribute is malformed: dropped, counted.
      Message(SOCK_DIAG_BY_FAMILY,
              Cat({InetMsg(wildcard), Attr(INET_DIAG_SKV6ONLY, {})})),
  });
  std::vector<Socket> sockets;
  const auto summary = Parse(reply, IPPROTO_TCP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->malformed, 1u);
  ASSERT_EQ(sockets.size(), 4u);
  EXPECT_TRUE(sockets[0].has_v6only);
  EXPECT_FALSE(sockets[0].v6only);
  EXPECT_TRUE(sockets[1].v6only);
  EXPECT_FALSE(sockets[2].has_v6only);
  EXPECT_FALSE(sockets[3].has_v6only);
  v1::SocketEntry entry;
  ToSocketEntry(sockets[0], &entry);
  ASSERT_TRUE(entry.has_v6only());
  EXPECT_FALSE(entry.v6only());
  entry.Clear();
  ToSocketEntry(sockets[1], &entry);
  EXPECT_TRUE(entry.v6only());
  entry.Clear();
  ToSocketEntry(sockets[2], &entry);
  EXPECT_FALSE(entry.has_v6only());
}

TEST(ParseReply, UdpOverIpv6) {
  const Bytes reply = Cat({
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.family = AF_INET6,
                                            .state = kClose,
                                            .src = "::1",
                                            .sport = 53,
                                            .dst = "::",
                                            .inode = 9})),
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.family = AF_INET6,
                                            .state = kEstablished,
                                            .src = "fe80::1",
                                            .sport = 5353,
                                            .dst = "2001:db8::5",
                                            .dport = 9,
                                            .interface = 1})),
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.family = AF_INET6,
                                            .state = kEstablished,
                                            .src = "::ffff:198.18.0.1",
                                            .dst = "::ffff:198.18.0.2"})),
  });
  std::vector<Socket> sockets;
  const auto summary = Parse(reply, IPPROTO_UDP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_FALSE(summary->done);  // more to come
  ASSERT_EQ(sockets.size(), 3u);
  EXPECT_EQ(sockets[0].type, SOCK_DGRAM);
  EXPECT_EQ(FormatAddress(AF_INET6, sockets[0].local), "::1");
  EXPECT_EQ(FormatAddress(AF_INET6, sockets[0].remote), "::");
  EXPECT_EQ(StateName(IPPROTO_UDP, sockets[0].state), "UNCONN");
  EXPECT_EQ(sockets[1].interface, 1u);
  EXPECT_EQ(FormatAddress(AF_INET6, sockets[2].remote), "::ffff:198.18.0.2");

  v1::SocketEntry entry;
  ToSocketEntry(sockets[0], &entry);
  EXPECT_EQ(entry.netid(), "udp");
  EXPECT_EQ(entry.protocol(), v1::SOCKET_PROTOCOL_UDP);
  EXPECT_EQ(entry.state(), "UNCONN");
  EXPECT_EQ(entry.local().address(), "::1");
  EXPECT_EQ(entry.local().port(), 53u);
  EXPECT_EQ(entry.local().family(), v1::ADDRESS_FAMILY_IPV6);
  EXPECT_FALSE(entry.has_tcp_info());
  entry.Clear();
  ToSocketEntry(sockets[1], &entry);
  EXPECT_EQ(entry.local().address(), "fe80::1%lo");  // interface 1 is lo
  EXPECT_EQ(entry.remote().address(), "2001:db8::5");
}

TEST(ParseReply, RawSocketsCarryTheirProtocolAsThePort) {
  std::vector<Socket> sockets;
  ASSERT_THAT(Parse(Message(SOCK_DIAG_BY_FAMILY,
                            InetMsg({.state = kClose, .src = "0.0.0.0", .sport = 1})),
                    IPPROTO_RAW, &sockets),
              IsOk());
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].type, SOCK_RAW);
  EXPECT_EQ(sockets[0].local.port, IPPROTO_ICMP);
  v1::SocketEntry entry;
  ToSocketEntry(sockets[0], &entry);
  EXPECT_EQ(entry.protocol(), v1::SOCKET_PROTOCOL_RAW);
  EXPECT_EQ(entry.netid(), "raw");
  EXPECT_EQ(entry.state(), "UNCONN");
  EXPECT_EQ(entry.local().port(), 1u);
}

TEST(ParseReply, UnixPathsAbstractNamesQueuesAndPeers) {
  const Bytes reply = Cat({
      Message(
          SOCK_DIAG_BY_FAMILY,
          Cat({UnixMsg(SOCK_STREAM, kListen, 501),
               Attr(UNIX_DIAG_NAME, Text("/run/app.sock\0"s)),
               Attr(UNIX_DIAG_VFS, BytesOf(unix_diag_vfs{77, 0x803})),
               Attr(UNIX_DIAG_RQLEN, BytesOf(unix_diag_rqlen{3, 128})),
               Attr(UNIX_DIAG_MEMINFO, MemInfo(0)), Attr(UNIX_DIAG_UID, BytesOf(0u))})),
      Message(SOCK_DIAG_BY_FAMILY,
              Cat({UnixMsg(SOCK_SEQPACKET, kEstablished, 502),
                   Attr(UNIX_DIAG_NAME, Text("\0app\0x"s)),
                   Attr(UNIX_DIAG_PEER, BytesOf(uint32_t{503})),
                   Attr(UNIX_DIAG_RQLEN, BytesOf(unix_diag_rqlen{10, 20}))})),
      Message(SOCK_DIAG_BY_FAMILY, UnixMsg(SOCK_DGRAM, kClose, 504)),
      Done(),
  });
  std::vector<Socket> sockets;
  const auto summary = Parse(reply, 0, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_TRUE(summary->done);
  EXPECT_EQ(summary->malformed, 0u);
  ASSERT_EQ(sockets.size(), 3u);

  const Socket& listener = sockets[0];
  EXPECT_EQ(listener.family, AF_UNIX);
  EXPECT_EQ(listener.protocol, 0);
  EXPECT_EQ(listener.type, SOCK_STREAM);
  EXPECT_EQ(listener.path, "/run/app.sock");
  EXPECT_EQ(listener.inode, 501u);
  EXPECT_EQ(listener.vfs_inode, 77u);
  EXPECT_EQ(listener.vfs_device, 0x803u);
  EXPECT_EQ(listener.receive_queue, 3u);  // pending connections
  EXPECT_EQ(listener.send_queue, 128u);   // backlog
  EXPECT_TRUE(listener.has_uid);
  EXPECT_EQ(listener.meminfo_count, SK_MEMINFO_VARS);

  EXPECT_EQ(sockets[1].path, "@app@x");  // every NUL of an abstract name, as ss
  EXPECT_EQ(sockets[1].peer_inode, 503u);
  EXPECT_EQ(sockets[1].receive_queue, 10u);
  EXPECT_EQ(sockets[1].send_queue, 20u);
  EXPECT_FALSE(sockets[1].has_uid);  // no UNIX_DIAG_UID: a kernel before 5.3

  EXPECT_EQ(sockets[2].path, "");  // unbound
  EXPECT_EQ(StateName(0, sockets[2].state), "UNCONN");

  v1::SocketEntry entry;
  ToSocketEntry(listener, &entry);
  EXPECT_EQ(entry.protocol(), v1::SOCKET_PROTOCOL_UNIX);
  EXPECT_EQ(entry.netid(), "u_str");
  EXPECT_EQ(entry.state(), "LISTEN");
  EXPECT_EQ(entry.path(), "/run/app.sock");
  EXPECT_FALSE(entry.has_local());
  EXPECT_EQ(entry.send_queue(), 128u);
  entry.Clear();
  ToSocketEntry(sockets[1], &entry);
  EXPECT_EQ(entry.netid(), "u_seq");
  EXPECT_EQ(entry.peer_inode(), 503u);
  entry.Clear();
  ToSocketEntry(sockets[2], &entry);
  EXPECT_EQ(entry.netid(), "u_dgr");
}

TEST(ParseReply, ErrorsCarryTheirErrno) {
  std::vector<Socket> sockets;
  const Bytes reply =
      Cat({Message(SOCK_DIAG_BY_FAMILY, InetMsg({.inode = 1})), Error(-EPERM)});
  EXPECT_THAT(Parse(reply, IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("EPERM")));
  EXPECT_EQ(sockets.size(), 1u);  // what came before the error stays

  sockets.clear();
  EXPECT_THAT(Parse(Error(-ENOENT), IPPROTO_RAW, &sockets),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ENOENT")));
  EXPECT_THAT(Parse(Done(-EINTR), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("EINTR")));
  EXPECT_THAT(Parse(Error(INT32_MIN), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("error code")));
  EXPECT_THAT(Parse(Message(NLMSG_ERROR, {1, 2}), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("without an error code")));
  EXPECT_THAT(Parse(Message(NLMSG_OVERRUN, {}), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("OVERRUN")));
}

TEST(ParseReply, AcksNoopsAndOtherTypesAreIgnoredAndDoneEndsParsing) {
  std::vector<Socket> sockets;
  const Bytes reply = Cat({
      Error(0),  // an acknowledgement
      Message(NLMSG_NOOP, {}),
      Message(RTM_NEWLINK, {1, 2, 3, 4}),
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.inode = 1}), NLM_F_MULTI | NLM_F_DUMP_INTR),
      Message(NLMSG_DONE, {}),  // without the error code: still the end
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.inode = 2})),
  });
  const auto summary = Parse(reply, IPPROTO_TCP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_TRUE(summary->done);
  EXPECT_TRUE(summary->interrupted);
  EXPECT_EQ(summary->ignored, 3u);
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].inode, 1u);
}

TEST(ParseReply, EmptyBufferIsNothingYet) {
  std::vector<Socket> sockets;
  const auto summary = Parse({}, IPPROTO_TCP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_FALSE(summary->done);
  EXPECT_EQ(summary->sockets, 0u);
}

TEST(ParseReply, BrokenMessageLengthsStopTheParse) {
  const Bytes good = Message(SOCK_DIAG_BY_FAMILY, InetMsg({.inode = 1}));
  std::vector<Socket> sockets;
  EXPECT_THAT(
      Parse(Cat({good, Message(SOCK_DIAG_BY_FAMILY, {}, 0, 8)}), IPPROTO_TCP, &sockets),
      StatusIs(absl::StatusCode::kInternal,
               AllOf(HasSubstr("byte 88"), HasSubstr("shorter than the header"))));
  EXPECT_EQ(sockets.size(), 1u);

  Bytes beyond = good;
  beyond[0] += 4;  // nlmsg_len (little-endian) 4 bytes past the buffer
  EXPECT_THAT(Parse(beyond, IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("exceeds the 88 bytes")));

  EXPECT_THAT(Parse(Cat({good, Bytes{1, 2, 3}}), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("shorter than a header")));
  EXPECT_THAT(Parse(Bytes(good.begin(), good.begin() + 10), IPPROTO_TCP, &sockets),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("shorter than a header")));
}

TEST(ParseReply, ShortPayloadsAreSkippedAndCounted) {
  const Bytes inet = InetMsg({.inode = 1});
  const Bytes unix_msg = UnixMsg(SOCK_STREAM, kEstablished, 2);
  const Bytes reply = Cat({
      Message(SOCK_DIAG_BY_FAMILY, Bytes(inet.begin(), inet.end() - 1)),
      Message(SOCK_DIAG_BY_FAMILY, Bytes(unix_msg.begin(), unix_msg.end() - 4)),
      Message(SOCK_DIAG_BY_FAMILY, {}),
      Message(SOCK_DIAG_BY_FAMILY, Bytes(80, 0)),  // family 0
      Message(SOCK_DIAG_BY_FAMILY, InetMsg({.inode = 3})),
  });
  std::vector<Socket> sockets;
  const auto summary = Parse(reply, IPPROTO_TCP, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->malformed, 4u);
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].inode, 3u);
}

TEST(ParseReply, BadAttributesEndTheAttributesButKeepTheSocket) {
  const Bytes cong = Attr(INET_DIAG_CONG, Text("bbr\0"s));
  rtattr tiny{2, INET_DIAG_SKMEMINFO};  // rta_len below its own header
  rtattr beyond{64, INET_DIAG_SKMEMINFO};
  for (const Bytes& bad : {BytesOf(tiny), Cat({BytesOf(beyond), Bytes(8, 0)})}) {
    std::vector<Socket> sockets;
    const auto summary =
        Parse(Message(SOCK_DIAG_BY_FAMILY, Cat({InetMsg({.inode = 4}), cong, bad})),
              IPPROTO_TCP, &sockets);
    ASSERT_THAT(summary, IsOk());
    EXPECT_EQ(summary->malformed, 1u);
    ASSERT_EQ(sockets.size(), 1u);
    EXPECT_EQ(sockets[0].inode, 4u);
    EXPECT_EQ(sockets[0].congestion, "bbr");  // attributes before the bad one
    EXPECT_EQ(sockets[0].meminfo_count, 0u);
  }

  // Fixed-size unix attributes shorter than their struct are dropped alone.
  std::vector<Socket> sockets;
  const auto summary = Parse(
      Message(
          SOCK_DIAG_BY_FAMILY,
          Cat({UnixMsg(SOCK_STREAM, kEstablished, 5), Attr(UNIX_DIAG_RQLEN, {1, 0, 0, 0}),
               Attr(UNIX_DIAG_PEER, {1}), Attr(UNIX_DIAG_VFS, {1}),
               Attr(UNIX_DIAG_UID, {}), Attr(UNIX_DIAG_NAME, Text("/x"))})),
      0, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->malformed, 4u);
  ASSERT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets[0].receive_queue, 0u);
  EXPECT_EQ(sockets[0].peer_inode, 0u);
  EXPECT_FALSE(sockets[0].has_uid);
  EXPECT_EQ(sockets[0].path, "/x");  // no NUL in the attribute: all of it
}

TEST(ParseReply, TcpInfoOfAnyLengthAndUnalignedBuffers) {
  const Bytes longer(kTcpInfoCapacity + 40, 1);
  const Bytes shorter = {kSynSent, 0, 0, 0};
  Bytes reply = Cat({
      Message(SOCK_DIAG_BY_FAMILY, Cat({InetMsg({}), Attr(INET_DIAG_INFO, longer)})),
      Message(SOCK_DIAG_BY_FAMILY, Cat({InetMsg({}), Attr(INET_DIAG_INFO, shorter),
                                        Attr(INET_DIAG_SKMEMINFO, {1, 0, 0, 0, 9})})),
      Message(SOCK_DIAG_BY_FAMILY, Cat({InetMsg({}), Attr(INET_DIAG_INFO, shorter)})),
  });
  reply.insert(reply.begin(), 0);  // every struct now starts at an odd address
  std::vector<Socket> sockets;
  ASSERT_THAT(ParseReply(absl::MakeConstSpan(reply).subspan(1), IPPROTO_TCP, &sockets),
              IsOk());
  ASSERT_EQ(sockets.size(), 3u);
  EXPECT_EQ(sockets[0].tcp_info_size, kTcpInfoCapacity);  // cut at what we keep
  EXPECT_EQ(sockets[1].tcp_info_size, 4u);
  EXPECT_EQ(sockets[1].meminfo_count, 1u);  // whole values only
  EXPECT_EQ(sockets[1].meminfo[0], 1u);
  v1::SocketEntry entry;
  ToSocketEntry(sockets[1], &entry);
  EXPECT_EQ(entry.tcp_info().state(), "SYN_SENT");
  EXPECT_EQ(entry.tcp_info().snd_cwnd(), 0u);  // beyond the kernel's 4 bytes
  EXPECT_EQ(entry.rmem_alloc(), 1u);
  EXPECT_EQ(entry.wmem_alloc(), 0u);

  // INET_DIAG_INFO of other protocols is not a tcp_info.
  sockets.clear();
  ASSERT_THAT(ParseReply(absl::MakeConstSpan(reply).subspan(1), IPPROTO_UDP, &sockets),
              IsOk());
  EXPECT_EQ(sockets[0].tcp_info_size, 0u);
}

// ---- states -------------------------------------------------------------------

TEST(StateName, SsNames) {
  const std::vector<std::pair<uint8_t, absl::string_view>> expected = {
      {0, "UNKNOWN"},
      {kEstablished, "ESTAB"},
      {kSynSent, "SYN-SENT"},
      {kSynRecv, "SYN-RECV"},
      {kFinWait1, "FIN-WAIT-1"},
      {kFinWait2, "FIN-WAIT-2"},
      {kTimeWait, "TIME-WAIT"},
      {kClose, "CLOSE"},
      {kCloseWait, "CLOSE-WAIT"},
      {kLastAck, "LAST-ACK"},
      {kListen, "LISTEN"},
      {kClosing, "CLOSING"},
      {kNewSynRecv, "NEW-SYN-RECV"},
      {13, "UNKNOWN"},
      {255, "UNKNOWN"}};
  for (const auto& [state, name] : expected) {
    EXPECT_EQ(StateName(IPPROTO_TCP, state), name) << int{state};
  }
  for (int protocol : {int{IPPROTO_UDP}, int{IPPROTO_RAW}, 0}) {
    EXPECT_EQ(StateName(protocol, kClose), "UNCONN") << protocol;
    EXPECT_EQ(StateName(protocol, kEstablished), "ESTAB") << protocol;
  }
}

TEST(StateBitsFromName, SingleStatesAndAliases) {
  const std::vector<std::pair<absl::string_view, State>> expected = {
      {"established", kEstablished},
      {"syn-sent", kSynSent},
      {"syn-recv", kSynRecv},
      {"fin-wait-1", kFinWait1},
      {"fin-wait-2", kFinWait2},
      {"time-wait", kTimeWait},
      {"closed", kClose},
      {"close-wait", kCloseWait},
      {"last-ack", kLastAck},
      {"listening", kListen},
      {"listen", kListen},
      {"closing", kClosing},
      {"close", kClose},
      {"unconnected", kClose},
      {"syn-rcv", kSynRecv},
      {"ESTABLISHED", kEstablished},
      {"Listen", kListen}};
  for (const auto& [name, state] : expected) {
    EXPECT_EQ(StateBitsFromName(name, "states").value_or(0), StateBit(state)) << name;
  }
}

TEST(StateBitsFromName, SsGroups) {
  const auto bits = [](absl::string_view name) {
    return StateBitsFromName(name, "states").value();
  };
  EXPECT_EQ(bits("all"), kAllStates);
  EXPECT_EQ(kAllStates, 0x1ffeu);
  EXPECT_EQ(bits("connected"), kAllStates & ~(StateBit(kClose) | StateBit(kListen)));
  EXPECT_EQ(bits("synchronized"),
            kAllStates & ~(StateBit(kClose) | StateBit(kListen) | StateBit(kSynSent)));
  EXPECT_EQ(bits("bucket"),
            StateBit(kSynRecv) | StateBit(kNewSynRecv) | StateBit(kTimeWait));
  EXPECT_EQ(bits("big"), kAllStates & ~bits("bucket"));
}

TEST(StateBitsFromName, UnknownNamesTheFieldAndTheValidNames) {
  EXPECT_THAT(StateBitsFromName("estab", "states[3]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("states[3]: unknown socket state 'estab'"),
                             HasSubstr("valid: established, syn-sent, syn-recv"),
                             HasSubstr("listening, closing, all, connected, "
                                       "synchronized, bucket, big"))));
  EXPECT_THAT(StateBitsFromName("", "states[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("''")));
}

TEST(StateMaskFromNames, UnionAndEmptyMeansAll) {
  const std::vector<std::string> none;
  EXPECT_EQ(StateMaskFromNames(none, "states").value_or(0), kAllStates);
  const std::vector<std::string> two = {"listening", "established"};
  EXPECT_EQ(StateMaskFromNames(two, "states").value_or(0),
            StateBit(kListen) | StateBit(kEstablished));
  const std::vector<std::string> bad = {"listening", "nope"};
  EXPECT_THAT(StateMaskFromNames(bad, "states"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("states[1]")));
}

// ---- the real kernel ----------------------------------------------------------

uint64_t InodeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st.st_ino;
}

const Socket* FindInode(const std::vector<Socket>& sockets, uint64_t inode) {
  for (const Socket& s : sockets) {
    if (s.inode == inode) return &s;
  }
  return nullptr;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);  // same offset in v6
}

TEST(Dump, TcpListenerAndConnectionOnLoopback) {
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&v4), sizeof(v4)), 0);
  ASSERT_EQ(listen(listener.get(), 7), 0);
  const uint16_t port = LocalPort(listener.get());
  v4.sin_port = htons(port);
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&v4), sizeof(v4)), 0);

  std::vector<Socket> sockets;
  const auto summary =
      Dump({.family = AF_INET, .protocol = IPPROTO_TCP, .tcp_info = true}, &sockets);
  ASSERT_THAT(summary, IsOk());
  EXPECT_TRUE(summary->done);
  const Socket* found = FindInode(sockets, InodeOf(listener.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(StateName(found->protocol, found->state), "LISTEN");
  EXPECT_EQ(FormatAddress(AF_INET, found->local), "127.0.0.1");
  EXPECT_EQ(found->local.port, port);
  EXPECT_EQ(found->send_queue, 7u);  // the backlog
  EXPECT_EQ(found->uid, geteuid());
  found = FindInode(sockets, InodeOf(client.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(StateName(found->protocol, found->state), "ESTAB");
  EXPECT_EQ(found->local.port, LocalPort(client.get()));
  EXPECT_EQ(found->remote.port, port);
  EXPECT_FALSE(found->congestion.empty());
  EXPECT_GT(found->meminfo_count, SK_MEMINFO_SNDBUF);
  v1::SocketEntry entry;
  ToSocketEntry(*found, &entry);
  EXPECT_EQ(entry.tcp_info().state(), "ESTABLISHED");
  EXPECT_GT(entry.tcp_info().snd_mss(), 0u);
  EXPECT_GT(entry.sndbuf(), 0u);

  // The state mask: listeners only.
  sockets.clear();
  ASSERT_THAT(
      Dump({.family = AF_INET, .protocol = IPPROTO_TCP, .states = StateBit(kListen)},
           &sockets),
      IsOk());
  EXPECT_NE(FindInode(sockets, InodeOf(listener.get())), nullptr);
  EXPECT_EQ(FindInode(sockets, InodeOf(client.get())), nullptr);
  for (const Socket& s : sockets) EXPECT_EQ(s.state, kListen);
}

TEST(Dump, UdpOnIpv6Loopback) {
  UniqueFd udp(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_loopback;
  if (!udp || bind(udp.get(), reinterpret_cast<sockaddr*>(&v6), sizeof(v6)) != 0) {
    GTEST_SKIP() << "no IPv6 loopback here: " << strerror(errno);
  }
  std::vector<Socket> sockets;
  ASSERT_THAT(Dump({.family = AF_INET6, .protocol = IPPROTO_UDP}, &sockets), IsOk());
  const Socket* found = FindInode(sockets, InodeOf(udp.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->family, AF_INET6);
  EXPECT_EQ(StateName(found->protocol, found->state), "UNCONN");
  EXPECT_EQ(FormatAddress(AF_INET6, found->local), "::1");
  EXPECT_EQ(found->local.port, LocalPort(udp.get()));
}

TEST(Dump, UnixAbstractListenerAndPathDatagram) {
  std::mt19937_64 random(std::random_device{}());
  const std::string abstract =
      absl::StrCat("netprobe-sock-diag-test-", getpid(), "-", random());
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path + 1, abstract.data(), abstract.size());
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&un),
                 offsetof(sockaddr_un, sun_path) + 1 + abstract.size()),
            0);
  ASSERT_EQ(listen(listener.get(), 5), 0);
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/sock_diag_test_", getpid(), "_", random());
  ASSERT_LT(path.size(), sizeof(un.sun_path));
  UniqueFd dgram(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  un = {};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(dgram.get(), reinterpret_cast<sockaddr*>(&un), sizeof(un)), 0);

  std::vector<Socket> sockets;
  const auto summary = Dump({.family = AF_UNIX}, &sockets);
  unlink(path.c_str());
  ASSERT_THAT(summary, IsOk());
  const Socket* found = FindInode(sockets, InodeOf(listener.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->path, "@" + abstract);
  EXPECT_EQ(found->type, SOCK_STREAM);
  EXPECT_EQ(StateName(found->protocol, found->state), "LISTEN");
  EXPECT_EQ(found->send_queue, 5u);  // the backlog
  EXPECT_TRUE(found->has_uid);
  EXPECT_EQ(found->uid, geteuid());
  found = FindInode(sockets, InodeOf(dgram.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->path, path);
  EXPECT_EQ(found->type, SOCK_DGRAM);
  EXPECT_EQ(StateName(found->protocol, found->state), "UNCONN");
  EXPECT_NE(found->vfs_inode, 0u);
}

TEST(Dump, RawSocketsWhereThisProcessMayOpenOne) {
  UniqueFd raw(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!raw) GTEST_SKIP() << "no raw socket without CAP_NET_RAW: " << strerror(errno);
  std::vector<Socket> sockets;
  const auto summary = Dump({.family = AF_INET, .protocol = IPPROTO_RAW}, &sockets);
  if (summary.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << summary.status();
  }
  ASSERT_THAT(summary, IsOk());
  const Socket* found = FindInode(sockets, InodeOf(raw.get()));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->local.port, IPPROTO_ICMP);  // ss shows the protocol as the port
  EXPECT_EQ(StateName(found->protocol, found->state), "UNCONN");
  v1::SocketEntry entry;
  ToSocketEntry(*found, &entry);
  EXPECT_EQ(entry.netid(), "raw");
  EXPECT_EQ(entry.protocol(), v1::SOCKET_PROTOCOL_RAW);

  // Raw dumps ignore the kernel's state mask; Dump applies it.
  sockets.clear();
  ASSERT_THAT(
      Dump({.family = AF_INET, .protocol = IPPROTO_RAW, .states = StateBit(kListen)},
           &sockets),
      IsOk());
  EXPECT_EQ(FindInode(sockets, InodeOf(raw.get())), nullptr);
}

TEST(Dump, RejectsQueriesWithoutADumpAndStopsAtTheLimit) {
  std::vector<Socket> sockets;
  EXPECT_THAT(Dump({.family = AF_INET, .protocol = IPPROTO_ICMP}, &sockets),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no dump")));
  EXPECT_THAT(Dump({.family = AF_UNIX, .protocol = IPPROTO_TCP}, &sockets),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no dump")));

  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&v4), sizeof(v4)), 0);
  ASSERT_EQ(listen(listener.get(), 1), 0);
  EXPECT_THAT(
      Dump({.family = AF_INET, .protocol = IPPROTO_TCP}, &sockets, {.max_sockets = 0}),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("more than 0")));
  EXPECT_TRUE(sockets.empty());
}

TEST(SockDiag, FormatAddressIpv4AsInetNtop) {
  // Every octet width in every position, against the C library's own text.
  for (const std::array<uint8_t, 4> a : {std::array<uint8_t, 4>{0, 0, 0, 0},
                                         {127, 0, 0, 1},
                                         {255, 255, 255, 255},
                                         {1, 22, 103, 9},
                                         {10, 100, 99, 250},
                                         {198, 18, 0, 2},
                                         {9, 10, 199, 200}}) {
    Endpoint e;
    std::copy(a.begin(), a.end(), e.address.begin());
    char expected[INET_ADDRSTRLEN] = {};
    ASSERT_NE(inet_ntop(AF_INET, a.data(), expected, sizeof(expected)), nullptr);
    EXPECT_EQ(FormatAddress(AF_INET, e), expected);
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::sock_diag
