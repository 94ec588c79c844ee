// TcpConnect end to end: the real agent in lab host 0 probes targets in lab
// host 1 (listeners opened by this test inside that namespace), with faults
// from nftables, through the real client's JSON output.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/net/monotonic_clock.h"
#include "netprobe/v1/tcp.pb.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

struct ClientRun {
  int exit_code = -1;
  std::string err;
  std::vector<v1::TcpAttempt> attempts;
  std::vector<v1::TargetSummary> summaries;
  absl::Duration elapsed;
};

class TcpConnectLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, 0);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  // Runs `netprobe --json tcp ARGS...` and parses every line.
  ClientRun Tcp(std::vector<std::string> args,
                absl::Duration timeout = absl::Seconds(60)) {
    args.insert(args.begin(), {"--json", "tcp"});
    const absl::Duration start = MonotonicNow();
    auto result = agent_->Client(args, timeout);
    ClientRun run;
    run.elapsed = MonotonicNow() - start;
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return run;
    run.exit_code = result->exit_code;
    run.err = result->err;
    for (absl::string_view line : absl::StrSplit(result->out, '\n', absl::SkipEmpty())) {
      v1::TcpConnectEvent event;
      auto status =
          google::protobuf::util::JsonStringToMessage(std::string(line), &event);
      EXPECT_TRUE(status.ok()) << line;
      if (event.has_attempt()) run.attempts.push_back(event.attempt());
      if (event.has_summary()) run.summaries.push_back(event.summary());
    }
    return run;
  }

  // An nftables ruleset for host 1's input: `verdict` for TCP to `port`.
  absl::Status FilterInput(uint16_t port, const std::string& verdict) {
    return lab_->Nft(1,
                     absl::StrCat("table inet lab {\n chain input {\n"
                                  "  type filter hook input priority 0; policy accept;\n"
                                  "  tcp dport ",
                                  port, " ", verdict, "\n }\n}\n"));
  }

  std::string Target(int host, uint16_t port, bool v6 = false) const {
    return v6 ? absl::StrCat("[", lab_->host(host).ipv6, "]:", port)
              : absl::StrCat(lab_->host(host).ipv4, ":", port);
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
};

class TcpConnectFamilyTest : public TcpConnectLabTest,
                             public ::testing::WithParamInterface<bool> {};

TEST_P(TcpConnectFamilyTest, OpenPortConnectsWithTcpInfoAndLeavesNoTimeWait) {
  const bool v6 = GetParam();
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  ClientRun run = Tcp({"-c", "3", "-i", "20ms", "--info", Target(1, listener->port, v6)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.attempts.size(), 3u);
  for (const v1::TcpAttempt& a : run.attempts) {
    EXPECT_EQ(a.result().outcome(), v1::OUTCOME_OK) << a.DebugString();
    EXPECT_EQ(a.target().address(), v6 ? lab_->host(1).ipv6 : lab_->host(1).ipv4);
    EXPECT_EQ(a.local_address(), v6 ? lab_->host(0).ipv6 : lab_->host(0).ipv4);
    EXPECT_NE(a.local_port(), 0u);
    EXPECT_GT(Ms(a.connect_time()), 0.0);
    EXPECT_LT(Ms(a.connect_time()), 100.0);
    EXPECT_EQ(a.tcp_info().state(), "ESTABLISHED");
    EXPECT_GT(Ms(a.tcp_info().rtt()), 0.0);
    EXPECT_EQ(a.tcp_info().pmtu(), 1500u);
    EXPECT_GT(a.tcp_info().snd_mss(), 1000u);
    EXPECT_FALSE(a.tcp_info().congestion().empty());
  }
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_EQ(run.summaries[0].sent(), 3u);
  EXPECT_EQ(run.summaries[0].received(), 3u);
  EXPECT_EQ(run.summaries[0].rtt().count(), 3u);
  // Closed with RST: neither side keeps the connections (ss agrees).
  for (int host : {0, 1}) {
    auto ss = lab_->Exec(host, {"ss", "-Htan", "state", "time-wait"});
    ASSERT_THAT(ss, IsOk());
    EXPECT_EQ(ss->out, "") << "host " << host;
  }
}

TEST_P(TcpConnectFamilyTest, ClosedPortIsRefused) {
  const bool v6 = GetParam();
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  const uint16_t port = listener->port;
  listener->fd.reset();  // Nothing listens there now.
  ClientRun run = Tcp({"-c", "2", "-i", "10ms", Target(1, port, v6)});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(run.attempts.size(), 2u);
  for (const v1::TcpAttempt& a : run.attempts) {
    EXPECT_EQ(a.result().outcome(), v1::OUTCOME_REFUSED);
    EXPECT_EQ(a.result().error(), "ECONNREFUSED");
  }
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_EQ(run.summaries[0].received(), 0u);
  EXPECT_EQ(run.summaries[0].outcomes().at("OUTCOME_REFUSED"), 2u);
}

TEST_P(TcpConnectFamilyTest, NftablesDropTimesOutAfterTheRequestedTime) {
  const bool v6 = GetParam();
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(FilterInput(listener->port, "drop"), IsOk());
  ClientRun run =
      Tcp({"-c", "2", "-i", "10ms", "-W", "500ms", Target(1, listener->port, v6)});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(run.attempts.size(), 2u);
  for (const v1::TcpAttempt& a : run.attempts) {
    EXPECT_EQ(a.result().outcome(), v1::OUTCOME_TIMEOUT);
    // Within 10% of the requested 500 ms.
    EXPECT_GE(Ms(a.connect_time()), 500.0);
    EXPECT_LE(Ms(a.connect_time()), 550.0);
  }
}

TEST_P(TcpConnectFamilyTest, NftablesRejectWithTcpResetIsRefused) {
  const bool v6 = GetParam();
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(FilterInput(listener->port, "reject with tcp reset"), IsOk());
  ClientRun run = Tcp({"-W", "2s", Target(1, listener->port, v6)});
  ASSERT_EQ(run.attempts.size(), 1u);
  EXPECT_EQ(run.attempts[0].result().outcome(), v1::OUTCOME_REFUSED);
  EXPECT_LT(Ms(run.attempts[0].connect_time()), 100.0);
}

TEST_P(TcpConnectFamilyTest, NoRouteAndNoHostAreUnreachable) {
  const bool v6 = GetParam();
  // Off the lab's subnet with no default route: the kernel has no route.
  const std::string no_route = v6 ? "[2001:2:1::1]:80" : "198.19.0.1:80";
  // On the lab's subnet but nobody there: neighbour discovery fails (~3 s).
  const std::string no_host = v6 ? "[2001:2::63]:80" : "198.18.0.99:80";
  ClientRun run = Tcp({"-W", "10s", no_route, no_host});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(run.attempts.size(), 2u);
  for (const v1::TcpAttempt& a : run.attempts) {
    if (a.target().port() == 80 && absl::StrContains(no_route, a.target().host())) {
      EXPECT_EQ(a.result().outcome(), v1::OUTCOME_NET_UNREACHABLE) << a.DebugString();
    } else {
      EXPECT_EQ(a.result().outcome(), v1::OUTCOME_HOST_UNREACHABLE) << a.DebugString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, TcpConnectFamilyTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "IPv6" : "IPv4"; });

TEST_F(TcpConnectLabTest, SweepOfAThousandPortsFinishesWellUnderASecond) {
  // Ten listeners among 1000 ports; the rest are refused.
  std::vector<NetnsListener> listeners;
  for (int i = 0; i < 10; ++i) {
    auto listener = ListenTcpInNetns(lab_->host(1).netns);
    ASSERT_THAT(listener, IsOk());
    listeners.push_back(*std::move(listener));
  }
  std::vector<std::string> args = {"--concurrency", "500"};
  std::set<uint16_t> ports;
  for (const auto& l : listeners) ports.insert(l.port);
  for (uint16_t p = 20000; ports.size() < 1000; ++p) ports.insert(p);
  for (uint16_t p : ports) args.push_back(Target(1, p));
  ClientRun run = Tcp(args);
  EXPECT_EQ(run.exit_code, 1);  // Some targets never connected.
  ASSERT_EQ(run.attempts.size(), 1000u);
  ASSERT_EQ(run.summaries.size(), 1000u);
  int connected = 0, refused = 0;
  for (const auto& a : run.attempts) {
    connected += a.result().outcome() == v1::OUTCOME_OK;
    refused += a.result().outcome() == v1::OUTCOME_REFUSED;
  }
  EXPECT_EQ(connected, 10);
  EXPECT_EQ(refused, 990);
  // Whole client run, including process start and JSON printing.
  EXPECT_LT(run.elapsed, absl::Seconds(1)) << absl::FormatDuration(run.elapsed);
}

TEST_F(TcpConnectLabTest, SourceAddressInterfaceAndBanner) {
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  // A server that greets: accept one connection, write, close.
  std::thread server([fd = listener->fd.get()] {
    const int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    const char kGreeting[] = "SSH-2.0-lab\r\n";
    send(conn, kGreeting, sizeof(kGreeting) - 1, MSG_NOSIGNAL);
    close(conn);
  });
  ClientRun run = Tcp(
      {"-I", lab_->host(0).ipv4, "--read", "64", "-W", "2s", Target(1, listener->port)});
  server.join();
  ASSERT_EQ(run.attempts.size(), 1u) << run.err;
  EXPECT_EQ(run.attempts[0].result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(run.attempts[0].local_address(), lab_->host(0).ipv4);
  EXPECT_EQ(run.attempts[0].banner(), "SSH-2.0-lab\r\n");

  ClientRun by_interface = Tcp({"-I", "eth0", Target(1, listener->port)});
  ASSERT_EQ(by_interface.attempts.size(), 1u) << by_interface.err;
  EXPECT_EQ(by_interface.attempts[0].result().outcome(), v1::OUTCOME_OK);
  // Bound to lo, the lab address is not reachable.
  ClientRun by_lo = Tcp({"-I", "lo", "-W", "1s", Target(1, listener->port)});
  ASSERT_EQ(by_lo.attempts.size(), 1u) << by_lo.err;
  EXPECT_NE(by_lo.attempts[0].result().outcome(), v1::OUTCOME_OK);
}

TEST_F(TcpConnectLabTest, TtlAndTosReachTheWireAsTcpdumpSeesThem) {
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  // tcpdump in the target host prints the first SYN to our port, verbosely.
  auto tcpdump = lab_->Spawn(1, {"tcpdump", "-i", "eth0", "-n", "-v", "-l", "-c", "1",
                                 absl::StrCat("tcp dst port ", listener->port,
                                              " and tcp[tcpflags] & tcp-syn != 0")});
  ASSERT_THAT(tcpdump, IsOk());
  ASSERT_THAT(tcpdump->WaitForStderr("listening on", absl::Seconds(10)), IsOk());
  ClientRun run = Tcp({"-t", "7", "-Q", "16", Target(1, listener->port)});
  ASSERT_EQ(run.attempts.size(), 1u) << run.err;
  EXPECT_EQ(run.attempts[0].result().outcome(), v1::OUTCOME_OK);
  auto code = tcpdump->Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_THAT(tcpdump->out(), HasSubstr("tos 0x10, ttl 7,")) << tcpdump->out();
  EXPECT_THAT(tcpdump->out(), HasSubstr(absl::StrCat(lab_->host(0).ipv4, ".")));
}

TEST_F(TcpConnectLabTest, CtrlCCancelsTheProbeOnTheAgent) {
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  auto client = Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "tcp",
                                "-c", "100000", "-i", "5ms", Target(1, listener->port)});
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT(client->WaitForStdout("seq=3 ", absl::Seconds(10)), IsOk());
  client->Signal(SIGINT);
  auto code = client->Wait(absl::Seconds(5));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  // The agent saw the cancellation and ended the call.
  auto line = agent_->process().WaitForStderr("code=CANCELLED", absl::Seconds(5));
  ASSERT_THAT(line, IsOk());
  EXPECT_THAT(*line, HasSubstr("method=/netprobe.v1.Probes/TcpConnect"));
}

// Issue 18, items 1 and 2: `tcp -c 5 -W 5` against a port whose SYNs are
// dropped, stopped by Ctrl-C before any outcome: the statistics count the
// attempts still waiting (one AttemptSent each), where they said nothing.
TEST_F(TcpConnectLabTest, CtrlCBeforeAnyOutcomeCountsTheAttemptsInFlight) {
  auto listener = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(listener, IsOk());
  ASSERT_THAT(FilterInput(listener->port, "drop"), IsOk());
  auto client =
      Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "--json", "tcp",
                      "-c", "5", "-i", "100ms", "-W", "5", Target(1, listener->port)});
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT(client->WaitForStdout("\"sequence\":3", absl::Seconds(10)), IsOk())
      << client->err();
  client->Signal(SIGINT);
  auto code = client->Wait(absl::Seconds(5));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  int sent = 0, outcomes = 0;
  std::vector<v1::TargetSummary> summaries;
  for (absl::string_view line : absl::StrSplit(client->out(), '\n', absl::SkipEmpty())) {
    v1::TcpConnectEvent event;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    sent += event.has_sent();
    outcomes += event.has_attempt();
    if (event.has_summary()) summaries.push_back(event.summary());
  }
  EXPECT_EQ(outcomes, 0) << client->out();
  EXPECT_GE(sent, 3);
  ASSERT_EQ(summaries.size(), 1u) << client->out();
  EXPECT_EQ(summaries[0].sent(), static_cast<uint64_t>(sent));
  EXPECT_EQ(summaries[0].received(), 0u);
  EXPECT_EQ(summaries[0].loss_percent(), 100.0);
}

// Issue 18, item 5: through a router, an ICMP error to a SYN is reported as
// udp and ping report it: time exceeded (TTL 1) and admin-prohibited (an
// nftables reject on the router), each with the router that sent it, read
// from the socket's error queue (IP_RECVERR), not a bare EHOSTUNREACH.
TEST(TcpConnectRoutedLabTest, IcmpErrorsNameTheRouterThatSentThem) {
  constexpr int kNear = 0, kRouter = 1, kFar = 2;
  auto lab = Lab::CreateRouted();
  ASSERT_THAT(lab, IsOk());
  auto agent = LabAgent::Start(**lab, kNear);
  ASSERT_THAT(agent, IsOk());
  auto listener = ListenTcpInNetns((*lab)->host(kFar).netns);
  ASSERT_THAT(listener, IsOk());
  auto attempt_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "tcp", "-c", "1", "-W", "3s"});
    auto result = agent->Client(args);
    EXPECT_THAT(result, IsOk());
    v1::TcpAttempt attempt;
    if (!result.ok()) return attempt;
    for (absl::string_view line : absl::StrSplit(result->out, '\n', absl::SkipEmpty())) {
      v1::TcpConnectEvent event;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok());
      if (event.has_attempt()) attempt = event.attempt();
    }
    return attempt;
  };
  for (bool v6 : {false, true}) {
    const LabHost& far = (*lab)->host(kFar);
    const std::string target = v6 ? absl::StrCat("[", far.ipv6, "]:", listener->port)
                                  : absl::StrCat(far.ipv4, ":", listener->port);
    const std::string router =
        v6 ? (*lab)->host(kRouter).ipv6 : (*lab)->host(kRouter).ipv4;
    const v1::TcpAttempt expired = attempt_of({"-t", "1", target});
    EXPECT_EQ(expired.result().outcome(), v1::OUTCOME_TIME_EXCEEDED)
        << expired.DebugString();
    EXPECT_EQ(expired.result().reported_by(), router);
    EXPECT_EQ(expired.result().icmp_type(), v6 ? 3u : 11u);

    ASSERT_THAT(
        (*lab)->Nft(
            kRouter,
            absl::StrCat("table inet lab {\n chain forward {\n"
                         "  type filter hook forward priority 0; policy accept;\n"
                         "  tcp dport ",
                         listener->port,
                         " meta nfproto ipv4 reject with icmp type admin-prohibited\n"
                         "  tcp dport ",
                         listener->port,
                         " meta nfproto ipv6 reject with icmpv6 type "
                         "admin-prohibited\n }\n}\n")),
        IsOk());
    const v1::TcpAttempt refused = attempt_of({target});
    EXPECT_EQ(refused.result().outcome(), v1::OUTCOME_PROHIBITED)
        << refused.DebugString();
    EXPECT_EQ(refused.result().reported_by(), router);
    auto text = agent->Client({"tcp", "-c", "1", target});
    ASSERT_THAT(text, IsOk());
    EXPECT_THAT(text->out, HasSubstr(absl::StrCat("prohibited to ", target)));
    EXPECT_THAT(text->out, HasSubstr(absl::StrCat(" from ", router))) << text->out;
    ASSERT_THAT((*lab)->Exec(kRouter, {"nft", "delete", "table", "inet", "lab"}), IsOk());
  }
}

// Issue 18: a port list scans like `nc -zv` (and nmap's states): one line
// per port, open/closed/filtered, and the totals; each port's state equals
// what OpenBSD nc finds from the same host.
TEST_F(TcpConnectLabTest, PortListScanAgreesWithNcZv) {
  auto open1 = ListenTcpInNetns(lab_->host(1).netns);
  auto open2 = ListenTcpInNetns(lab_->host(1).netns);
  auto closed = ListenTcpInNetns(lab_->host(1).netns);
  auto filtered = ListenTcpInNetns(lab_->host(1).netns);
  ASSERT_THAT(open1, IsOk());
  ASSERT_THAT(open2, IsOk());
  ASSERT_THAT(closed, IsOk());
  ASSERT_THAT(filtered, IsOk());
  closed->fd.reset();  // nobody listens there any more: RST
  ASSERT_THAT(FilterInput(filtered->port, "drop"), IsOk());
  const std::string host = lab_->host(1).ipv4;
  const std::vector<uint16_t> ports = {open1->port, open2->port, closed->port,
                                       filtered->port};
  auto ours = agent_->Client(
      {"tcp", "-W", "1s", absl::StrCat(host, ":", absl::StrJoin(ports, ","))});
  ASSERT_THAT(ours, IsOk());
  EXPECT_EQ(ours->exit_code, 0) << ours->out << ours->err;
  EXPECT_THAT(ours->out, HasSubstr("4 ports: 2 open, 1 closed, 1 filtered\n"))
      << ours->out;
  EXPECT_THAT(ours->out, ::testing::Not(HasSubstr("statistics")));

  std::vector<std::string> nc_argv = {"nc", "-zv", "-w", "1", host};
  for (uint16_t port : ports) nc_argv.push_back(absl::StrCat(port));
  auto theirs = lab_->Exec(0, nc_argv);
  ASSERT_THAT(theirs, IsOk());
  const std::string nc_out = theirs->out + theirs->err;
  for (uint16_t port : ports) {
    std::string nc_state = "?";
    if (absl::StrContains(nc_out, absl::StrCat(" ", port, " port [tcp/"))) {
      nc_state = "open";  // "Connection to H P port [tcp/*] succeeded!"
    } else if (absl::StrContains(
                   nc_out,
                   absl::StrCat("port ", port, " (tcp) failed: Connection refused"))) {
      nc_state = "closed";
    } else if (absl::StrContains(nc_out,
                                 absl::StrCat("port ", port, " (tcp) timed out"))) {
      nc_state = "filtered";
    }
    EXPECT_THAT(ours->out,
                HasSubstr(absl::StrCat(host, ":", port, " (", host, ") ", nc_state)))
        << "nc says:\n"
        << nc_out << "ours:\n"
        << ours->out;
  }

  // -q: the totals alone.
  auto quiet = agent_->Client(
      {"tcp", "-q", "-W", "1s", absl::StrCat(host, ":", open1->port, ",", closed->port)});
  ASSERT_THAT(quiet, IsOk());
  EXPECT_EQ(quiet->out, "2 ports: 1 open, 1 closed, 0 filtered\n");
  // A range that runs backwards is refused before any call.
  auto backwards = agent_->Client({"tcp", absl::StrCat(host, ":90-80")});
  ASSERT_THAT(backwards, IsOk());
  EXPECT_EQ(backwards->exit_code, 2);
  EXPECT_THAT(backwards->err, HasSubstr("range '90-80' runs backwards"));
}

TEST_F(TcpConnectLabTest, BadInputIsRejectedWithTheFieldNamed) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  } cases[] = {
      {{"198.18.0.11:0"}, 2, "targets[0]: port '0' is out of range"},
      {{"198.18.0.11:65536"}, 2, "targets[0]: port '65536' is out of range"},
      {{"198.18.0.11"}, 2, "targets[0]: '198.18.0.11' has no port"},
      {{}, 2, "no target"},
      {{"-W", "0", "198.18.0.11:80"}, 2, "timeout: 0 is out of range"},
      {{"-W", "2h", "198.18.0.11:80"}, 2, "timeout: 2h is out of range"},
      {{"-I", "nosuch0", "198.18.0.11:80"},
       2,
       "options.interface: no interface 'nosuch0'"},
      {{"-I", "198.18.0.200", "198.18.0.11:80"},
       2,
       "options.source_address: 198.18.0.200 is not an address of this host"},
      {{"no-such-host.invalid:80"},
       2,
       "targets[0]: 'no-such-host.invalid' does not resolve"},
      {{"-6", "198.18.0.11:80"}, 2, "targets[0]: 198.18.0.11 is an IPv4 address"},
      {{"-c", "0", "198.18.0.11:80"}, 2, "-c/--count: '0' is not a whole number from 1"},
      {{"--concurrency", "5000", "198.18.0.11:80"}, 2, "--concurrency: '5000'"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"tcp"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = agent_->Client(args);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, c.exit_code)
        << absl::StrJoin(c.args, " ") << result->err;
    EXPECT_THAT(result->err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
  }
  // The agent still serves afterwards.
  auto info = agent_->Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0);
}

}  // namespace
}  // namespace netprobe::testing
