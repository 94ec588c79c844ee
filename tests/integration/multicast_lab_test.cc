// Multicast end to end: the real agent in host 0 of a three-host lab joins
// groups (any-source and source-specific, IPv4 and IPv6) through the real
// client, while python senders in the other hosts send to them; and sends to a
// group that a python receiver in another host has joined.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "netprobe/v1/udp.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// argv: family(4|6) group port local_ipv4 count interval_s tag. Sends
// "TAG N" to the group out of eth0 with TTL / hop limit 1, at most `count`
// datagrams: the test kills it once the receivers have what they need.
constexpr char kSender[] = R"(
import socket, sys, time
fam, group, port, ifaddr, count, interval, tag = sys.argv[1:]
if fam == '4':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    dest = (group, int(port))
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex('eth0'))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    dest = (group, int(port), 0, 0)
for i in range(int(count)):
    s.sendto(('%s %d' % (tag, i)).encode(), dest)
    time.sleep(float(interval))
)";

// argv: group port local_ipv4. Joins the group on eth0, prints "ready", then
// "got SOURCE PAYLOAD" for the first datagram (or nothing within 20 s).
constexpr char kReceiver[] = R"(
import socket, struct, sys
group, port, ifaddr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack('4s4s', socket.inet_aton(group), socket.inet_aton(ifaddr)))
print('ready', flush=True)
s.settimeout(20)
data, source = s.recvfrom(2048)
print('got', source[0], data.decode(), flush=True)
)";

struct McastRun {
  int exit_code = -1;
  std::string err;
  std::vector<v1::MulticastJoined> joined;
  std::vector<v1::MulticastDatagram> datagrams;
  std::vector<v1::MulticastSummary> summaries;
  uint64_t dropped = 0;
  uint64_t sent = 0;  // AttemptSent events of --send
};

McastRun Parse(int exit_code, const std::string& out, const std::string& err) {
  McastRun run;
  run.exit_code = exit_code;
  run.err = err;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    v1::MulticastEvent event;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    if (event.has_joined()) run.joined.push_back(event.joined());
    if (event.has_datagram()) run.datagrams.push_back(event.datagram());
    if (event.has_summary()) run.summaries.push_back(event.summary());
    if (event.has_dropped()) run.dropped += event.dropped().count();
    if (event.has_sent()) {
      ++run.sent;
      EXPECT_EQ(event.sent().sequence(), run.sent);
    }
  }
  return run;
}

class MulticastLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0;

  void SetUp() override {
    auto lab = Lab::Create(3);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kAgent);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    // A UDP port free in the agent's host, chosen by the kernel.
    auto port = lab_->Exec(
        kAgent, {kPython, "-c",
                 "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                 "s.bind(('', 0)); print(s.getsockname()[1])"});
    ASSERT_THAT(port, IsOk());
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(port->out), &port_))
        << port->out << port->err;
  }

  // "239.1.2.3:PORT" or "[ff15::1]:PORT".
  std::string At(const std::string& group) const {
    return absl::StrContains(group, ':') ? absl::StrCat("[", group, "]:", port_)
                                         : absl::StrCat(group, ":", port_);
  }

  // Starts a sender in `host`: up to 1000 datagrams, 10 ms apart (10 s).
  Process StartSender(int host, const std::string& group, const std::string& tag) {
    const bool v6 = absl::StrContains(group, ':');
    auto sender = lab_->Spawn(
        host, {kPython, "-c", kSender, v6 ? "6" : "4", group, absl::StrCat(port_),
               lab_->host(host).ipv4, "1000", "0.01", tag});
    EXPECT_THAT(sender, IsOk());
    return *std::move(sender);
  }

  McastRun Mcast(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "mcast"});
    auto result = agent_->Client(args, absl::Seconds(30));
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return McastRun();
    return Parse(result->exit_code, result->out, result->err);
  }

  // The client in the background, for concurrent joins and cancels.
  Process StartClient(std::vector<std::string> args) {
    std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent", agent_->address(),
                                     "--json", "mcast"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto client = Process::Start(argv);
    EXPECT_THAT(client, IsOk());
    return *std::move(client);
  }

  McastRun Finish(Process& client) {
    auto code = client.Wait(absl::Seconds(30));
    EXPECT_THAT(code, IsOk());
    return Parse(code.ok() ? *code : -1, client.out(), client.err());
  }

  // Whether host 0's eth0 is a member of `group` (`ip maddr`).
  bool Member(const std::string& group) {
    auto maddr = lab_->Exec(kAgent, {"ip", "maddr", "show", "dev", "eth0"});
    EXPECT_THAT(maddr, IsOk());
    return maddr.ok() && absl::StrContains(maddr->out, absl::StrCat(" ", group, "\n"));
  }

  // Every datagram came from `host` to `group`, tagged by its sender.
  void ExpectAllFrom(const McastRun& run, int host, const std::string& group,
                     const std::string& tag) {
    const bool v6 = absl::StrContains(group, ':');
    const std::string source = v6 ? lab_->host(host).ipv6 : lab_->host(host).ipv4;
    for (const v1::MulticastDatagram& d : run.datagrams) {
      EXPECT_EQ(d.source().address(), source);
      EXPECT_EQ(d.source().family(),
                v6 ? v1::ADDRESS_FAMILY_IPV6 : v1::ADDRESS_FAMILY_IPV4);
      EXPECT_NE(d.source().port(), 0u);
      EXPECT_EQ(d.group(), group);
      EXPECT_EQ(d.ttl(), 1u);
      EXPECT_TRUE(absl::StartsWith(d.payload(), tag + " ")) << d.payload();
      EXPECT_EQ(d.bytes(), d.payload().size());
      EXPECT_GT(d.time().seconds(), 0);
    }
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  int port_ = 0;
};

TEST_F(MulticastLabTest, AnySourceIpv4ReceivesAForeignSendersDatagrams) {
  const std::string group = "239.77.0.1";
  Process sender = StartSender(1, group, "h1");
  McastRun run = Mcast({"-I", "eth0", "-c", "5", At(group)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.joined.size(), 1u) << run.err;
  EXPECT_EQ(run.joined[0].group(), group);
  EXPECT_EQ(run.joined[0].port(), static_cast<uint32_t>(port_));
  EXPECT_EQ(run.joined[0].interface(), "eth0");
  ASSERT_EQ(run.datagrams.size(), 5u);
  ExpectAllFrom(run, 1, group, "h1");
  ASSERT_EQ(run.summaries.size(), 1u);
  const v1::MulticastSummary& s = run.summaries[0];
  EXPECT_EQ(s.received(), 5u);
  EXPECT_EQ(s.distinct_sources(), 1u);
  EXPECT_EQ(s.kernel_drops(), 0u);
  ASSERT_TRUE(s.has_time_to_first());
  // The sender sends every 10 ms: the first datagram comes within one gap
  // (plus scheduling slack on a busy machine).
  EXPECT_GT(Ms(s.time_to_first()), 0.0);
  EXPECT_LT(Ms(s.time_to_first()), 1000.0);
  std::cout << "IPv4 ASM time to first datagram: " << Ms(s.time_to_first()) << " ms\n";
  // The stream kept up: no Dropped notices.
  EXPECT_EQ(run.dropped, 0u);
}

TEST_F(MulticastLabTest, SourceSpecificIpv4JoinReceivesOnlyTheChosenSource) {
  const std::string group = "232.77.0.1";
  Process one = StartSender(1, group, "h1");
  Process two = StartSender(2, group, "h2");
  // Control: an any-source join sees both senders.
  McastRun any = Mcast({"-I", "eth0", "-c", "40", At(group)});
  ASSERT_EQ(any.summaries.size(), 1u) << any.err;
  EXPECT_EQ(any.summaries[0].distinct_sources(), 2u);

  McastRun ssm =
      Mcast({"-I", "eth0", "--source", lab_->host(1).ipv4, "-c", "20", At(group)});
  EXPECT_EQ(ssm.exit_code, 0) << ssm.err;
  ASSERT_EQ(ssm.joined.size(), 1u);
  EXPECT_EQ(ssm.joined[0].source(), lab_->host(1).ipv4);
  ASSERT_EQ(ssm.datagrams.size(), 20u);
  ExpectAllFrom(ssm, 1, group, "h1");
  ASSERT_EQ(ssm.summaries.size(), 1u);
  EXPECT_EQ(ssm.summaries[0].distinct_sources(), 1u);
}

TEST_F(MulticastLabTest, Ipv6AnySourceAndSourceSpecific) {
  const std::string group = "ff15::77:1";
  Process sender = StartSender(1, group, "h1");
  McastRun run = Mcast({"-I", "eth0", "-c", "5", At(group)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.datagrams.size(), 5u) << run.err;
  ExpectAllFrom(run, 1, group, "h1");
  ASSERT_EQ(run.summaries.size(), 1u);
  ASSERT_TRUE(run.summaries[0].has_time_to_first());
  std::cout << "IPv6 ASM time to first datagram: " << Ms(run.summaries[0].time_to_first())
            << " ms\n";

  const std::string ssm_group = "ff35::8000:77";
  Process one = StartSender(1, ssm_group, "h1");
  Process two = StartSender(2, ssm_group, "h2");
  McastRun any = Mcast({"-I", "eth0", "-c", "40", At(ssm_group)});
  ASSERT_EQ(any.summaries.size(), 1u) << any.err;
  EXPECT_EQ(any.summaries[0].distinct_sources(), 2u);
  McastRun ssm =
      Mcast({"-I", "eth0", "--source", lab_->host(1).ipv6, "-c", "20", At(ssm_group)});
  EXPECT_EQ(ssm.exit_code, 0) << ssm.err;
  ASSERT_EQ(ssm.datagrams.size(), 20u) << ssm.err;
  ExpectAllFrom(ssm, 1, ssm_group, "h1");
}

TEST_F(MulticastLabTest, ConcurrentJoinsOfOneGroupEachGetEveryDatagram) {
  const std::string group = "239.77.0.4";
  Process first = StartClient({"-I", "eth0", "-c", "30", At(group)});
  Process second = StartClient({"-I", "eth0", "-c", "10", At(group)});
  ASSERT_THAT(first.WaitForStdout("\"joined\"", absl::Seconds(10)), IsOk());
  ASSERT_THAT(second.WaitForStdout("\"joined\"", absl::Seconds(10)), IsOk());
  Process sender = StartSender(1, group, "h1");
  McastRun a = Finish(first);
  McastRun b = Finish(second);
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;
  ASSERT_EQ(a.datagrams.size(), 30u);
  ASSERT_EQ(b.datagrams.size(), 10u);
  ExpectAllFrom(a, 1, group, "h1");
  ExpectAllFrom(b, 1, group, "h1");
  // Both joined before the sender started, so both got its first datagrams:
  // the same datagrams, each delivered to both.
  std::set<std::string> in_a;
  for (const auto& d : a.datagrams) in_a.insert(d.payload());
  for (const auto& d : b.datagrams) EXPECT_TRUE(in_a.count(d.payload())) << d.payload();
}

TEST_F(MulticastLabTest, TheGroupIsLeftWhenTheStreamEndsOrIsCancelled) {
  const std::string group = "239.77.0.5";
  ASSERT_FALSE(Member(group));
  {
    Process sender = StartSender(1, group, "h1");
    McastRun run = Mcast({"-I", "eth0", "-c", "3", At(group)});
    EXPECT_EQ(run.datagrams.size(), 3u) << run.err;
    // The probe leaves before its summary: no wait needed.
    EXPECT_FALSE(Member(group));
  }
  // Cancelled by Ctrl-C: listed while joined, gone once the agent has seen
  // the cancel.
  Process client = StartClient({"-I", "eth0", At(group)});
  ASSERT_THAT(client.WaitForStdout("\"joined\"", absl::Seconds(10)), IsOk());
  EXPECT_TRUE(Member(group));
  client.Signal(SIGINT);
  auto code = client.Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  bool left = false;
  for (int i = 0; i < 200 && !left; ++i) {
    left = !Member(group);
    if (!left) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(left) << "still a member 2 s after the cancel";
}

// Issue 18: `mcast --send` stopped by Ctrl-C said "sent":"0" (the agent's
// summary does not come after a cancel); now the client counts the sends
// the agent announced.
TEST_F(MulticastLabTest, CtrlCOnASendingRunCountsWhatWasSent) {
  const std::string group = "239.77.0.9";
  Process client = StartClient(
      {"-I", "eth0", "--send", "--loopback", "--send-interval", "20ms", At(group)});
  ASSERT_THAT(client.WaitForStdout("\"sequence\":3", absl::Seconds(10)), IsOk())
      << client.err();
  client.Signal(SIGINT);
  auto code = client.Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 130);
  McastRun run = Parse(*code, client.out(), client.err());
  ASSERT_EQ(run.summaries.size(), 1u) << client.out();
  EXPECT_GE(run.sent, 3u);
  EXPECT_EQ(run.summaries[0].sent(), run.sent) << client.out();
}

TEST_F(MulticastLabTest, SendReachesAnotherHostAndLoopsBackWhenAsked) {
  const std::string group = "239.77.0.6";
  auto receiver = lab_->Spawn(
      1, {kPython, "-c", kReceiver, group, absl::StrCat(port_), lab_->host(1).ipv4});
  ASSERT_THAT(receiver, IsOk());
  ASSERT_THAT(receiver->WaitForStdout("ready", absl::Seconds(10)), IsOk());
  McastRun run =
      Mcast({"-I", "eth0", "--send", "--loopback", "--ttl", "2", "--send-interval",
             "10ms", "--payload", "from agent", "-c", "5", At(group)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.datagrams.size(), 5u) << run.err;
  for (const auto& d : run.datagrams) {
    EXPECT_EQ(d.source().address(), lab_->host(kAgent).ipv4);
    EXPECT_EQ(d.group(), group);
    EXPECT_EQ(d.ttl(), 2u);  // looped back as sent
    EXPECT_EQ(d.payload(), "from agent");
  }
  ASSERT_EQ(run.summaries.size(), 1u);
  EXPECT_GE(run.summaries[0].sent(), 5u);
  EXPECT_EQ(run.summaries[0].send_errors(), 0u);
  ASSERT_THAT(receiver->Wait(absl::Seconds(25)), IsOk());
  EXPECT_THAT(receiver->out(),
              HasSubstr(absl::StrCat("got ", lab_->host(kAgent).ipv4, " from agent")));

  // Without --loopback the agent's host does not hear itself; a run that
  // sends succeeds when every datagram went out (issue 18: it exited 1).
  McastRun quiet = Mcast({"-I", "eth0", "--send", "--send-interval", "10ms", "--duration",
                          "200ms", At(group)});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(quiet.datagrams.empty());
  ASSERT_EQ(quiet.summaries.size(), 1u);
  EXPECT_GE(quiet.summaries[0].sent(), 5u);
  EXPECT_EQ(quiet.sent, quiet.summaries[0].sent()) << "one AttemptSent per datagram";
  EXPECT_EQ(quiet.summaries[0].received(), 0u);
  EXPECT_FALSE(quiet.summaries[0].has_time_to_first());
}

TEST_F(MulticastLabTest, TextOutputLooksLikeAReceiverTool) {
  const std::string group = "239.77.0.7";
  Process sender = StartSender(1, group, "h1");
  auto text = agent_->Client({"mcast", "-I", "eth0", "-c", "2", At(group)});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 0) << text->err;
  EXPECT_THAT(
      text->out,
      AllOf(HasSubstr(absl::StrCat("joined ", group, " port ", port_,
                                   " on eth0, any source, at ")),
            HasSubstr(absl::StrCat(lab_->host(1).ipv4, ":")),
            HasSubstr(absl::StrCat(" > ", group, ": ")), HasSubstr("ttl=1 time="),
            HasSubstr(absl::StrCat("--- ", At(group), " multicast statistics ---")),
            HasSubstr("2 datagrams received from 1 source, 0 sent, 0 dropped by "
                      "the kernel"),
            HasSubstr(" ms after the join")));
}

TEST_F(MulticastLabTest, BadInputIsRejectedNamingTheField) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::string big(70000, 'x');
  const std::string ok = At("239.77.0.8");
  const std::vector<Case> cases = {
      {{"198.18.0.11:5000"}, 2, "group: 198.18.0.11 is not a multicast address"},
      {{"mcast.example:5000"}, 2, "group: 'mcast.example' is not an IP address literal"},
      {{"239.1.1.1:0"}, 2, "port: 0 is out of range: it must be from 1 to 65535"},
      {{"239.1.1.1:70000"}, 2, "port: 70000 is out of range"},
      {{"239.1.1.1:x"}, 2, "GROUP:PORT: port 'x'"},
      {{"ff15::1:5000"}, 2, "brackets"},
      {{"-I", "nosuch0", ok}, 2, "interface: no interface 'nosuch0'"},
      {{"[ff02::1:3]:5000"},
       2,
       "interface: the group ff02::1:3 has interface- or "
       "link-local scope and needs an interface"},
      {{"-I", "eth0", "--source", "2001:2::b", ok},
       2,
       "source: 2001:2::b is not of the family"},
      {{"-I", "eth0", "--source", "239.2.2.2", ok},
       2,
       "source: 239.2.2.2 is not a unicast"},
      {{"-I", "eth0", "-c", "2000000", ok},
       2,
       "count: 2000000 is above the limit of 1000000"},
      {{"-I", "eth0", "--duration", "25h", ok}, 2, "duration: 25h is out of range"},
      {{"-I", "eth0", "--max-payload", "70000", ok},
       2,
       "max_payload: 70000 bytes is above the maximum of 65507"},
      {{"-I", "eth0", "--send", "--payload", big, ok},
       2,
       "send_payload: 70000 bytes is above the maximum of 65507"},
      {{"-I", "eth0", "--send", "--ttl", "300", ok},
       2,
       "'300' is not a whole number from 1 to 255"},
      // TTL 0 was taken as "the default" and sent TTL 1: refused instead.
      {{"-I", "eth0", "--send", "--ttl", "0", ok},
       2,
       "'0' is not a whole number from 1 to 255"},
      {{"-I", "eth0", "--send", "--send-interval", "100us", ok},
       2,
       "send_interval: 100us is out of range: it must be from 1ms"},
      {{"-I", "eth0", "--ttl", "2", ok}, 2, "send_ttl: applies only when send is set"},
      // No route for groups in this lab: the kernel cannot pick an interface.
      {{ok}, 2, "interface: no route to the group 239.77.0.8"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"mcast"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto result = agent_->Client(args, absl::Seconds(10));
    ASSERT_THAT(result, IsOk());
    const std::string shown = c.args.back().size() > 40 ? "..." : c.args.back();
    EXPECT_EQ(result->exit_code, c.exit_code) << shown << ": " << result->err;
    EXPECT_THAT(result->err, HasSubstr(c.message)) << shown;
    EXPECT_TRUE(result->out.empty()) << result->out;
  }
}

}  // namespace
}  // namespace netprobe::testing
