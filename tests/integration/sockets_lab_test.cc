// Sockets end to end: the real agent in lab host 0 lists the sockets that a
// python process of the test holds there (TCP listeners and connections to
// and from host 1, UDP, unix), and `ss`, run in the same namespace, must
// agree: the same sockets, states, ports, queues and owners, and the same
// TCP_INFO within sampling noise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/sockets.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/json_events.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

// argv: peer_ipv4 peer_port unix_dir tag. Holds, in this host: a TCP
// listener (the peer's connector opens two connections to it, one with 1000
// unread bytes queued); a connection out to the peer's listener with 300
// bytes sent and unread there; a UDP socket bound on v4 and one connected on
// v6; a unix stream listener (an abstract name with the tag), a connected
// unix stream pair with 50 bytes queued, and a unix datagram socket bound to
// a path. Prints "ready LISTEN_PORT", then "accepted" once the peer's two
// connections are in, and holds everything for at most 120 s (the test
// kills it sooner).
constexpr char kHolder[] = R"(
import socket, sys, time
peer, peer_port, unix_dir, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
keep = []
l = socket.socket(); l.bind(('0.0.0.0', 0)); l.listen(8); keep.append(l)
out = socket.create_connection((peer, peer_port)); out.sendall(b'o' * 300); keep.append(out)
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(('0.0.0.0', 0)); keep.append(u4)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.connect(('::1', 9)); keep.append(u6)
ul = socket.socket(socket.AF_UNIX); ul.bind('\0netprobe-' + tag); ul.listen(4); keep.append(ul)
a, b = socket.socketpair(); a.send(b'p' * 50); keep += [a, b]
ud = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); ud.bind(unix_dir + '/d-' + tag); keep.append(ud)
print('ready', l.getsockname()[1], flush=True)
for _ in range(2):
    c, _ = l.accept(); keep.append(c)
time.sleep(0.2)  # the 1000 bytes are in
print('accepted', flush=True)
time.sleep(120)
)";

// Listens on a kernel-chosen port (prints "listen PORT"), accepts one
// connection and never reads it; holds it for at most 120 s.
constexpr char kPeerListener[] = R"(
import socket, time
l = socket.socket(); l.bind(('0.0.0.0', 0)); l.listen(4)
print('listen', l.getsockname()[1], flush=True)
c, _ = l.accept()
time.sleep(120)
)";

// argv: host port. Two connections to host:port, 1000 bytes sent on the
// first; prints "connected" and holds them for at most 120 s.
constexpr char kPeerConnector[] = R"(
import socket, sys, time
a = socket.create_connection((sys.argv[1], int(sys.argv[2]))); a.sendall(b'i' * 1000)
b = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print('connected', flush=True)
time.sleep(120)
)";

// One socket as both tools show it.
using Row = std::tuple<std::string, std::string, uint32_t, uint32_t, std::string,
                       std::string>;  // netid, state, recv-q, send-q, local, peer

std::string Inet(const v1::Endpoint& e) {
  const std::string ip = e.address().find(':') != std::string::npos
                             ? absl::StrCat("[", e.address(), "]")
                             : e.address();
  return absl::StrCat(ip, ":", e.port() == 0 ? "*" : absl::StrCat(e.port()));
}

// `ss` prints a wildcard IPv6 peer as "*" and an IPv4 one as "0.0.0.0".
std::string SsPeer(const std::string& peer) {
  if (peer == "[::]:*") return "*:*";
  return peer;
}

Row OurRow(const v1::SocketEntry& s) {
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) {
    return {s.netid(),
            s.state(),
            s.receive_queue(),
            s.send_queue(),
            absl::StrCat(s.path().empty() ? "*" : s.path(), " ", s.inode()),
            absl::StrCat("* ", s.peer_inode())};
  }
  return {s.netid(),      s.state(),       s.receive_queue(),
          s.send_queue(), Inet(s.local()), SsPeer(Inet(s.remote()))};
}

// Rows of `ss -Hna...` (no header). Columns: [Netid] State Recv-Q Send-Q
// Local Peer [Process]; unix sockets print local and peer as "PATH INODE".
std::vector<Row> SsRows(const std::string& text, const std::string& netid) {
  std::vector<Row> rows;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (f.size() < 5) continue;
    uint32_t rq = 0, sq = 0;
    if (netid == "unix") {
      // Netid State Recv-Q Send-Q PATH INODE * PEER_INODE
      EXPECT_EQ(f.size(), 8u) << line;
      if (f.size() < 8) continue;
      EXPECT_TRUE(absl::SimpleAtoi(f[2], &rq) && absl::SimpleAtoi(f[3], &sq)) << line;
      rows.emplace_back(f[0], f[1], rq, sq, absl::StrCat(f[4], " ", f[5]),
                        absl::StrCat(f[6], " ", f[7]));
    } else {
      // State Recv-Q Send-Q Local Peer
      EXPECT_TRUE(absl::SimpleAtoi(f[1], &rq) && absl::SimpleAtoi(f[2], &sq)) << line;
      rows.emplace_back(netid, f[0], rq, sq, f[3], f[4]);
    }
  }
  return rows;
}

class SocketsLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kPeer = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kAgent);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    tag_ = absl::StrCat(getpid(), "-", counter_++);

    auto listener = lab_->Spawn(kPeer, {kPython, "-c", kPeerListener});
    ASSERT_THAT(listener, IsOk());
    peer_listener_ = std::make_unique<Process>(*std::move(listener));
    auto listen = peer_listener_->WaitForStdout("listen", absl::Seconds(10));
    ASSERT_THAT(listen, IsOk());
    peer_port_ = std::string(absl::StripAsciiWhitespace(listen->substr(7)));
    const std::string& peer_port = peer_port_;

    auto holder = lab_->Spawn(kAgent, {kPython, "-c", kHolder, lab_->host(kPeer).ipv4,
                                       peer_port, lab_->dir(), tag_});
    ASSERT_THAT(holder, IsOk());
    holder_ = std::make_unique<Process>(*std::move(holder));
    auto ready = holder_->WaitForStdout("ready", absl::Seconds(10));
    ASSERT_THAT(ready, IsOk()) << holder_->err();
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ready->substr(6)), &port_));

    auto connector = lab_->Spawn(kPeer, {kPython, "-c", kPeerConnector,
                                         lab_->host(kAgent).ipv4, absl::StrCat(port_)});
    ASSERT_THAT(connector, IsOk());
    connector_ = std::make_unique<Process>(*std::move(connector));
    ASSERT_THAT(connector_->WaitForStdout("connected", absl::Seconds(10)), IsOk());
    ASSERT_THAT(holder_->WaitForStdout("accepted", absl::Seconds(10)), IsOk());
  }

  struct Listing {
    int exit_code = -1;
    std::string err;
    std::vector<v1::SocketEntry> sockets;
    std::vector<v1::SocketsSnapshot> snapshots;
  };

  Listing List(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "sockets"});
    auto result = agent_->Client(args);
    EXPECT_THAT(result, IsOk());
    Listing out;
    if (!result.ok()) return out;
    out.exit_code = result->exit_code;
    out.err = result->err;
    for (const v1::SocketsEvent& event : JsonEvents<v1::SocketsEvent>(result->out)) {
      if (!event.has_snapshot()) continue;
      out.snapshots.push_back(event.snapshot());
      for (const v1::SocketEntry& s : event.snapshot().sockets())
        out.sockets.push_back(s);
    }
    return out;
  }

  std::string Ss(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {"ss", "-H", "-n"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto ss = lab_->Exec(kAgent, argv);
    EXPECT_THAT(ss, IsOk());
    return ss.ok() ? ss->out : "";
  }

  void ExpectSameAsSs(const std::vector<std::string>& ours_flags,
                      const std::vector<std::string>& ss_flags, const std::string& netid,
                      size_t at_least) {
    const Listing ours = List(ours_flags);
    ASSERT_EQ(ours.exit_code, 0) << ours.err;
    std::multiset<Row> our_rows, ss_rows;
    for (const v1::SocketEntry& s : ours.sockets) our_rows.insert(OurRow(s));
    const std::string ss = Ss(ss_flags);
    for (const Row& r : SsRows(ss, netid)) ss_rows.insert(r);
    auto show = [](const std::multiset<Row>& rows) {
      std::string out;
      for (const auto& [n, st, rq, sq, l, p] : rows) {
        absl::StrAppend(&out, n, " ", st, " ", rq, " ", sq, " ", l, " ", p, "\n");
      }
      return out;
    };
    EXPECT_EQ(show(our_rows), show(ss_rows)) << "ss printed:\n" << ss;
    EXPECT_GE(our_rows.size(), at_least) << "the test's own sockets are missing";
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::unique_ptr<Process> peer_listener_;
  std::unique_ptr<Process> connector_;
  std::unique_ptr<Process> holder_;
  std::string tag_;
  int port_ = 0;
  std::string peer_port_;
  static inline int counter_ = 0;
};

TEST_F(SocketsLabTest, TcpListMatchesSsWithQueuesAndOwners) {
  // The listener, two accepted connections, one out.
  ExpectSameAsSs({"-t", "-a"}, {"-t", "-a"}, "tcp", 4);
  // The holder's listener, its connections and their owners, as ss -p.
  const Listing ours = List({"-t", "-a", "-p"});
  const std::string ss = Ss({"-t", "-a", "-p"});
  int matched = 0;
  for (const v1::SocketEntry& s : ours.sockets) {
    if (s.local().port() != static_cast<uint32_t>(port_)) continue;
    ++matched;
    ASSERT_EQ(s.processes_size(), 1) << s.DebugString();
    EXPECT_EQ(s.processes(0).name(), "python3");
    EXPECT_EQ(s.processes(0).pid(), static_cast<uint32_t>(holder_->pid()))
        << "the holder runs under `ip netns exec`, which execs python";
    EXPECT_THAT(ss, HasSubstr(absl::StrCat("(\"python3\",pid=", s.processes(0).pid(),
                                           ",fd=", s.processes(0).fd(), ")")));
    EXPECT_NE(s.inode(), 0u);
  }
  EXPECT_EQ(matched, 3) << "the listener and two accepted connections";
  // One accepted connection has the peer's 1000 bytes queued.
  bool queued = false;
  for (const v1::SocketEntry& s : ours.sockets) {
    queued |= s.state() == "ESTAB" && s.local().port() == static_cast<uint32_t>(port_) &&
              s.receive_queue() == 1000;
  }
  EXPECT_TRUE(queued);
}

TEST_F(SocketsLabTest, UdpListMatchesSs) {
  ExpectSameAsSs({"-u", "-a"}, {"-u", "-a"}, "udp", 2);
}

TEST_F(SocketsLabTest, KindsTheKernelCannotListAreSaidOnStderr) {
  // Raw sockets need raw_diag, which some kernels lack: what the JSON lists
  // as unavailable, the text form says on stderr (never a silent empty table).
  const Listing json = List({"-w", "-a"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_FALSE(json.snapshots.empty());
  auto text = agent_->Client({"sockets", "-w", "-a"});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 0) << text->err;
  const auto& unavailable = json.snapshots.back().unavailable();
  if (unavailable.empty()) {
    EXPECT_THAT(text->err, ::testing::Not(HasSubstr("not listed"))) << text->err;
  } else {
    EXPECT_THAT(text->err,
                HasSubstr("netprobe sockets: not listed, this kernel cannot: "));
    for (const std::string& kind : unavailable) EXPECT_THAT(text->err, HasSubstr(kind));
  }
}

TEST_F(SocketsLabTest, UnixListMatchesSs) {
  // The agent's listener; the holder's listener, pair and datagram socket.
  ExpectSameAsSs({"-x", "-a"}, {"-x", "-a"}, "unix", 5);
  const Listing ours = List({"-x", "-a"});
  std::set<std::string> paths;
  for (const v1::SocketEntry& s : ours.sockets) paths.insert(s.path());
  EXPECT_TRUE(paths.count(absl::StrCat("@netprobe-", tag_)));
  EXPECT_TRUE(paths.count(absl::StrCat(lab_->dir(), "/d-", tag_)));
}

TEST_F(SocketsLabTest, DefaultListIsConnectedSocketsLikeSs) {
  ExpectSameAsSs({"-t"}, {"-t"}, "tcp", 3);
  ExpectSameAsSs({"-l", "-t"}, {"-l", "-t"}, "tcp", 1);
}

// "rtt:0.034/0.017" -> {"rtt", "0.034/0.017"}, for each field of ss -i; the
// fields ss writes as two words ("send 1.2Gbps", "pacing_rate 2.3Gbps",
// "delivery_rate ...") -> {"send", "1.2Gbps"}; a bare word ("app_limited",
// "cubic") -> {word, ""}.
std::map<std::string, std::string> SsInfoFields(absl::string_view line) {
  std::map<std::string, std::string> out;
  std::vector<absl::string_view> words =
      absl::StrSplit(line, ' ', absl::SkipWhitespace());
  for (size_t i = 0; i < words.size(); ++i) {
    absl::string_view word = words[i];
    const size_t colon = word.find(':');
    if (colon != absl::string_view::npos) {
      out[std::string(word.substr(0, colon))] = std::string(word.substr(colon + 1));
    } else if ((word == "send" || word == "pacing_rate" || word == "delivery_rate") &&
               i + 1 < words.size()) {
      out[std::string(word)] = std::string(words[++i]);
    } else {
      out[std::string(word)] = "";
    }
  }
  return out;
}

// Whole milliseconds of a Duration (lastsnd, lastrcv, lastack).
int64_t WholeMs(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

TEST_F(SocketsLabTest, TcpInfoAgreesWithSsI) {
  // The holder's connection out to the peer: idle since its 300 bytes were
  // acknowledged, so both tools read the same kernel values (but for the
  // time since the last packet, which grows between the two reads).
  const absl::Time before = absl::Now();
  const Listing ours =
      List({"-t", "-i", "--dst", lab_->host(kPeer).ipv4, "--port", peer_port_});
  ASSERT_EQ(ours.sockets.size(), 1u) << ours.err;
  const v1::SocketEntry& s = ours.sockets[0];
  ASSERT_TRUE(s.has_tcp_info());
  const v1::TcpInfo& t = s.tcp_info();
  const std::vector<std::string> filter = {"dst", lab_->host(kPeer).ipv4, "sport", "=",
                                           absl::StrCat(":", s.local().port())};
  std::vector<std::string> ss_args = {"-t", "-i"};
  ss_args.insert(ss_args.end(), filter.begin(), filter.end());
  const std::string ss = Ss(ss_args);
  const int64_t elapsed_ms = absl::ToInt64Milliseconds(absl::Now() - before) + 1;
  const std::vector<std::string> lines = absl::StrSplit(ss, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << ss;
  std::map<std::string, std::string> f = SsInfoFields(lines[1]);
  EXPECT_EQ(f["mss"], absl::StrCat(t.snd_mss()));
  EXPECT_EQ(f["cwnd"], absl::StrCat(t.snd_cwnd()));
  EXPECT_EQ(f["bytes_acked"], absl::StrCat(t.bytes_acked()));
  EXPECT_EQ(f["bytes_sent"], absl::StrCat(t.bytes_sent()));
  EXPECT_EQ(f["pmtu"], absl::StrCat(t.pmtu()));
  EXPECT_EQ(f["advmss"], absl::StrCat(t.advmss()));
  EXPECT_EQ(f["segs_out"], absl::StrCat(t.segs_out()));
  EXPECT_EQ(f["segs_in"], absl::StrCat(t.segs_in()));
  EXPECT_EQ(f["data_segs_out"], absl::StrCat(t.data_segs_out()));
  EXPECT_EQ(f["snd_wnd"], absl::StrCat(t.snd_wnd()));
  EXPECT_EQ(f["rcv_space"], absl::StrCat(t.rcv_space()));
  EXPECT_EQ(f["rcv_ssthresh"], absl::StrCat(t.rcv_ssthresh()));
  EXPECT_EQ(f["rto"], absl::StrCat(WholeMs(t.rto())));
  EXPECT_EQ(f.count("app_limited"), t.delivery_rate_app_limited() ? 1u : 0u) << lines[1];
  EXPECT_EQ(t.bytes_sent(), 300u);
  EXPECT_TRUE(t.has_snd_wnd() && t.has_segs_out() && t.has_pacing_rate());
  EXPECT_THAT(lines[1], HasSubstr(absl::StrCat(" ", t.congestion(), " ")));
  double ss_rtt = 0;
  ASSERT_TRUE(absl::SimpleAtod(std::vector<std::string>(absl::StrSplit(f["rtt"], '/'))[0],
                               &ss_rtt));
  const double our_rtt = t.rtt().seconds() * 1e3 + t.rtt().nanos() / 1e6;
  EXPECT_NEAR(our_rtt, ss_rtt, 0.0015 + ss_rtt * 0.1);
  // The time since the last data sent and ACK received: ss read later.
  for (const auto& [name, ms] :
       {std::pair<std::string, int64_t>{"lastsnd", WholeMs(t.last_data_sent())},
        {"lastack", WholeMs(t.last_ack_recv())}}) {
    int64_t ss_ms = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[name], &ss_ms)) << name << " in " << lines[1];
    EXPECT_GE(ss_ms, ms) << name;
    EXPECT_LE(ss_ms, ms + elapsed_ms) << name;
  }

  // Our text line, rates in ss's units: the same words as ss's, numeric
  // (-n) and human.
  for (const bool numeric : {true, false}) {
    std::vector<std::string> args = {
        "sockets", "-t", "-i", "--dst", lab_->host(kPeer).ipv4, "--port", peer_port_};
    if (numeric) args.push_back("-n");
    auto text = agent_->Client(args);
    ASSERT_THAT(text, IsOk());
    ASSERT_EQ(text->exit_code, 0) << text->err;
    const std::vector<std::string> our_lines =
        absl::StrSplit(text->out, '\n', absl::SkipEmpty());
    ASSERT_EQ(our_lines.size(), 3u) << text->out;
    std::vector<std::string> argv = {"ss", "-H", "-t", "-i"};
    if (numeric) argv.push_back("-n");
    argv.insert(argv.end(), filter.begin(), filter.end());
    auto ss_text = lab_->Exec(kAgent, argv);
    ASSERT_THAT(ss_text, IsOk());
    const std::vector<std::string> ss_lines =
        absl::StrSplit(ss_text->out, '\n', absl::SkipEmpty());
    ASSERT_EQ(ss_lines.size(), 2u) << ss_text->out;
    std::map<std::string, std::string> ours_f = SsInfoFields(our_lines[2]);
    std::map<std::string, std::string> ss_f = SsInfoFields(ss_lines[1]);
    for (const char* key : {"send", "pacing_rate", "delivery_rate", "mss", "cwnd",
                            "bytes_acked", "segs_out", "snd_wnd", "rto", "minrtt"}) {
      EXPECT_EQ(ours_f[key], ss_f[key])
          << key << (numeric ? " (-n)" : "") << "\nours: " << our_lines[2]
          << "\nss:   " << ss_lines[1];
    }
    EXPECT_TRUE(absl::EndsWith(ss_f["delivery_rate"], "bps")) << ss_lines[1];
  }
}

// Holds, in the agent's host: an IPv6 wildcard listener that takes IPv4 too
// (IPV6_V6ONLY 0), a v6only one, and a connection with SO_KEEPALIVE from
// 127.0.0.1 to the first (accepted). Prints "ready", holds them 120 s at most.
constexpr char kDualStack[] = R"(
import socket, time
d = socket.socket(socket.AF_INET6); d.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
d.bind(('::', 0)); d.listen(4)
o = socket.socket(socket.AF_INET6); o.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
o.bind(('::', 0)); o.listen(4)
k = socket.socket(); k.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
k.connect(('127.0.0.1', d.getsockname()[1]))
a, _ = d.accept()
print('ready', d.getsockname()[1], o.getsockname()[1], flush=True)
time.sleep(120)
)";

// A table as both tools print it, made comparable: trailing blanks cut; a
// socket's "\t..." line joined to its own; ss -e's cgroup (which the agent
// does not report) and a timer's remaining time (which runs on between the two
// reads) left out; the rows sorted (the kernel's order is not ss's), the
// header first.
std::vector<std::string> Comparable(const std::string& text, bool header) {
  std::vector<std::string> rows;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::StartsWith(line, "\t") && !rows.empty()) {
      absl::StrAppend(&rows.back(), "\n", line);
    } else {
      rows.emplace_back(line);
    }
  }
  for (std::string& row : rows) {
    if (size_t at = row.find(" cgroup:"); at != std::string::npos) {
      row.erase(at, row.find(' ', at + 1) - at);
    }
    if (size_t at = row.find("timer:("); at != std::string::npos) {
      const size_t from = row.find(',', at), to = row.find(',', from + 1);
      if (from != std::string::npos && to != std::string::npos) {
        row.replace(from + 1, to - from - 1, "T");
      }
    }
  }
  std::sort(rows.begin() + (header && !rows.empty() ? 1 : 0), rows.end());
  return rows;
}

TEST_F(SocketsLabTest, TextTableMatchesSsColumnForColumn) {
  auto dual = lab_->Spawn(kAgent, {kPython, "-c", kDualStack});
  ASSERT_THAT(dual, IsOk());
  auto ready = dual->WaitForStdout("ready", absl::Seconds(10));
  ASSERT_THAT(ready, IsOk()) << dual->err();
  const std::vector<std::string> ports =
      absl::StrSplit(absl::StripAsciiWhitespace(ready->substr(6)), ' ');
  ASSERT_EQ(ports.size(), 2u);
  struct Case {
    std::vector<std::string> ours, ss;
  };
  const std::vector<Case> cases = {
      {{"-t", "-a"}, {"-t", "-a"}},
      {{"-t", "-l"}, {"-t", "-l"}},
      {{"-t", "-l", "-H"}, {"-t", "-l", "-H"}},
      {{"-t", "-l", "-m", "-e"}, {"-t", "-l", "-m", "-e"}},
      {{"-t", "-o", "-e"}, {"-t", "-o", "-e"}},
      {{"-t", "-a", "-o"}, {"-t", "-a", "-o"}},
      {{"-t", "--state", "listening"}, {"-t", "state", "listening"}},
      {{"-u", "-a"}, {"-u", "-a"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"sockets"};
    args.insert(args.end(), c.ours.begin(), c.ours.end());
    auto ours = agent_->Client(args);
    ASSERT_THAT(ours, IsOk());
    ASSERT_EQ(ours->exit_code, 0) << ours->err;
    std::vector<std::string> argv = {"ss", "-n"};
    argv.insert(argv.end(), c.ss.begin(), c.ss.end());
    auto ss = lab_->Exec(kAgent, argv);
    ASSERT_THAT(ss, IsOk());
    const bool header = std::find(c.ss.begin(), c.ss.end(), "-H") == c.ss.end();
    EXPECT_EQ(absl::StrJoin(Comparable(ours->out, header), "\n"),
              absl::StrJoin(Comparable(ss->out, header), "\n"))
        << absl::StrJoin(c.ours, " ") << "\nours:\n"
        << ours->out << "ss:\n"
        << ss->out;
  }
  // The wildcards as ss names them.
  auto listening = agent_->Client({"sockets", "-t", "-l"});
  ASSERT_THAT(listening, IsOk());
  EXPECT_THAT(listening->out, HasSubstr(absl::StrCat(" *:", ports[0], " ")));
  EXPECT_THAT(listening->out, HasSubstr(absl::StrCat(" [::]:", ports[1], " ")));
  auto extended = agent_->Client({"sockets", "-t", "-e"});
  ASSERT_THAT(extended, IsOk());
  EXPECT_THAT(extended->out, HasSubstr("timer:(keepalive,"));
}

TEST_F(SocketsLabTest, FiltersSelectByStatePortAddressAndFamily) {
  const std::string me = lab_->host(kAgent).ipv4;
  Listing listening = List({"-t", "--state", "listening", "--port", absl::StrCat(port_)});
  ASSERT_EQ(listening.sockets.size(), 1u) << listening.err;
  EXPECT_EQ(listening.sockets[0].state(), "LISTEN");
  Listing estab = List({"-t", "--state", "established", "--src", me + "/32", "--port",
                        absl::StrCat(port_)});
  EXPECT_EQ(estab.sockets.size(), 2u) << estab.err;
  Listing peer_net = List({"-t", "-a", "--dst", "198.18.0.0/24"});
  for (const v1::SocketEntry& s : peer_net.sockets) {
    EXPECT_TRUE(absl::StartsWith(s.remote().address(), "198.18.0.")) << s.DebugString();
  }
  EXPECT_EQ(peer_net.sockets.size(), 3u);
  Listing v6 = List({"-u", "-a", "-6"});
  ASSERT_FALSE(v6.sockets.empty());
  for (const v1::SocketEntry& s : v6.sockets) {
    EXPECT_EQ(s.local().family(), v1::ADDRESS_FAMILY_IPV6);
  }
}

TEST_F(SocketsLabTest, SsFilterExpressionsSelectWhatSsSelects) {
  const std::string me = lab_->host(kAgent).ipv4, peer = lab_->host(kPeer).ipv4;
  const std::string port = absl::StrCat(":", port_), peer_port = ":" + peer_port_;
  // The same words to both tools; each selects some of the test's sockets.
  const std::vector<std::vector<std::string>> filters = {
      {"sport", "=", port},
      {"dport", "=", peer_port},
      {"dport", peer_port},
      {"dst", peer},
      {"dst", peer + ":" + peer_port_},
      {"src", me + "/32", "and", "sport", "=", port},
      {"dst", "198.18.0.0/15", "sport", "==", port},
  };
  for (const auto& filter : filters) {
    std::vector<std::string> args = {"-t", "-a"};
    args.insert(args.end(), filter.begin(), filter.end());
    SCOPED_TRACE(absl::StrJoin(args, " "));
    ExpectSameAsSs(args, args, "tcp", 1);
  }
  // `state NAME` as ss (no -a): ss drops its State column then, so rows are
  // compared by address and port.
  auto ours =
      agent_->Client({"sockets", "-H", "-t", "state", "established", "sport", port});
  ASSERT_THAT(ours, IsOk());
  ASSERT_EQ(ours->exit_code, 0) << ours->err;
  auto ss =
      lab_->Exec(kAgent, {"ss", "-H", "-n", "-t", "state", "established", "sport", port});
  ASSERT_THAT(ss, IsOk());
  EXPECT_EQ(Comparable(ours->out, false), Comparable(ss->out, false)) << ss->out;
  EXPECT_EQ(Comparable(ours->out, false).size(), 2u) << ours->out;
  // What ss has and this does not is refused, naming the word.
  auto refused =
      agent_->Client({"sockets", "-t", "dport", "=", port, "or", "sport", "=", port});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 2);
  EXPECT_THAT(refused->err, HasSubstr("netprobe sockets: filter: 'or' is not supported"));
}

TEST_F(SocketsLabTest, SummaryIsSsSummaryOfTheAgentsNamespace) {
  // The figures of this namespace's sockets (in use per protocol and family,
  // established, time-wait) are ss -s's; TCP's "closed" and "orphaned" and
  // the total come from host-wide or every-kind counters that other
  // processes move between the two reads, so only their presence is checked.
  auto ours = agent_->Client({"sockets", "-s"});
  ASSERT_THAT(ours, IsOk());
  ASSERT_EQ(ours->exit_code, 0) << ours->err;
  auto ss = lab_->Exec(kAgent, {"ss", "-s"});
  ASSERT_THAT(ss, IsOk());
  const std::vector<std::string> our_lines = absl::StrSplit(ours->out, '\n');
  const std::vector<std::string> ss_lines = absl::StrSplit(ss->out, '\n');
  ASSERT_GE(our_lines.size(), 10u) << ours->out;
  ASSERT_GE(ss_lines.size(), 9u) << ss->out;
  EXPECT_TRUE(absl::StartsWith(our_lines[0], "Total: ")) << ours->out;
  // "TCP:   N (estab E, closed C, orphaned O, timewait T)": E and T.
  const auto estab_and_timewait = [](const std::string& line) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::ByAnyChar("(,)"));
    EXPECT_EQ(parts.size(), 6u) << line;
    return parts.size() < 5 ? std::string() : parts[1] + "," + parts[4];
  };
  EXPECT_EQ(estab_and_timewait(our_lines[1]), estab_and_timewait(ss_lines[1]))
      << "ours:\n"
      << ours->out << "ss:\n"
      << ss->out;
  EXPECT_EQ(estab_and_timewait(our_lines[1]), "estab 3, timewait 0")
      << "the holder's three connections";
  // The Transport table, character for character.
  for (size_t i = 2; i <= 8; ++i) {
    EXPECT_EQ(our_lines[i], ss_lines[i]) << "line " << i << "\nours:\n"
                                         << ours->out << "ss:\n"
                                         << ss->out;
  }
  // Then what the agent listed: the holder's TCP sockets among them.
  EXPECT_THAT(ours->out, HasSubstr("\nListed: tcp ")) << ours->out;
  EXPECT_THAT(ours->out, HasSubstr("ESTAB 3")) << ours->out;
  EXPECT_THAT(ours->out, ::testing::Not(HasSubstr("Recv-Q"))) << "the summary only";
  // With a kind: the summary, then the table.
  auto both = agent_->Client({"sockets", "-s", "-t"});
  ASSERT_THAT(both, IsOk());
  EXPECT_THAT(both->out, HasSubstr("\n\nState Recv-Q Send-Q")) << both->out;
}

TEST_F(SocketsLabTest, WatchEmitsNewAndGoneSockets) {
  std::vector<std::string> argv = {NETPROBE_CLIENT_BIN,
                                   "--agent",
                                   agent_->address(),
                                   "--json",
                                   "sockets",
                                   "-t",
                                   "-a",
                                   "--watch",
                                   "200ms",
                                   "--port",
                                   absl::StrCat(port_)};
  auto watch = Process::Start(argv);
  ASSERT_THAT(watch, IsOk());
  ASSERT_THAT(watch->WaitForStdout("\"complete\":true", absl::Seconds(10)), IsOk());
  // A third connection to the holder's listener appears, then goes.
  auto extra = lab_->Spawn(
      kPeer, {kPython, "-c",
              absl::StrCat("import socket, sys; s = socket.create_connection(('",
                           lab_->host(kAgent).ipv4, "', ", port_,
                           ")); print('up', s.getsockname()[1], flush=True); "
                           "sys.stdin.read()")});
  ASSERT_THAT(extra, IsOk());
  auto up = extra->WaitForStdout("up", absl::Seconds(10));
  ASSERT_THAT(up, IsOk());
  const std::string extra_port(absl::StripAsciiWhitespace(up->substr(3)));
  ASSERT_THAT(
      watch->WaitForStdout(absl::StrCat("\"port\":", extra_port), absl::Seconds(10)),
      IsOk());
  extra->Signal(SIGKILL);
  ASSERT_THAT(watch->WaitForStdout("\"removed\"", absl::Seconds(10)), IsOk());
  watch->Signal(SIGINT);
  auto code = watch->Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
}

// Issue 18, item 3: a watch cut by --timeout ends at the deadline with the
// end's reason and exit 7, not as an agent that could not be reached.
TEST_F(SocketsLabTest, WatchCutByTimeoutEndsWithDeadlineAndExitCode7) {
  const absl::Time start = absl::Now();
  auto run = agent_->Client({"--timeout", "2s", "sockets", "-t", "-a", "--watch", "200ms",
                             "--port", absl::StrCat(port_)},
                            absl::Seconds(15));
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 7) << run->out << run->err;
  EXPECT_LT(took, absl::Seconds(5)) << "the watch outlived its deadline";
  EXPECT_THAT(run->out, HasSubstr("stream ended early: DEADLINE")) << run->out;
  EXPECT_THAT(run->out, HasSubstr(absl::StrCat(":", port_))) << "the first round's table";
  EXPECT_THAT(run->err, ::testing::Not(HasSubstr("unreachable"))) << run->err;
}

TEST_F(SocketsLabTest, BadInputIsRejectedNamingTheField) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--state", "establishd"}, "states[0]: "},
      {{"--src", "198.18.0.0/33"}, "local: prefix length"},
      {{"--dst", "not-an-address"}, "remote: 'not-an-address' is not an address"},
      {{"--watch", "10ms"}, "watch_interval: 10ms is out of range"},
      {{"-x", "--port", "22"}, "protocols: UNIX with a family, address or port filter"},
      {{"--port", "70000"}, "--port"},
      {{"dport", "=", ":70000"}, "dport: ':70000' is not a port 1..65535"},
      {{"-a", "state", "listening"}, "filter: 'state' not with -l or -a"},
      {{"dst", "not-an-address"}, "'not-an-address' is not an address"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"sockets"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = agent_->Client(args);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, 2) << absl::StrJoin(c.args, " ") << result->err;
    EXPECT_THAT(result->err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
  }
}

}  // namespace
}  // namespace netprobe::testing
