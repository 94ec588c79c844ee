#include "client/output/sockets_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

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
  // ss 6.1's output for these sockets (not a terminal, trailing blanks cut):
  // addresses right-aligned with their colon, ports left-aligned.
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
            "LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n"
            "ESTAB  5      0        [2001:2::a]:22    [2001:2::b]:40112 "
            "users:((\"sshd\",pid=812,fd=4))\n");
  // No port wider than "Port": ss glues "Port" and "Process".
  EXPECT_EQ(FormatSocketsTable({&listen}, {.netid = true}),
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
            "tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n");
  // -H: no header, and the header no longer widens the columns.
  SocketsTableOptions no_header;
  no_header.header = false;
  EXPECT_EQ(FormatSocketsTable({&listen, &estab}, no_header),
            "LISTEN 0      128        0.0.0.0:22     0.0.0.0:*\n"
            "ESTAB  5      0      [2001:2::a]:22 [2001:2::b]:40112\n");
  // One state selected: no State column, as ss.
  SocketsTableOptions one_state;
  one_state.state = false;
  EXPECT_EQ(FormatSocketsTable({&listen}, one_state),
            "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
            "0      128          0.0.0.0:22        0.0.0.0:*\n");
}

TEST(FormatLocal, DualStackWildcardIsAStarLikeSs) {
  v1::SocketEntry dual = Tcp("LISTEN", "::", 7007, "::", 0);
  dual.set_v6only(false);
  EXPECT_EQ(FormatLocal(dual), "*:7007");
  EXPECT_EQ(FormatPeer(dual), "*:*");
  v1::SocketEntry v6only = Tcp("LISTEN", "::", 7007, "::", 0);
  v6only.set_v6only(true);
  EXPECT_EQ(FormatLocal(v6only), "[::]:7007");
  EXPECT_EQ(FormatPeer(v6only), "[::]:*");
  v1::SocketEntry v4 = Tcp("LISTEN", "0.0.0.0", 7007, "0.0.0.0", 0);
  EXPECT_EQ(FormatLocal(v4), "0.0.0.0:7007");
  EXPECT_EQ(FormatSocketsTable({&dual, &v6only, &v4}, {}),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
            "LISTEN 0      0                  *:7007            *:*\n"
            "LISTEN 0      0               [::]:7007         [::]:*\n"
            "LISTEN 0      0            0.0.0.0:7007      0.0.0.0:*\n");
}

TEST(FormatMsTimer, SsUnits) {
  EXPECT_EQ(FormatMsTimer(204), "204ms");
  EXPECT_EQ(FormatMsTimer(1500), "1.500sec");
  EXPECT_EQ(FormatMsTimer(12500), "12sec");
  EXPECT_EQ(FormatMsTimer(5000), "5sec");
  EXPECT_EQ(FormatMsTimer(7199000), "119min");
  EXPECT_EQ(FormatMsTimer(61000), "1min1sec");
  EXPECT_EQ(FormatMsTimer(0), "");
}

TEST(FormatSocketsTable, MemoryTimersAndDetailsLikeSs) {
  v1::SocketEntry s = Tcp("ESTAB", "127.0.0.1", 36700, "127.0.0.1", 34245);
  s.set_send_queue(67259);
  s.set_rcvbuf(131072);
  s.set_sndbuf(3939840);
  s.set_fwd_alloc(709);
  s.set_wmem_queued(68923);
  s.set_optmem(0);
  s.set_backlog(0);
  s.set_drops(0);
  s.set_inode(73311);
  s.set_cookie(0x3f);
  s.set_shutdown(0);
  s.mutable_timer()->set_name("on");
  s.mutable_timer()->mutable_expires()->set_nanos(204000000);
  s.mutable_tcp_info()->set_congestion("bbr");
  s.mutable_tcp_info()->set_options(1 | 2);
  s.mutable_tcp_info()->set_snd_cwnd(11);
  SocketsTableOptions options;
  options.header = false;
  options.memory = true;
  options.tcp_info = true;
  options.details = true;
  EXPECT_EQ(FormatSocketsTable({&s}, options),
            "ESTAB 0      67259  127.0.0.1:36700 127.0.0.1:34245 timer:(on,204ms,0) "
            "ino:73311 sk:3f <->\n"
            "\t skmem:(r0,rb131072,t0,tb3939840,f709,w68923,o0,bl0,d0) ts sack bbr "
            "cwnd:11\n");
  // -o alone: the timer, no details; -m alone: the skmem line.
  options.details = false;
  options.tcp_info = false;
  options.timers = true;
  EXPECT_EQ(FormatSocketsTable({&s}, options),
            "ESTAB 0      67259  127.0.0.1:36700 127.0.0.1:34245 timer:(on,204ms,0)\n"
            "\t skmem:(r0,rb131072,t0,tb3939840,f709,w68923,o0,bl0,d0)\n");
  // An older kernel without backlog and drops; uid shown when not root.
  s.clear_backlog();
  s.clear_drops();
  s.set_uid(1000);
  s.set_v6only(false);
  EXPECT_EQ(FormatSkmem(s), " skmem:(r0,rb131072,t0,tb3939840,f709,w68923,o0)");
  EXPECT_EQ(FormatDetails(s), " uid:1000 ino:73311 sk:3f v6only:0 <->");
  s.set_shutdown(3);
  EXPECT_THAT(FormatDetails(s), ::testing::EndsWith(" ---"));  // both sides shut
  s.clear_fwd_alloc();
  EXPECT_EQ(FormatSkmem(s), "");
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
  t.set_options(4);  // TCPI_OPT_WSCALE
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
            "bytes_acked:1 send 3.41Gbps delivery_rate 8kbps minrtt:0.02");
}

// Every field ss -i prints, from one fixed TcpInfo, in ss's order; the line
// ss 6.1 printed for such a socket (its values) is the model.
TEST(FormatTcpInfoLine, EverySsField) {
  v1::TcpInfo t;
  t.set_state("ESTABLISHED");
  t.set_options(1 | 2 | 4);  // timestamps, sack, wscale
  t.set_congestion("bbr");
  t.set_snd_wscale(10);
  t.set_rcv_wscale(10);
  t.mutable_rto()->set_nanos(204000000);
  t.mutable_rtt()->set_nanos(27000);
  t.mutable_rttvar()->set_nanos(12000);
  t.mutable_ato()->set_nanos(40000000);
  t.set_snd_mss(47616);
  t.set_pmtu(65535);
  t.set_rcv_mss(536);
  t.set_advmss(65483);
  t.set_snd_cwnd(11);
  t.set_bytes_sent(134518);
  t.set_bytes_retrans(34518);
  t.set_bytes_acked(32742);
  t.set_segs_out(6);
  t.set_segs_in(2);
  t.set_data_segs_out(4);
  t.set_data_segs_in(0);
  t.mutable_last_data_recv()->set_nanos(8000000);
  t.mutable_last_ack_recv()->set_nanos(8000000);
  t.set_pacing_rate(33417465936);
  t.set_delivery_rate(2267428571);
  t.set_delivered(2);
  t.set_delivery_rate_app_limited(true);
  t.mutable_busy_time()->set_nanos(8000000);
  t.mutable_rwnd_limited()->set_nanos(2000000);
  t.set_unacked(2);
  t.set_total_retrans(1);
  t.set_reordering(3);
  t.set_rcv_space(65495);
  t.set_rcv_ssthresh(65495);
  t.mutable_min_rtt()->set_nanos(21000);
  t.set_snd_wnd(95232);
  const auto line = [](const std::string& send, const std::string& pacing,
                       const std::string& delivery) {
    return absl::StrCat(
        " bbr wscale:10,10 rto:204 rtt:0.027/0.012 ato:40 mss:47616 pmtu:65535 "
        "rcvmss:536 advmss:65483 cwnd:11 bytes_sent:134518 bytes_retrans:34518 "
        "bytes_acked:32742 segs_out:6 segs_in:2 data_segs_out:4 send ",
        send, " lastrcv:8 lastack:8 pacing_rate ", pacing, " delivery_rate ", delivery,
        " delivered:2 app_limited busy:8ms rwnd_limited:2ms(25.0%) unacked:2 "
        "retrans:0/1 rcv_space:65495 rcv_ssthresh:65495 minrtt:0.021 snd_wnd:95232");
  };
  EXPECT_EQ(FormatTcpInfoLine(t), line("155Gbps", "267Gbps", "18.1Gbps"));
  EXPECT_EQ(FormatTcpInfoLine(t, {.numeric = true}),
            line("155192888889bps", "267339727488bps", "18139428568bps"));
  // -o adds the options ss names, first.
  EXPECT_THAT(FormatTcpInfoLine(t, {.timers = true}),
              ::testing::StartsWith(" ts sack bbr"));
}

TEST(FormatBitRate, SsHumanUnits) {
  EXPECT_EQ(FormatBitRate(18.7e9, false), "18.7G");
  EXPECT_EQ(FormatBitRate(2.3e9, false), "2.3G");
  EXPECT_EQ(FormatBitRate(1e9, false), "1G");
  EXPECT_EQ(FormatBitRate(1.5e12, false), "1.5T");
  EXPECT_EQ(FormatBitRate(949999, false), "950k");
  EXPECT_EQ(FormatBitRate(12345678, false), "12.3M");
  EXPECT_EQ(FormatBitRate(999, false), "999");
  EXPECT_EQ(FormatBitRate(18.7e9, true), "18700000000");
}

TEST(FormatSocketsTable, TcpInfoLineFollowsItsSocket) {
  v1::SocketEntry s = Tcp("ESTAB", "198.18.0.10", 22, "198.18.0.11", 5000);
  s.mutable_tcp_info()->set_snd_cwnd(10);
  const std::string text = FormatSocketsTable({&s}, {.tcp_info = true});
  EXPECT_THAT(text, HasSubstr("198.18.0.11:5000\n\t cwnd:10\n"));
}

TEST(FormatSocketsSummary, SsBlockThenWhatWasListed) {
  v1::SocketsSummary s;
  s.set_sockets_used(10);
  s.set_tcp_inuse(4);
  s.set_tcp6_inuse(5);
  s.set_tcp_orphan(1);
  s.set_tcp_alloc(7);
  s.set_tcp_timewait(3);
  s.set_tcp_established(2);
  s.set_udp_inuse(2);
  s.set_udp6_inuse(6);
  s.set_raw_inuse(1);
  s.set_raw6_inuse(7);
  s.set_frag_inuse(3);
  s.set_frag6_inuse(8);
  auto add = [&s](const char* netid, const char* state, uint64_t count) {
    v1::SocketCount* c = s.add_listed();
    c->set_netid(netid);
    c->set_state(state);
    c->set_count(count);
  };
  add("tcp", "ESTAB", 2);
  add("tcp", "LISTEN", 1);
  add("udp", "UNCONN", 1);
  // ss 6.1's print_summary for these figures.
  EXPECT_EQ(FormatSocketsSummary(s),
            "Total: 10\n"
            "TCP:   10 (estab 2, closed 1, orphaned 1, timewait 3)\n"
            "\n"
            "Transport Total     IP        IPv6\n"
            "RAW\t  8         1         7        \n"
            "UDP\t  8         2         6        \n"
            "TCP\t  9         4         5        \n"
            "INET\t  25        7         18       \n"
            "FRAG\t  11        3         8        \n"
            "\n"
            "Listed: tcp 3 (ESTAB 2, LISTEN 1); udp 1 (UNCONN 1)\n");
  s.clear_listed();
  EXPECT_THAT(FormatSocketsSummary(s), ::testing::EndsWith("\nListed: none\n"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
