// Faults of the agent process itself (issue 11), with the real agent in a lab
// host and the real client: SIGKILL mid-stream (the client says the agent
// went away and exits 3; the stale unix socket is replaced by a restarted
// agent, which answers), SIGTERM mid-stream from the CLI (the run ends with
// its StreamEnd and summary). SIGHUP reloads are in policy_lab_test and
// metrics_lab_test; SIGTERM of capture and broadcast streams in their tests.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/net/monotonic_clock.h"
#include "netprobe/v1/ping.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

class ProcessFaultLabTest : public ::testing::Test {
 protected:
  static constexpr int kAgent = 0, kTarget = 1;

  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    path_ = absl::StrCat(lab_->dir(), "/agent.sock");
    address_ = absl::StrCat("unix:", path_);
  }

  // The agent on the fixed socket path (LabAgent picks a new path per start).
  absl::StatusOr<Process> StartAgent() {
    auto agent = lab_->Spawn(kAgent, {NETPROBE_AGENT_BIN, "--listen", address_});
    if (!agent.ok()) return agent.status();
    auto line = agent->WaitForStderr("listening on", absl::Seconds(15));
    if (!line.ok()) {
      return absl::InternalError(absl::StrCat("agent did not start: ", agent->err()));
    }
    return agent;
  }

  absl::StatusOr<RunResult> Client(std::vector<std::string> args) {
    args.insert(args.begin(), {NETPROBE_CLIENT_BIN, "--agent", address_});
    return RunCommand(args, absl::Seconds(30));
  }

  Process LongPing(bool json) {
    std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent", address_};
    if (json) argv.push_back("--json");
    for (const char* arg : {"ping", "-c", "100", "-i", "100ms"}) argv.push_back(arg);
    argv.push_back(lab_->host(kTarget).ipv4);
    auto client = Process::Start(argv);
    EXPECT_THAT(client, IsOk());
    return *std::move(client);
  }

  bool IsSocket() const {
    struct stat st;
    return stat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  }

  std::unique_ptr<Lab> lab_;
  std::string path_, address_;
};

TEST_F(ProcessFaultLabTest, AgentKilledMidStreamIsUnavailableAndARestartRebinds) {
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  Process client = LongPing(/*json=*/false);
  ASSERT_THAT(client.WaitForStdout("icmp_seq=3 ", absl::Seconds(10)), IsOk())
      << client.out() << client.err();
  const absl::Duration killed_at = MonotonicNow();
  agent->Signal(SIGKILL);
  auto agent_code = agent->Wait(absl::Seconds(5));
  ASSERT_THAT(agent_code, IsOk());
  EXPECT_EQ(*agent_code, -SIGKILL);

  // The client learns at once (the connection closes), says so, exits 3.
  auto code = client.Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk()) << "the client hangs on a dead agent";
  const absl::Duration noticed = MonotonicNow() - killed_at;
  EXPECT_EQ(*code, 3) << client.err();
  EXPECT_THAT(client.err(), HasSubstr(absl::StrCat("agent ", address_, " unreachable")));
  EXPECT_LT(noticed, absl::Seconds(3));
  RecordProperty("client_noticed_ms", absl::ToInt64Milliseconds(noticed));
  RecordProperty("client_stderr", client.err());
  RecordProperty("client_stdout", client.out());

  // SIGKILL leaves the socket file; nobody answers on it meanwhile.
  EXPECT_TRUE(IsSocket()) << "expected a stale socket file at " << path_;
  auto refused = Client({"--timeout", "2s", "info"});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 3) << refused->err;

  // A new agent on the same path replaces the stale file and serves.
  auto restarted = StartAgent();
  ASSERT_THAT(restarted, IsOk());
  EXPECT_TRUE(IsSocket());
  auto info = Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr(absl::StrCat(restarted->pid())));
  auto ping = Client({"ping", "-c", "3", "-i", "20ms", lab_->host(kTarget).ipv4});
  ASSERT_THAT(ping, IsOk());
  EXPECT_EQ(ping->exit_code, 0) << ping->err;
  EXPECT_THAT(ping->out, HasSubstr("3 packets transmitted, 3 received"));
}

// A second agent on a live agent's socket path refuses to start, rather than
// take the socket away silently; the first keeps answering, and still owns
// (and at exit removes) its socket file.
TEST_F(ProcessFaultLabTest, SecondAgentOnALiveSocketRefusesToStart) {
  auto first = StartAgent();
  ASSERT_THAT(first, IsOk());
  auto second =
      lab_->Exec(kAgent, {NETPROBE_AGENT_BIN, "--listen", address_}, absl::Seconds(15));
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(second->exit_code, 0);
  EXPECT_THAT(second->err, HasSubstr(absl::StrCat("unix socket ", path_,
                                                  ": another process (an agent?) is "
                                                  "listening there")));
  auto info = Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr(absl::StrCat("pid ", first->pid(), ",")));
  first->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(absl::Seconds(10)).value_or(-1), 0);
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0) << "the socket file stays after exit";
}

// The CLI's side of SIGTERM (agent_server_test holds the in-process one):
// the run ends at once with a StreamEnd naming the shutdown and the summary
// of what was sent (the request in flight counted as sent, like every one
// the agent announced), the client exits 3 (the agent went away: a script
// must not take the cut-short run for a whole one), the agent exits 0 and
// removes its socket.
TEST_F(ProcessFaultLabTest, AgentTerminatedMidStreamEndsTheRunWithItsSummary) {
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  Process client = LongPing(/*json=*/true);
  ASSERT_THAT(client.WaitForStdout("\"sequence\":3,", absl::Seconds(10)), IsOk())
      << client.out() << client.err();
  const absl::Duration stopped_at = MonotonicNow();
  agent->Signal(SIGTERM);
  auto code = client.Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  const absl::Duration ended = MonotonicNow() - stopped_at;
  EXPECT_EQ(*code, 3) << client.err();
  EXPECT_LT(ended, absl::Seconds(3));

  int replies = 0, ends = 0, sent = 0;
  std::vector<v1::TargetSummary> summaries;
  for (absl::string_view line : absl::StrSplit(client.out(), '\n', absl::SkipEmpty())) {
    v1::PingEvent event;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    replies += event.has_reply() && event.reply().result().outcome() == v1::OUTCOME_OK;
    sent += event.has_sent();
    if (event.has_end()) {
      ++ends;
      EXPECT_EQ(event.end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
      EXPECT_TRUE(summaries.empty()) << "StreamEnd comes before the summary";
    }
    if (event.has_summary()) summaries.push_back(event.summary());
  }
  EXPECT_EQ(ends, 1) << client.out();
  ASSERT_EQ(summaries.size(), 1u) << client.out();
  EXPECT_GE(summaries[0].sent(), 3u);
  EXPECT_LT(summaries[0].sent(), 100u);
  EXPECT_EQ(summaries[0].received(), static_cast<uint64_t>(replies));
  EXPECT_EQ(summaries[0].sent(), static_cast<uint64_t>(sent)) << client.out();
  EXPECT_GE(replies, 3);
  RecordProperty("sent_before_sigterm", static_cast<int>(summaries[0].sent()));

  auto agent_code = agent->Wait(absl::Seconds(10));
  ASSERT_THAT(agent_code, IsOk());
  EXPECT_EQ(*agent_code, 0) << agent->err();
  EXPECT_FALSE(IsSocket()) << "socket file left behind";
}

}  // namespace
}  // namespace netprobe::testing
