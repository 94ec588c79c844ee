#include "client/output/sockets_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

v1::SocketEntry Tcp(const std::string& state, const std::string& local, uint32_t lport,
                    const std::string& remote, uint32_t rport) {
  v1::SocketEntry s;
  s.set_protocol(v1::SOCKET_PROTOCOL_TCP);
  s.set_netid("tcp");
  s.set_state(state);
  s.mutable_local()->set_address(local);
  s.mutable_local()->set_port(lport);
  s.mutable_remote()->set_address(remote);
  s.mutable_remote()->set_port(rport);
  return s;
}

TEST(FormatSocketsTable, ColumnsLikeSs) {
  v1::SocketEntry listen = Tcp("LISTEN", "0.0.0.0", 22, "0.0.0.0", 0);
  listen.set_send_queue(128);
  v1::SocketEntry estab = Tcp("ESTAB", "2001:2::a", 22, "2001:2::b", 40112);
  estab.set_receive_queue(5);
  auto* p = estab.add_processes();
  p->set_name("sshd");
  p->set_pid(812);
  p->set_fd(4);
  EXPECT_EQ(FormatSocketsTable({&listen, &estab}, {.processes = true}),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "LISTEN 0      128    0.0.0.0:22         0.0.0.0:*\n"
            "ESTAB  5      0      [2001:2::a]:22     [2001:2::b]:40112 "
            "users:((\"sshd\",pid=812,fd=4))\n");
  EXPECT_EQ(FormatSocketsTable({&listen}, {.netid = true}),
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
            "tcp   LISTEN 0      128    0.0.0.0:22         0.0.0.0:*\n");
}

TEST(FormatSocketsTable, UnixSocketsShowPathAndInodes) {
  v1::SocketEntry s;
  s.set_protocol(v1::SOCKET_PROTOCOL_UNIX);
  s.set_netid("u_str");
  s.set_state("ESTAB");
  s.set_path("@netprobe-test");
  s.set_inode(4242);
  s.set_peer_inode(4243);
  EXPECT_EQ(FormatLocal(s), "@netprobe-test 4242");
  EXPECT_EQ(FormatPeer(s), "* 4243");
  s.clear_path();
  EXPECT_EQ(FormatLocal(s), "* 4242");
}

TEST(FormatTcpInfoLine, FieldsInSsSyntax) {
  v1::TcpInfo t;
  t.set_congestion("cubic");
  t.set_snd_wscale(7);
  t.set_rcv_wscale(7);
  t.mutable_rtt()->set_nanos(34000);
  t.mutable_rttvar()->set_nanos(17000);
  t.set_snd_mss(1448);
  t.set_pmtu(1500);
  t.set_snd_cwnd(10);
  t.set_snd_ssthresh(0x7fffffff);
  t.set_bytes_acked(1);
  t.set_delivery_rate(1000);
  t.mutable_min_rtt()->set_nanos(20000);
  EXPECT_EQ(FormatTcpInfoLine(t),
            " cubic wscale:7,7 rtt:0.034/0.017 mss:1448 pmtu:1500 cwnd:10 "
            "bytes_acked:1 delivery_rate:8000bps minrtt:0.020");
}

TEST(FormatSocketsTable, TcpInfoLineFollowsItsSocket) {
  v1::SocketEntry s = Tcp("ESTAB", "198.18.0.10", 22, "198.18.0.11", 5000);
  s.mutable_tcp_info()->set_snd_cwnd(10);
  const std::string text = FormatSocketsTable({&s}, {.tcp_info = true});
  EXPECT_THAT(text, HasSubstr("198.18.0.11:5000\n\t cwnd:10\n"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
