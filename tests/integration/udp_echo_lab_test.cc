// UDP echo end to end: the real agent in lab host 0 probes an echo responder
// run by another agent (host 1, `--udp-echo 0`) and foreign echo servers
// (socat, and a python server that misbehaves on purpose) in host 2, with
// faults from nftables, through the real client's JSON output.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/udp.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

struct EchoRun {
  int exit_code = -1;
  std::string err;
  std::vector<v1::UdpEchoReply> replies;
  std::vector<v1::TargetSummary> summaries;
};

// An echo server in python that answers each datagram as `mode` says:
// "dup" twice, "corrupt" with its last byte flipped, "reorder" in swapped
// pairs (the 2nd before the 1st, ...). Prints its port, then serves a bounded
// number of datagrams.
std::vector<std::string> MisbehavingServer(const std::string& mode) {
  return {"/usr/bin/python3", "-c",
          absl::StrCat(R"(
import socket, sys
mode = ")",
                       mode, R"("
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(30)
held = None
for _ in range(1000):
    data, peer = s.recvfrom(65536)
    if mode == "dup":
        s.sendto(data, peer); s.sendto(data, peer)
    elif mode == "corrupt":
        s.sendto(data[:-1] + bytes([data[-1] ^ 0xff]), peer)
    elif mode == "reorder":
        if held is None:
            held = (data, peer)
        else:
            s.sendto(data, peer); s.sendto(*held); held = None
)")};
}

class UdpEchoLabTest : public ::testing::Test {
 protected:
  static constexpr int kProber = 0, kResponder = 1, kForeign = 2;

  void SetUp() override {
    auto lab = Lab::Create(3);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kProber);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    auto responder = LabAgent::Start(*lab_, kResponder, {"--udp-echo", "0"});
    ASSERT_THAT(responder, IsOk());
    responder_ = std::make_unique<LabAgent>(*std::move(responder));
    auto info = ResponderInfo();
    ASSERT_THAT(info, IsOk());
    port_ = info->port();
    ASSERT_NE(port_, 0u);
  }

  absl::StatusOr<v1::UdpEchoResponder> ResponderInfo() {
    auto result = responder_->Client({"--json", "info"});
    if (!result.ok()) return result.status();
    v1::AgentInfo info;
    if (!google::protobuf::util::JsonStringToMessage(result->out, &info).ok() ||
        info.udp_echo_responders_size() != 1) {
      return absl::InternalError(absl::StrCat("info: ", result->out, result->err));
    }
    return info.udp_echo_responders(0);
  }

  std::string Target(int host, uint32_t port, bool v6 = false) const {
    return v6 ? absl::StrCat("[", lab_->host(host).ipv6, "]:", port)
              : absl::StrCat(lab_->host(host).ipv4, ":", port);
  }

  EchoRun Udp(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "udp"});
    auto result = agent_->Client(args, absl::Seconds(60));
    EchoRun run;
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return run;
    run.exit_code = result->exit_code;
    run.err = result->err;
    for (absl::string_view line : absl::StrSplit(result->out, '\n', absl::SkipEmpty())) {
      v1::UdpEchoEvent event;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
          << line;
      if (event.has_reply()) run.replies.push_back(event.reply());
      if (event.has_summary()) run.summaries.push_back(event.summary());
    }
    return run;
  }

  // Starts `argv` in the foreign host; it prints its UDP port first.
  absl::StatusOr<uint32_t> StartForeign(const std::vector<std::string>& argv) {
    auto process = lab_->Spawn(kForeign, argv);
    if (!process.ok()) return process.status();
    foreign_ = std::make_unique<Process>(*std::move(process));
    auto line = foreign_->WaitForStdout("\n", absl::Seconds(10));
    if (!line.ok()) return line.status();
    uint32_t port = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(foreign_->out()), &port)) {
      return absl::InternalError(absl::StrCat("no port from ", foreign_->out()));
    }
    return port;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_, responder_;
  std::unique_ptr<Process> foreign_;
  uint32_t port_ = 0;
};

TEST_F(UdpEchoLabTest, AnotherAgentsResponderEchoesEveryDatagramV4AndV6) {
  for (bool v6 : {false, true}) {
    EchoRun run =
        Udp({"-c", "50", "-i", "2ms", "-s", "200", Target(kResponder, port_, v6)});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    ASSERT_EQ(run.replies.size(), 50u) << run.err;
    for (const v1::UdpEchoReply& r : run.replies) {
      EXPECT_EQ(r.result().outcome(), v1::OUTCOME_OK) << r.DebugString();
      EXPECT_EQ(r.bytes(), 200u);
      EXPECT_FALSE(r.duplicate() || r.corrupted() || r.out_of_order());
      const double us = r.rtt().seconds() * 1e6 + r.rtt().nanos() / 1e3;
      EXPECT_GT(us, 0.0);
      EXPECT_LT(us, 50000.0);
    }
    ASSERT_EQ(run.summaries.size(), 1u);
    const v1::TargetSummary& s = run.summaries[0];
    EXPECT_EQ(s.sent(), 50u);
    EXPECT_EQ(s.received(), 50u);
    EXPECT_EQ(s.loss_percent(), 0.0);
    EXPECT_TRUE(s.has_jitter());
    EXPECT_EQ(s.target().family(),
              v6 ? v1::ADDRESS_FAMILY_IPV6 : v1::ADDRESS_FAMILY_IPV4);
  }
  auto info = ResponderInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->received(), 100u);
  EXPECT_EQ(info->echoed(), 100u);
  EXPECT_EQ(info->send_failed(), 0u);
}

// socat answers each datagram from a child of its own (RECVFROM with fork):
// with LISTEN, one child per peer echoes through a pipe, and when the child
// starts slowly (a busy machine) the first two datagrams meet in the pipe and
// come back as one.
TEST_F(UdpEchoLabTest, ForeignSocatEchoServerWorks) {
  auto port = StartForeign({"sh", "-c",
                            "p=$(/usr/bin/python3 -c 'import socket; s=socket.socket("
                            "socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"\", 0)); "
                            "print(s.getsockname()[1])'); echo $p; "
                            "exec socat -T 30 UDP4-RECVFROM:$p,fork,reuseaddr PIPE"});
  ASSERT_THAT(port, IsOk());
  // socat binds just after printing; the first datagrams may find no one
  // (port unreachable), so retry a bounded number of times until it answers.
  EchoRun run;
  for (int i = 0; i < 50; ++i) {
    run = Udp({"-c", "1", "-W", "200ms", Target(kForeign, *port)});
    if (run.exit_code == 0) break;
  }
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = Udp({"-c", "30", "-i", "5ms", Target(kForeign, *port)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_EQ(run.summaries[0].received(), 30u);
  EXPECT_EQ(run.summaries[0].corrupted(), 0u);
}

TEST_F(UdpEchoLabTest, LossUnderNftablesRandomDropIsMeasured) {
  ASSERT_THAT(
      lab_->Nft(kResponder,
                absl::StrCat("table inet lab {\n chain input {\n"
                             "  type filter hook input priority 0; policy accept;\n"
                             "  udp dport ",
                             port_, " numgen random mod 100 < 30 drop\n }\n}\n")),
      IsOk());
  EchoRun run =
      Udp({"-c", "1000", "-i", "1ms", "-W", "500ms", Target(kResponder, port_)});
  ASSERT_EQ(run.summaries.size(), 1u) << run.err;
  const v1::TargetSummary& s = run.summaries[0];
  EXPECT_EQ(s.sent(), 1000u);
  EXPECT_EQ(s.received() + s.outcomes().at("OUTCOME_TIMEOUT"), 1000u);
  // Binomial(1000, 0.3): sigma 1.45%; 6 points is over 4 sigma.
  EXPECT_NEAR(s.loss_percent(), 30.0, 6.0);
  EXPECT_EQ(run.replies.size(), 1000u);
}

TEST_F(UdpEchoLabTest, ClosedPortIsRefusedByThatHost) {
  for (bool v6 : {false, true}) {
    // The responder's own port plus one: nothing listens there in its namespace.
    EchoRun run = Udp({"-c", "3", "-i", "10ms", Target(kResponder, port_ + 1, v6)});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    ASSERT_EQ(run.replies.size(), 3u) << run.err;
    for (const v1::UdpEchoReply& r : run.replies) {
      EXPECT_EQ(r.result().outcome(), v1::OUTCOME_REFUSED) << r.DebugString();
      EXPECT_EQ(r.result().reported_by(),
                v6 ? lab_->host(kResponder).ipv6 : lab_->host(kResponder).ipv4);
    }
  }
}

TEST_F(UdpEchoLabTest, DroppedRepliesTimeOut) {
  ASSERT_THAT(lab_->Nft(kResponder,
                        "table inet lab {\n chain output {\n"
                        "  type filter hook output priority 0; policy accept;\n"
                        "  udp sport " +
                            std::to_string(port_) + " drop\n }\n}\n"),
              IsOk());
  EchoRun run = Udp({"-c", "3", "-i", "10ms", "-W", "100ms", Target(kResponder, port_)});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(run.replies.size(), 3u) << run.err;
  for (const v1::UdpEchoReply& r : run.replies) {
    EXPECT_EQ(r.result().outcome(), v1::OUTCOME_TIMEOUT);
  }
}

// Issue 18, items 1 and 2: Ctrl-C before any reply still prints the header
// (at once) and the statistics, and "sent" counts every datagram that left,
// those still waiting for their reply included: the responder host's
// nftables counter saw exactly as many.
TEST_F(UdpEchoLabTest, CtrlCBeforeAnyReplyPrintsTheStatisticsCountingEveryDatagramSent) {
  ASSERT_THAT(lab_->Nft(kResponder, absl::StrCat("table inet lab {\n chain input {\n"
                                                 "  type filter hook input priority 0; "
                                                 "policy accept;\n  udp dport ",
                                                 port_, " counter drop\n }\n}\n")),
              IsOk());
  const std::string target = Target(kResponder, port_);
  auto client = Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "udp",
                                "-i", "0.2", "-W", "5", target});
  ASSERT_THAT(client, IsOk());
  ASSERT_THAT(client->WaitForStdout(absl::StrCat("UDP ECHO ", target), absl::Seconds(5)),
              IsOk())
      << client->out() << client->err();
  absl::SleepFor(absl::Seconds(1));  // the run's length: about 6 datagrams
  client->Signal(SIGINT);
  auto code = client->Wait(absl::Seconds(5));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  std::smatch ours;
  const std::string out = client->out();
  ASSERT_TRUE(
      std::regex_search(out, ours, std::regex(R"((\d+) datagrams sent, 0 received)")))
      << out;
  auto theirs = lab_->NftCounterPackets(kResponder);
  ASSERT_THAT(theirs, IsOk());
  EXPECT_EQ(std::stoi(ours[1]), *theirs) << out;
  EXPECT_GE(std::stoi(ours[1]), 5) << out;
  EXPECT_LE(std::stoi(ours[1]), 8) << out;
  EXPECT_THAT(out, HasSubstr("100% loss")) << out;
}

TEST_F(UdpEchoLabTest, DuplicatesAreMarkedAndCounted) {
  auto port = StartForeign(MisbehavingServer("dup"));
  ASSERT_THAT(port, IsOk());
  EchoRun run = Udp({"-c", "10", "-i", "5ms", Target(kForeign, *port)});
  ASSERT_EQ(run.summaries.size(), 1u) << run.err;
  EXPECT_EQ(run.summaries[0].received(), 10u);
  // The last one's copy may come after the run ended with its answer.
  EXPECT_THAT(run.summaries[0].duplicates(), ::testing::AnyOf(9u, 10u));
  uint64_t marked = 0;
  for (const v1::UdpEchoReply& r : run.replies) marked += r.duplicate();
  EXPECT_EQ(marked, run.summaries[0].duplicates());
}

TEST_F(UdpEchoLabTest, ReorderedRepliesAreMarked) {
  auto port = StartForeign(MisbehavingServer("reorder"));
  ASSERT_THAT(port, IsOk());
  // The server holds every odd datagram until the next arrives.
  EchoRun run = Udp({"-c", "10", "-i", "5ms", "-W", "2s", Target(kForeign, *port)});
  ASSERT_EQ(run.summaries.size(), 1u) << run.err;
  EXPECT_EQ(run.summaries[0].received(), 10u);
  EXPECT_EQ(run.summaries[0].reordered(), 5u);
  for (const v1::UdpEchoReply& r : run.replies) {
    EXPECT_EQ(r.out_of_order(), r.sequence() % 2 == 1) << r.DebugString();
  }
}

TEST_F(UdpEchoLabTest, CorruptedPayloadIsMarked) {
  auto port = StartForeign(MisbehavingServer("corrupt"));
  ASSERT_THAT(port, IsOk());
  EchoRun run = Udp({"-c", "5", "-i", "5ms", Target(kForeign, *port)});
  ASSERT_EQ(run.summaries.size(), 1u) << run.err;
  EXPECT_EQ(run.summaries[0].received(), 5u);
  EXPECT_EQ(run.summaries[0].corrupted(), 5u);
  for (const v1::UdpEchoReply& r : run.replies) EXPECT_TRUE(r.corrupted());
}

TEST_F(UdpEchoLabTest, ResponderAnswersPlainEchoClientsButNotPrivilegedPorts) {
  // An RFC 862 client knows nothing of our header: any bytes come back.
  const std::string script =
      absl::StrCat("responder = ('", lab_->host(kResponder).ipv4, "', ", port_, ")\n",
                   R"py(
import socket
def ask(source_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", source_port))
    s.settimeout(0.5)
    s.sendto(b"hello, echo", responder)
    try:
        return s.recvfrom(100)[0]
    except socket.timeout:
        return b"(none)"
print(ask(0).decode(), "|", ask(1000).decode())
)py");
  auto result = lab_->Exec(kForeign, {"/usr/bin/python3", "-c", script});
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->out, HasSubstr("hello, echo | (none)")) << result->err;
  auto info = ResponderInfo();
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->received(), 2u);
  EXPECT_EQ(info->echoed(), 1u);
  EXPECT_EQ(info->ignored_privileged_source(), 1u);
}

TEST_F(UdpEchoLabTest, BadInputIsRejectedWithTheFieldNamed) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"198.18.0.11"}, "target"},
      {{"198.18.0.11:70000"}, "target"},
      {{"-s", "10", "198.18.0.11:7"}, "size"},
      {{"-i", "100us", "198.18.0.11:7"}, "interval"},
      {{"-W", "2m", "198.18.0.11:7"}, "timeout"},
      {{"-t", "0", "198.18.0.11:7"}, "ttl"},
      {{"-I", "nosuch0", "198.18.0.11:7"}, "interface"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"udp"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = agent_->Client(args);
    ASSERT_THAT(result, IsOk());
    EXPECT_THAT(result->exit_code, ::testing::AnyOf(2, 4)) << c.message;
    EXPECT_THAT(result->err, HasSubstr(c.message)) << result->err;
  }
}

}  // namespace
}  // namespace netprobe::testing
