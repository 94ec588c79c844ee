// Captures tied to a probe end to end (issue 22): the real agent in lab host 0
// probes host 1 while other traffic of the same kind goes to the same target
// at the same time; the real client writes `--capture FILE`, and Debian's
// tshark reads back exactly the probe's packets, each with the comment naming
// the probe event it belongs to.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/test_support/json_events.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kTshark[] = "/usr/bin/tshark";
constexpr char kCapinfos[] = "/usr/bin/capinfos";
// The agent's name on the command line: pcapng interfaces are "lab0/any".
constexpr char kAgentName[] = "lab0";

// tshark's fields of every packet in `file`, one vector per packet.
std::vector<std::vector<std::string>> TsharkFields(
    const std::string& file, const std::vector<std::string>& fields) {
  std::vector<std::string> argv = {kTshark, "-r", file, "-T", "fields"};
  for (const std::string& f : fields) {
    argv.push_back("-e");
    argv.push_back(f);
  }
  auto read = RunCommand(argv);
  EXPECT_THAT(read, IsOk());
  std::vector<std::vector<std::string>> rows;
  if (!read.ok()) return rows;
  EXPECT_EQ(read->exit_code, 0) << read->err;
  for (absl::string_view line : absl::StrSplit(read->out, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, '\t'));
  }
  return rows;
}

class ProbeCaptureCliLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kTarget = 1;

  void SetUp() override {
    for (const char* tool : {kTshark, kCapinfos}) {
      ASSERT_EQ(access(tool, X_OK), 0) << tool << " is missing (install-deps.sh)";
    }
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    // A probe's capture is a Capture call on the agent: off unless enabled.
    auto agent = LabAgent::Start(*lab_, kAgent, {"--enable-probe", "Capture"});
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  std::vector<std::string> ClientArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent",
                                     absl::StrCat(kAgentName, "=", agent_->address())};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  absl::StatusOr<RunResult> Client(const std::vector<std::string>& args) const {
    return RunCommand(ClientArgv(args), absl::Seconds(30));
  }
  // The client in the background, once its first line of stdout contains
  // `started` (its probe is under way).
  Process Background(const std::vector<std::string>& args, const std::string& started) {
    auto client = Process::Start(ClientArgv(args));
    EXPECT_THAT(client, IsOk());
    EXPECT_THAT(client->WaitForStdout(started, absl::Seconds(10)), IsOk())
        << client->err();
    return *std::move(client);
  }

  std::string File(const std::string& name) const {
    return absl::StrCat(lab_->dir(), "/", name);
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

TEST_F(ProbeCaptureCliLabTest, PingCaptureHoldsExactlyItsPacketsWithTheirEvents) {
  const std::string target = lab_->host(kTarget).ipv4;
  // Other pings to the same target meanwhile: one through the same agent (its
  // own ICMP identifier) and iputils ping from the agent's host.
  Process other = Background({"ping", "-i", "10ms", target}, "bytes from");
  auto iputils = lab_->Spawn(kAgent, {"ping", "-n", "-i", "0.01", target});
  ASSERT_THAT(iputils, IsOk());
  ASSERT_THAT(iputils->WaitForStdout("bytes from", absl::Seconds(10)), IsOk());

  constexpr int kCount = 4;
  const std::string file = File("ping.pcapng");
  auto run = Client({"--json", "ping", "-c", absl::StrCat(kCount), "-i", "20ms",
                     "--capture", file, target});
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  EXPECT_THAT(run->err, HasSubstr(absl::StrCat(2 * kCount, " packets captured to ", file,
                                               ", 0 dropped")));
  // --json shows the capture's header and stats, not its packets.
  int headers = 0, stats = 0;
  for (const v1::PingEvent& event : JsonEvents<v1::PingEvent>(run->out)) {
    headers += event.capture().has_header();
    stats += event.capture().has_stats();
    EXPECT_FALSE(event.capture().has_packets());
  }
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(stats, 1);

  const auto rows = TsharkFields(file, {"frame.interface_name", "icmp.type", "icmp.ident",
                                        "icmp.seq", "ip.src", "ip.dst", "frame.comment"});
  ASSERT_EQ(rows.size(), 2u * kCount);
  std::set<std::string> idents;
  for (int i = 0; i < 2 * kCount; ++i) {
    SCOPED_TRACE(absl::StrJoin(rows[i], " | "));
    ASSERT_EQ(rows[i].size(), 7u);
    const bool reply = i % 2 == 1;
    const std::string seq = absl::StrCat(i / 2 + 1);
    EXPECT_EQ(rows[i][0], absl::StrCat(kAgentName, "/any"));
    EXPECT_EQ(rows[i][1], reply ? "0" : "8");
    idents.insert(rows[i][2]);
    EXPECT_EQ(rows[i][3], seq);
    EXPECT_EQ(rows[i][4], reply ? target : lab_->host(kAgent).ipv4);
    EXPECT_EQ(rows[i][5], reply ? lab_->host(kAgent).ipv4 : target);
    // The event the packet belongs to, the request's as its reply's.
    EXPECT_THAT(rows[i][6],
                MatchesRegex(absl::StrCat("ping seq=", seq, " reply [0-9.]+ ms")));
  }
  EXPECT_EQ(idents.size(), 1u) << "packets of other pingers in the file";

  auto info = RunCommand({kCapinfos, "-M", file});
  ASSERT_THAT(info, IsOk());
  EXPECT_THAT(info->out, HasSubstr(absl::StrCat("Name = ", kAgentName, "/any")));
  // The filter the agent built from the probe (its targets, its identifier).
  EXPECT_THAT(info->out, HasSubstr("Filter string = "));
  EXPECT_THAT(info->out, HasSubstr(absl::StrCat("host ", target)));
  EXPECT_THAT(info->out, HasSubstr("Number of stat entries = 1"));
}

TEST_F(ProbeCaptureCliLabTest, TcpCaptureHoldsExactlyItsConnectionsWithTheirEvents) {
  auto listener = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(listener, IsOk());
  const std::string target = absl::StrCat(lab_->host(kTarget).ipv4, ":", listener->port);
  // Another tcp probe to the same port through the same agent meanwhile.
  Process other = Background({"tcp", "-c", "100000", "-i", "10ms", target}, "connected");

  constexpr int kCount = 3;
  const std::string file = File("tcp.pcapng");
  auto run = Client({"--json", "tcp", "-c", absl::StrCat(kCount), "-i", "20ms",
                     "--capture", file, target});
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  std::set<std::string> ports;  // the probe's own source ports
  for (const v1::TcpConnectEvent& event : JsonEvents<v1::TcpConnectEvent>(run->out)) {
    if (event.has_attempt()) ports.insert(absl::StrCat(event.attempt().local_port()));
  }
  ASSERT_EQ(ports.size(), static_cast<size_t>(kCount));

  const auto rows = TsharkFields(
      file, {"tcp.srcport", "tcp.dstport", "tcp.flags.str", "frame.comment"});
  // Each attempt: SYN, SYN-ACK, ACK, then its close.
  ASSERT_GE(rows.size(), 4u * kCount);
  std::map<std::string, std::set<std::string>> comments;  // by local port
  std::set<std::string> all_comments;
  for (const auto& row : rows) {
    SCOPED_TRACE(absl::StrJoin(row, " | "));
    ASSERT_EQ(row.size(), 4u);
    const bool outgoing = row[1] == absl::StrCat(listener->port);
    const std::string& port = outgoing ? row[0] : row[1];
    EXPECT_TRUE(ports.count(port)) << "a packet of another connection in the file";
    EXPECT_THAT(row[3], MatchesRegex("tcp attempt [1-3] connected [0-9.]+ ms"));
    comments[port].insert(row[3]);
    all_comments.insert(row[3]);
  }
  // Every connection's packets carry its attempt, one attempt each.
  EXPECT_EQ(comments.size(), static_cast<size_t>(kCount));
  for (const auto& [port, its] : comments) EXPECT_EQ(its.size(), 1u) << port;
  EXPECT_EQ(all_comments.size(), static_cast<size_t>(kCount));
  EXPECT_THAT(run->err, HasSubstr(absl::StrCat(rows.size(), " packets captured to ", file,
                                               ", 0 dropped")));

  // A port nobody listens on: the SYN and the target's RST, both commented
  // as the refused attempt they belong to.
  auto closed = ListenTcpInNetns(lab_->host(kTarget).netns);
  ASSERT_THAT(closed, IsOk());
  closed->fd.reset();
  const std::string refused_file = File("refused.pcapng");
  auto refused = Client({"tcp", "-c", "1", "--capture", refused_file,
                         absl::StrCat(lab_->host(kTarget).ipv4, ":", closed->port)});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 1) << refused->err;
  EXPECT_THAT(
      TsharkFields(refused_file, {"tcp.flags.syn", "tcp.flags.reset", "frame.comment"}),
      ElementsAre(ElementsAre("1", "0", "tcp attempt 1 refused"),
                  ElementsAre("0", "1", "tcp attempt 1 refused")));
  EXPECT_THAT(refused->err, HasSubstr(absl::StrCat("2 packets captured to ", refused_file,
                                                   ", 0 dropped")));
}

// An RFC 862 echo server on a kernel-chosen UDP port (printed first).
constexpr char kUdpEchoServer[] = R"(
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 0))
print(s.getsockname()[1], flush=True)
while True:
    data, peer = s.recvfrom(65536)
    s.sendto(data, peer)
)";

TEST_F(ProbeCaptureCliLabTest, UdpCaptureHoldsExactlyItsDatagramsWithTheirEvents) {
  auto echo = lab_->Spawn(kTarget, {kPython, "-c", kUdpEchoServer});
  ASSERT_THAT(echo, IsOk());
  auto port = echo->WaitForStdout("", absl::Seconds(10));
  ASSERT_THAT(port, IsOk());
  const std::string echo_port(absl::StripAsciiWhitespace(*port));
  const std::string target = absl::StrCat(lab_->host(kTarget).ipv4, ":", echo_port);
  // Another udp probe to the same echo server through the same agent meanwhile.
  Process other = Background({"udp", "-c", "100000", "-i", "10ms", target}, "bytes from");

  constexpr int kCount = 3;
  const std::string file = File("udp.pcapng");
  auto run = Client({"udp", "-c", absl::StrCat(kCount), "-i", "20ms", "--capture", file,
                     "--capture-snaplen", "96", target});
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  EXPECT_THAT(run->err, HasSubstr(absl::StrCat(2 * kCount, " packets captured to ", file,
                                               ", 0 dropped")));
  const auto rows = TsharkFields(file, {"udp.srcport", "udp.dstport", "frame.cap_len",
                                        "udp.length", "frame.comment"});
  ASSERT_EQ(rows.size(), 2u * kCount);
  std::set<std::string> local_ports;
  for (int i = 0; i < 2 * kCount; ++i) {
    SCOPED_TRACE(absl::StrJoin(rows[i], " | "));
    ASSERT_EQ(rows[i].size(), 5u);
    const bool echoed = i % 2 == 1;
    EXPECT_EQ(rows[i][echoed ? 0 : 1], echo_port);
    local_ports.insert(rows[i][echoed ? 1 : 0]);
    EXPECT_EQ(rows[i][2], "96");  // --capture-snaplen
    EXPECT_EQ(rows[i][3], "72");  // the default 64 bytes and the UDP header
    EXPECT_THAT(rows[i][4],
                MatchesRegex(absl::StrCat("udp seq=", i / 2 + 1, " echo [0-9.]+ ms")));
  }
  EXPECT_EQ(local_ports.size(), 1u) << "datagrams of the other sender in the file";
}

// argv: host port. UDP datagrams to host:port every 5 ms from one socket
// (each answered by a port unreachable, as a traceroute's last probe is);
// prints "sending" after the first. Runs until killed (at most 60 s).
constexpr char kUdpToClosedPort[] = R"(
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
end = time.time() + 60
first = True
while time.time() < end:
    try:
        s.send(b'not a probe')
    except OSError:
        pass  # the last port unreachable, reported on this socket
    if first:
        print('sending', flush=True)
        first = False
    time.sleep(0.005)
)";

TEST_F(ProbeCaptureCliLabTest, TracerouteCaptureHoldsItsProbesAndTheirAnswers) {
  const std::string target = lab_->host(kTarget).ipv4;
  // The target answers every datagram to a closed port: without this its
  // per-peer ICMP rate limit (a burst of 6, then one a second) spends its
  // tokens on the other sender's datagrams and the probe's may go unanswered.
  auto unlimited = lab_->Exec(kTarget, {"sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"});
  ASSERT_THAT(unlimited, IsOk());
  ASSERT_EQ(unlimited->exit_code, 0) << unlimited->err;
  // Other datagrams to the traceroute's port on the target meanwhile, each
  // answered by a port unreachable too.
  auto other = lab_->Spawn(kAgent, {kPython, "-c", kUdpToClosedPort, target, "33434"});
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(other->WaitForStdout("sending", absl::Seconds(10)), IsOk());

  const std::string file = File("traceroute.pcapng");
  auto run =
      Client({"traceroute", "-n", "-q", "1", "-p", "33434", "--capture", file, target});
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->exit_code, 0) << run->err;
  // udp.srcport: the probe's own, or (ICMP) the one of the probe it quotes.
  const auto rows =
      TsharkFields(file, {"ip.proto", "udp.srcport", "icmp.type", "frame.comment"});
  ASSERT_GE(rows.size(), 2u);
  std::set<std::string> probe_ports;
  for (const auto& row : rows) {
    SCOPED_TRACE(absl::StrJoin(row, " | "));
    ASSERT_EQ(row.size(), 4u);
    probe_ports.insert(row[1]);
    EXPECT_THAT(row[3], MatchesRegex("traceroute ttl=[0-9]+ probe 1 .*"));
  }
  EXPECT_EQ(probe_ports.size(), 1u) << "datagrams of the other sender in the file";
  // TTL 1 reaches the target: its probe and the target's port unreachable.
  const std::string reached = absl::StrCat("traceroute ttl=1 probe 1 refused from ",
                                           target, " [0-9.]+ ms \\(the target\\)");
  EXPECT_EQ(rows[0][0], "17");
  EXPECT_THAT(rows[0][3], MatchesRegex(reached));
  EXPECT_EQ(rows[1][0], "1,17");  // ICMP quoting the UDP probe
  EXPECT_EQ(rows[1][2], "3");
  EXPECT_THAT(rows[1][3], MatchesRegex(reached));
  EXPECT_THAT(run->err, HasSubstr(absl::StrCat(rows.size(), " packets captured to ", file,
                                               ", 0 dropped")));
}

TEST_F(ProbeCaptureCliLabTest, RefusalsLeaveNoFileAlsoAmongManyAgents) {
  {  // A FILE that cannot be written: refused before any call.
    auto run = Client({"ping", "-c", "1", "--capture", File("no/such/dir/p.pcapng"),
                       lab_->host(kTarget).ipv4});
    ASSERT_THAT(run, IsOk());
    EXPECT_EQ(run->exit_code, 2);
    EXPECT_THAT(run->err, HasSubstr(absl::StrCat("netprobe ping: --capture ",
                                                 File("no/such/dir/p.pcapng"),
                                                 ": No such file or directory")));
    EXPECT_EQ(run->out, "") << "the probe ran";
  }
  // An agent without CAP_NET_RAW (its ping could still run, from an ICMP
  // datagram socket): the agent's FAILED_PRECONDITION as it says it, exit 4,
  // and the file this run created is gone again.
  auto sysctl =
      lab_->Exec(kTarget, {"sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"});
  ASSERT_THAT(sysctl, IsOk());
  auto limited = LabAgent::Start(*lab_, kTarget, {"--enable-probe", "Capture"},
                                 {"capsh", "--drop=cap_net_raw", "--"});
  ASSERT_THAT(limited, IsOk());
  const std::string file = File("refused-by-agent.pcapng");
  auto run = RunCommand({NETPROBE_CLIENT_BIN, "--agent", limited->address(), "ping", "-c",
                         "1", "--capture", file, lab_->host(kAgent).ipv4});
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 4) << run->err;
  EXPECT_THAT(run->err, MatchesRegex("netprobe ping: .*CAP_NET_RAW.*\n"));
  EXPECT_EQ(run->out, "");
  EXPECT_FALSE(std::filesystem::exists(file)) << "an empty file stayed behind";

  // Both agents at once, {agent} in FILE: a file for the one that captured,
  // none for the one that refused; some agents failed: exit 6.
  const std::string each = File("p-{agent}.pcapng");
  auto both = RunCommand(
      {NETPROBE_CLIENT_BIN, "--agent",
       absl::StrCat(kAgentName, "=", agent_->address(), ",noraw=", limited->address()),
       "ping", "-c", "1", "--capture", each, lab_->host(kTarget).ipv4});
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(both->exit_code, 6) << both->err;
  EXPECT_THAT(both->err, HasSubstr(absl::StrCat("2 packets captured to ",
                                                File("p-lab0.pcapng"), ", 0 dropped")));
  EXPECT_THAT(both->err, MatchesRegex("(.|\n)*noraw.*CAP_NET_RAW(.|\n)*"));
  EXPECT_FALSE(std::filesystem::exists(File("p-noraw.pcapng")));
  const auto rows = TsharkFields(File("p-lab0.pcapng"), {"frame.interface_name"});
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"lab0/any"}, {"lab0/any"}}));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
