// Faults of the path and of the target host (issue 11), for ping, TCP connect
// and UDP echo: the real agent in lab host 0 probes lab host 1 through the
// real client (`--json`) while the lab breaks: a blackhole, unreachable or
// prohibit route in the agent's host; nftables dropping all to the target on
// the way out; the target's link set down mid-run; the target's namespace
// deleted mid-run. Every run must report what the kernel
// said (or a timeout) per attempt and end with its summary, in bounded time,
// and the agent must serve on. Random loss, reject and drop by nftables are in
// ping_lab_test, tcp_connect_lab_test and udp_echo_lab_test.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/net/monotonic_clock.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "netprobe/v1/udp.pb.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

enum class Kind { kPing, kTcp, kUdp };

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kPing:
      return "ping";
    case Kind::kTcp:
      return "tcp";
    case Kind::kUdp:
      return "udp";
  }
  return "?";
}

struct Attempt {
  uint32_t sequence = 0;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  std::string error;  // the errno name, when the kernel gave one
};

struct ClientRun {
  int exit_code = -1;
  std::string out, err;
  std::vector<Attempt> attempts;
  std::vector<v1::TargetSummary> summaries;
  absl::Duration elapsed;

  int Count(v1::Outcome outcome) const {
    int n = 0;
    for (const Attempt& a : attempts) n += a.outcome == outcome;
    return n;
  }
  std::string Describe() const {
    std::vector<std::string> parts;
    for (const Attempt& a : attempts) {
      parts.push_back(absl::StrCat(a.sequence, ":", v1::Outcome_Name(a.outcome),
                                   a.error.empty() ? "" : "/", a.error));
    }
    return absl::StrCat("exit ", exit_code, " after ", absl::FormatDuration(elapsed),
                        "; attempts ", absl::StrJoin(parts, " "), "; stderr: ", err);
  }
};

template <typename Event>
void ParseInto(ClientRun* run) {
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    Event event;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    if (event.has_summary()) run->summaries.push_back(event.summary());
    const v1::AttemptResult* result = nullptr;
    uint32_t sequence = 0;
    if constexpr (std::is_same_v<Event, v1::TcpConnectEvent>) {
      if (event.has_attempt()) {
        result = &event.attempt().result();
        sequence = event.attempt().sequence();
      }
    } else {
      if (event.has_reply()) {
        result = &event.reply().result();
        sequence = event.reply().sequence();
      }
    }
    if (result != nullptr) {
      run->attempts.push_back({sequence, result->outcome(), result->error()});
    }
  }
}

class FaultLabTest : public ::testing::TestWithParam<Kind> {
 protected:
  static constexpr int kAgent = 0, kTarget = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    auto agent = LabAgent::Start(*lab_, kAgent);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    // What answers in the target host.
    if (GetParam() == Kind::kTcp) {
      auto listener = ListenTcpInNetns(lab_->host(kTarget).netns);
      ASSERT_THAT(listener, IsOk());
      listener_ = std::make_unique<NetnsListener>(*std::move(listener));
      port_ = listener_->port;
    } else if (GetParam() == Kind::kUdp) {
      auto responder = LabAgent::Start(*lab_, kTarget, {"--udp-echo", "0"});
      ASSERT_THAT(responder, IsOk());
      responder_ = std::make_unique<LabAgent>(*std::move(responder));
      auto info = responder_->Client({"--json", "info"});
      ASSERT_THAT(info, IsOk());
      v1::AgentInfo parsed;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(info->out, &parsed).ok())
          << info->out;
      ASSERT_EQ(parsed.udp_echo_responders_size(), 1);
      port_ = parsed.udp_echo_responders(0).port();
    }
  }

  // The client's argv for COUNT attempts every INTERVAL at the target.
  std::vector<std::string> ClientArgv(const std::string& count,
                                      const std::string& interval) const {
    const std::string& ip = lab_->host(kTarget).ipv4;
    return {NETPROBE_CLIENT_BIN,
            "--agent",
            agent_->address(),
            "--json",
            KindName(GetParam()),
            "-c",
            count,
            "-i",
            interval,
            "-W",
            "300ms",
            GetParam() == Kind::kPing ? ip : absl::StrCat(ip, ":", port_)};
  }

  // Waits for the client and parses its output.
  ClientRun Finish(Process& client, absl::Duration started) {
    ClientRun run;
    auto code = client.Wait(absl::Seconds(30));
    run.elapsed = MonotonicNow() - started;
    EXPECT_THAT(code, IsOk()) << "the client did not finish";
    if (!code.ok()) return run;
    run.exit_code = *code;
    run.out = client.out();
    run.err = client.err();
    switch (GetParam()) {
      case Kind::kPing:
        ParseInto<v1::PingEvent>(&run);
        break;
      case Kind::kTcp:
        ParseInto<v1::TcpConnectEvent>(&run);
        break;
      case Kind::kUdp:
        ParseInto<v1::UdpEchoEvent>(&run);
        break;
    }
    return run;
  }

  // Runs the client to completion.
  ClientRun Run(const std::string& count, const std::string& interval) {
    const absl::Duration started = MonotonicNow();
    auto client = Process::Start(ClientArgv(count, interval));
    EXPECT_THAT(client, IsOk());
    if (!client.ok()) return {};
    return Finish(*client, started);
  }

  // A long run (20 attempts, 100 ms apart) broken by `fault` once the client
  // printed its 5th answer: the summary counts all 20 sent, the first five
  // answered, and every attempt after the fault failed. Returns the run.
  ClientRun RunBrokenMidway(const std::function<void()>& fault) {
    const absl::Duration started = MonotonicNow();
    auto client = Process::Start(ClientArgv("20", "100ms"));
    EXPECT_THAT(client, IsOk());
    if (!client.ok()) return {};
    // Output, not time, says when: the 5th attempt's line is out.
    EXPECT_THAT(client->WaitForStdout("\"sequence\":5,", absl::Seconds(15)), IsOk())
        << client->out() << client->err();
    const absl::Duration fault_at = MonotonicNow();
    fault();
    const absl::Duration fault_took = MonotonicNow() - fault_at;
    ClientRun run = Finish(*client, started);
    EXPECT_EQ(run.attempts.size(), 20u) << run.Describe();
    EXPECT_GE(run.Count(v1::OUTCOME_OK), 5) << run.Describe();
    // Attempts started a full timeout after the fault had taken effect
    // cannot have been answered.
    const int sure =
        static_cast<int>((absl::ToDoubleMilliseconds(fault_took) + 400) / 100);
    for (const Attempt& a : run.attempts) {
      if (a.sequence > static_cast<uint32_t>(5 + 1 + sure)) {
        EXPECT_NE(a.outcome, v1::OUTCOME_OK)
            << "seq " << a.sequence << ": " << run.Describe();
        EXPECT_TRUE(a.outcome == v1::OUTCOME_TIMEOUT ||
                    a.outcome == v1::OUTCOME_HOST_UNREACHABLE)
            << "seq " << a.sequence << ": " << run.Describe();
      }
    }
    EXPECT_LT(run.Count(v1::OUTCOME_OK), 20) << run.Describe();
    if (run.summaries.size() == 1) {
      const v1::TargetSummary& s = run.summaries[0];
      EXPECT_EQ(s.sent(), 20u);
      EXPECT_EQ(s.received(), static_cast<uint64_t>(run.Count(v1::OUTCOME_OK)));
      EXPECT_LT(s.received(), s.sent());
      uint64_t counted = 0;
      for (const auto& [outcome, n] : s.outcomes()) counted += n;
      EXPECT_EQ(counted, 20u) << s.DebugString();
    } else {
      ADD_FAILURE() << "one summary expected: " << run.Describe();
    }
    // Some answered: the CLI's "a target never answered" (1) does not apply.
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
    // 20 x 100 ms plus the last timeout, with room for a loaded machine.
    EXPECT_LT(run.elapsed, absl::Seconds(10)) << run.Describe();
    RecordProperty(absl::StrCat(KindName(GetParam()), "_answered_of_20"),
                   run.Count(v1::OUTCOME_OK));
    return run;
  }

  // The agent still serves: its info, and a short run at its own host.
  void ExpectAgentServes() {
    auto info = agent_->Client({"info"});
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(info->exit_code, 0) << info->err;
    auto ping =
        agent_->Client({"ping", "-c", "2", "-i", "10ms", lab_->host(kAgent).ipv4});
    ASSERT_THAT(ping, IsOk());
    EXPECT_EQ(ping->exit_code, 0) << ping->out << ping->err;
    EXPECT_EQ(agent_->process().Wait(absl::ZeroDuration()).status().code(),
              absl::StatusCode::kDeadlineExceeded)
        << "the agent exited: " << agent_->process().err();
  }

  absl::Status InHost(int host, const std::vector<std::string>& argv) {
    auto result = lab_->Exec(host, argv);
    if (!result.ok()) return result.status();
    if (result->exit_code != 0) {
      return absl::InternalError(
          absl::StrCat(absl::StrJoin(argv, " "), ": ", result->err));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_, responder_;
  std::unique_ptr<NetnsListener> listener_;
  uint32_t port_ = 0;
};

// Routes that refuse in the agent's own host: the kernel answers the send
// (or connect) at once with an error, named in every attempt; a blackhole
// reports EINVAL, unreachable EHOSTUNREACH, prohibit EACCES. Nothing is ever
// received, so the CLI exits 1.
TEST_P(FaultLabTest, RefusingRoutesInTheAgentsHostAreReportedPerAttempt) {
  const std::string target = absl::StrCat(lab_->host(kTarget).ipv4, "/32");
  struct Case {
    std::string type;
    v1::Outcome outcome;
    std::string error;
  } cases[] = {
      {"blackhole", v1::OUTCOME_ERROR, "EINVAL"},
      {"unreachable", v1::OUTCOME_HOST_UNREACHABLE, "EHOSTUNREACH"},
      {"prohibit", v1::OUTCOME_PROHIBITED, "EACCES"},
  };
  for (const Case& c : cases) {
    ASSERT_THAT(InHost(kAgent, {"ip", "route", "replace", c.type, target}), IsOk());
    ClientRun run = Run("3", "50ms");
    SCOPED_TRACE(c.type);
    EXPECT_EQ(run.exit_code, 1) << run.Describe();
    ASSERT_EQ(run.attempts.size(), 3u) << run.Describe();
    for (const Attempt& a : run.attempts) {
      EXPECT_EQ(a.outcome, c.outcome) << run.Describe();
      EXPECT_EQ(a.error, c.error) << "the kernel's errno, named: " << run.Describe();
    }
    ASSERT_EQ(run.summaries.size(), 1u) << run.Describe();
    EXPECT_EQ(run.summaries[0].sent(), 3u);
    EXPECT_EQ(run.summaries[0].received(), 0u);
    // Refused at once: no attempt waits for its timeout.
    EXPECT_LT(run.elapsed, absl::Seconds(5)) << run.Describe();
    RecordProperty(absl::StrCat(KindName(GetParam()), "_", c.type),
                   run.attempts[0].error);
  }
  // The route removed, the target answers again.
  ASSERT_THAT(InHost(kAgent, {"ip", "route", "del", target}), IsOk());
  ClientRun healed = Run("2", "20ms");
  EXPECT_EQ(healed.exit_code, 0) << healed.Describe();
  EXPECT_EQ(healed.Count(v1::OUTCOME_OK), 2) << healed.Describe();
}

// nftables dropping everything to the target in the agent's host's output:
// silence, so every attempt times out; the run still ends with its summary.
TEST_P(FaultLabTest, EverythingDroppedOnTheWayOutTimesOutAndEnds) {
  ASSERT_THAT(lab_->Nft(kAgent, absl::StrCat("table inet lab {\n chain output {\n"
                                             "  type filter hook output priority 0;"
                                             " policy accept;\n  ip daddr ",
                                             lab_->host(kTarget).ipv4, " drop\n }\n}\n")),
              IsOk());
  ClientRun run = Run("3", "50ms");
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  ASSERT_EQ(run.attempts.size(), 3u) << run.Describe();
  for (const Attempt& a : run.attempts) {
    // A datagram dropped by the output hook fails its send() with EPERM at
    // once; TCP's SYN is dropped silently and retried until the timeout.
    if (GetParam() == Kind::kTcp) {
      EXPECT_EQ(a.outcome, v1::OUTCOME_TIMEOUT) << run.Describe();
    } else {
      EXPECT_EQ(a.outcome, v1::OUTCOME_PROHIBITED) << run.Describe();
      EXPECT_EQ(a.error, "EPERM") << run.Describe();
    }
  }
  ASSERT_EQ(run.summaries.size(), 1u) << run.Describe();
  EXPECT_EQ(run.summaries[0].sent(), 3u);
  EXPECT_EQ(run.summaries[0].received(), 0u);
  EXPECT_LT(run.elapsed, absl::Seconds(5)) << run.Describe();
  RecordProperty(absl::StrCat(KindName(GetParam()), "_output_drop"), run.Describe());
}

TEST_P(FaultLabTest, TargetLinkDownMidRunTimesOutTheRestAndEnds) {
  RunBrokenMidway([&] {
    ASSERT_THAT(InHost(kTarget, {"ip", "link", "set", "eth0", "down"}), IsOk());
  });
  ExpectAgentServes();
}

TEST_P(FaultLabTest, TargetNamespaceDeletedMidRunTimesOutTheRestAndEnds) {
  const std::string netns = lab_->host(kTarget).netns;
  RunBrokenMidway([&] {
    // What keeps the namespace alive goes first: the responder agent, the
    // listening socket. Then the namespace, and with it its veth pair.
    if (responder_ != nullptr) {
      responder_->process().Signal(SIGKILL);
      EXPECT_THAT(responder_->process().Wait(absl::Seconds(5)), IsOk());
    }
    listener_.reset();
    EXPECT_THAT(Ip({"netns", "del", netns}), IsOk());
  });
  // Gone indeed: no such namespace, and the bridge's port to it went with it.
  auto list = RunCommand({"ip", "netns", "list"});
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(list->out, ::testing::Not(HasSubstr(netns)));
  // (The kernel tears a namespace down in the background: bounded polling.)
  std::string links;
  for (int i = 0; i < 50; ++i) {
    auto shown = RunCommand({"ip", "-n", lab_->switch_netns(), "-o", "link", "show"});
    ASSERT_THAT(shown, IsOk());
    links = shown->out;
    if (!absl::StrContains(links, "p1@")) break;
    poll(nullptr, 0, 100);
  }
  EXPECT_THAT(links, ::testing::Not(HasSubstr("p1@")));
  ExpectAgentServes();
  // ~Lab deletes the other namespaces; the missing one is no error.
}

INSTANTIATE_TEST_SUITE_P(Probes, FaultLabTest,
                         ::testing::Values(Kind::kPing, Kind::kTcp, Kind::kUdp),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return KindName(info.param);
                         });

}  // namespace
}  // namespace netprobe::testing
