// The policy end to end: the real agent in lab host 0 with a config file,
// probing lab hosts 1 and 2 through the real client. Denied targets are
// refused in every notation before a packet leaves (tcpdump in the target's
// namespace sees none), probes off by default stay off, limits name their
// rule, a flood is held to the configured rate on the wire, and SIGHUP
// reloads the policy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

class PolicyLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kAllowed = 1, kDenied = 2;

  void SetUp() override {
    auto lab = Lab::Create(3);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    config_ = absl::StrCat(lab_->dir(), "/agent.textproto");
  }

  void TearDown() override {
    if (!hosts_dir_.empty()) std::filesystem::remove_all(hosts_dir_);
  }

  void WriteConfig(const std::string& text) { std::ofstream(config_) << text; }

  void StartAgent(const std::string& policy) {
    WriteConfig(policy);
    auto agent = LabAgent::Start(*lab_, kAgent, {"--config", config_});
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
  }

  // Starts tcpdump in `host` writing the ICMP echo requests from the agent to
  // a file (a file, not a pipe: a pipe nobody reads would hold tcpdump up
  // and cost packets).
  struct Capture {
    Process tcpdump;
    std::string file;
  };
  Capture CaptureEchoRequests(int host) {
    const std::string file =
        absl::StrCat(lab_->dir(), "/echo-", host, "-", ++captures_, ".pcap");
    auto tcpdump =
        lab_->Spawn(host, {kTcpdump, "-n", "-i", "eth0", "--immediate-mode", "-w", file,
                           absl::StrCat("icmp[icmptype] == icmp-echo and src host ",
                                        lab_->host(kAgent).ipv4)});
    EXPECT_THAT(tcpdump, IsOk());
    EXPECT_THAT(tcpdump->WaitForStderr("listening on", absl::Seconds(10)), IsOk());
    return Capture{*std::move(tcpdump), file};
  }

  // Stops the capture and returns the times of its packets.
  std::vector<double> Stop(Capture& capture) {
    capture.tcpdump.Signal(SIGINT);
    EXPECT_THAT(capture.tcpdump.Wait(absl::Seconds(10)), IsOk());
    auto read = RunCommand({kTcpdump, "-n", "-tt", "-r", capture.file});
    EXPECT_THAT(read, IsOk());
    std::vector<double> times;
    if (!read.ok()) return times;
    for (absl::string_view line : absl::StrSplit(read->out, '\n', absl::SkipEmpty())) {
      double t = 0;
      if (absl::SimpleAtod(line.substr(0, line.find(' ')), &t)) times.push_back(t);
    }
    return times;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::string config_;
  std::string hosts_dir_;
  int captures_ = 0;
};

TEST_F(PolicyLabTest, DeniedTargetsAreRefusedInEveryNotationBeforeAnyPacket) {
  const std::string& denied = lab_->host(kDenied).ipv4;  // 198.18.0.12
  // A name that resolves into the denied range: `ip netns exec` mounts
  // /etc/netns/NAME/hosts over /etc/hosts for the agent's resolver.
  hosts_dir_ = absl::StrCat("/etc/netns/", lab_->host(kAgent).netns);
  std::filesystem::create_directories(hosts_dir_);
  std::ofstream(absl::StrCat(hosts_dir_, "/hosts")) << "127.0.0.1 localhost\n"
                                                    << denied << " denied.lab\n";
  StartAgent(absl::StrCat("policy { deny: \"", denied, "/32\" }"));
  Capture tcpdump = CaptureEchoRequests(kDenied);
  const std::vector<std::string> notations = {
      denied,                           // the literal
      absl::StrCat("::ffff:", denied),  // IPv4-mapped IPv6
      "198.18.12",                      // inet_aton's short form
      "0xc6.0x12.0.12",                 // hex parts
      "3323068428",                     // one 32-bit number
      "denied.lab",                     // a name
  };
  for (const std::string& target : notations) {
    auto result = agent_->Client({"ping", "-c", "1", "-W", "1s", target});
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, 4) << target << ": " << result->out << result->err;
    EXPECT_THAT(result->err,
                HasSubstr(absl::StrCat("is denied by policy.deny ", denied, "/32")))
        << target;
  }
  // The same capture sees an allowed probe's packets: it would have seen any.
  Capture control = CaptureEchoRequests(kAllowed);
  auto allowed =
      agent_->Client({"ping", "-c", "2", "-i", "10ms", lab_->host(kAllowed).ipv4});
  ASSERT_THAT(allowed, IsOk());
  EXPECT_EQ(allowed->exit_code, 0) << allowed->err;
  EXPECT_EQ(Stop(control).size(), 2u);
  EXPECT_TRUE(Stop(tcpdump).empty()) << "a packet reached the denied host";
}

TEST_F(PolicyLabTest, CaptureBroadcastAndThroughputAreOffUnlessEnabled) {
  StartAgent("");
  auto capture = agent_->Client({"capture", "-c", "1", "-i", "eth0"});
  ASSERT_THAT(capture, IsOk());
  EXPECT_EQ(capture->exit_code, 4);
  EXPECT_THAT(capture->err, HasSubstr("policy: the Capture probe is not enabled"));
  auto broadcast = agent_->Client({"broadcast", "-I", "eth0", "--port", "9"});
  ASSERT_THAT(broadcast, IsOk());
  EXPECT_EQ(broadcast->exit_code, 4);
  EXPECT_THAT(broadcast->err, HasSubstr("policy: the Broadcast probe is not enabled"));
  // A link load: nothing is sent (the target is a lab host with no server).
  auto throughput = agent_->Client({"throughput", "-t", "1", lab_->host(kAllowed).ipv4});
  ASSERT_THAT(throughput, IsOk());
  EXPECT_EQ(throughput->exit_code, 4);
  EXPECT_THAT(throughput->err, HasSubstr("policy: the Throughput probe is not enabled"));
  auto info = agent_->Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_THAT(
      info->out,
      HasSubstr("probes     Ping TcpConnect UdpEcho Multicast Sockets Traceroute\n"
                "off        Broadcast Capture Throughput (the agent's policy)\n"));
}

TEST_F(PolicyLabTest, RequestLimitsNameTheRule) {
  StartAgent(R"(policy { limits { targets_per_request: 1 max_duration { seconds: 5 }
                                  concurrent_probes_per_client: 1 } })");
  const std::string& a = lab_->host(kAllowed).ipv4;
  auto two = agent_->Client({"ping", "-c", "1", a, lab_->host(kDenied).ipv4});
  ASSERT_THAT(two, IsOk());
  EXPECT_EQ(two->exit_code, 4);
  EXPECT_THAT(two->err, HasSubstr("policy.limits.targets_per_request: 2 targets exceed"));
  auto forever = agent_->Client({"ping", a});
  ASSERT_THAT(forever, IsOk());
  EXPECT_EQ(forever->exit_code, 4);
  EXPECT_THAT(forever->err, HasSubstr("policy.limits.max_duration"));

  // One probe at a time: a second is refused while the first runs, and
  // admitted once it is gone.
  auto first = Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "ping",
                               "-c", "5", "-i", "1s", a});
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(first->WaitForStdout("bytes from", absl::Seconds(10)), IsOk());
  auto second = agent_->Client({"ping", "-c", "1", a});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->exit_code, 4);
  EXPECT_THAT(second->err, HasSubstr("policy.limits.concurrent_probes_per_client"));
  first->Signal(SIGINT);
  ASSERT_THAT(first->Wait(absl::Seconds(10)), IsOk());
  // The cancel reaches the agent after the client exits: a bounded retry.
  int code = -1;
  for (int i = 0; i < 50 && code != 0; ++i) {
    auto again = agent_->Client({"ping", "-c", "1", a});
    ASSERT_THAT(again, IsOk());
    code = again->exit_code;
    if (code != 0) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(code, 0);
}

TEST_F(PolicyLabTest, AFloodIsHeldToTheConfiguredRateOnTheWire) {
  constexpr int kRate = 500;
  StartAgent(
      absl::StrCat("policy { limits { packets_per_second_per_client: ", kRate, " } }"));
  Capture tcpdump = CaptureEchoRequests(kAllowed);
  // Two requests of one caller, each asking for 1,000 per second: together
  // they get the caller's 500.
  std::vector<Process> floods;
  for (int i = 0; i < 2; ++i) {
    auto flood =
        Process::Start({NETPROBE_CLIENT_BIN, "--agent", agent_->address(), "ping", "-c",
                        "600", "-i", "1ms", lab_->host(kAllowed).ipv4});
    ASSERT_THAT(flood, IsOk());
    floods.push_back(*std::move(flood));
  }
  for (Process& flood : floods) {
    auto code = flood.Wait(absl::Seconds(30));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 0) << flood.err();
  }
  const std::vector<double> times = Stop(tcpdump);
  ASSERT_EQ(times.size(), 1200u);
  const double rate = (times.size() - 1) / (times.back() - times.front());
  EXPECT_NEAR(rate, kRate, kRate * 0.05) << "packets/s on the wire";
  // No 100 ms window holds more than its share plus the budget's burst
  // (1 ms) and its catch-up allowance (20 ms of credit a late wake-up keeps:
  // RateLimiter::kCatchUp), plus one.
  size_t most = 0;
  for (size_t i = 0, j = 0; i < times.size(); ++i) {
    while (times[i] - times[j] >= 0.1) ++j;
    most = std::max(most, i - j + 1);
  }
  EXPECT_LE(most, static_cast<size_t>(kRate / 10 + kRate * 21 / 1000 + 1));
}

TEST_F(PolicyLabTest, SighupReloadsThePolicyAndEveryRpcIsAudited) {
  const std::string& target = lab_->host(kAllowed).ipv4;
  StartAgent(absl::StrCat("policy { deny: \"", target, "/32\" }"));
  auto before = agent_->Client({"ping", "-c", "1", target});
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->exit_code, 4);
  WriteConfig("policy { deny_nothing: true }");
  agent_->process().Signal(SIGHUP);
  ASSERT_THAT(
      agent_->process().WaitForStderr("configuration reloaded", absl::Seconds(10)),
      IsOk());
  auto after = agent_->Client({"ping", "-c", "1", target});
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->exit_code, 0) << after->err;
  // A config that does not load leaves the policy as it was.
  WriteConfig("policy { enabled_probes: \"Tcpdump\" }");
  agent_->process().Signal(SIGHUP);
  ASSERT_THAT(agent_->process().WaitForStderr("not reloaded", absl::Seconds(10)), IsOk());
  auto still = agent_->Client({"ping", "-c", "1", target});
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->exit_code, 0) << still->err;
  // The audit lines: who, what, which targets, the outcome.
  const std::string& log = agent_->process().err();
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "identity=unix:uid=0(root) method=/netprobe.v1.Probes/Ping "
                       "request={targets: \"",
                       target, "\" count: 1")));
  EXPECT_THAT(log, HasSubstr("code=PERMISSION_DENIED"));
  EXPECT_THAT(log, HasSubstr("is denied by policy.deny"));
}

}  // namespace
}  // namespace netprobe::testing
