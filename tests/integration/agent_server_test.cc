// The agent in this process, so its descriptors and threads can be counted
// from /proc/self: clients killed mid-stream and shutdown mid-stream must
// leave none behind.
#include "agent/server/agent_server.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <filesystem>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/net/monotonic_clock.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"
#include "tests/test_support/ports.h"
#include "tests/test_support/proc_self.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::testing {
namespace {

using ::testing::HasSubstr;

// gRPC's elastic pools aside (proc_self.h): the agent's threads must return to baseline.
int Threads() { return OwnThreads(); }

class AgentServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("netprobe-agent-test-", getpid());
    std::filesystem::create_directories(dir_);
    socket_ = absl::StrCat("unix:", (dir_ / "agent.sock").string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<AgentServer>> StartAgent() {
    AgentOptions options;
    options.listen = {socket_, "127.0.0.1:0"};
    options.insecure = true;  // anonymous callers on the loopback listener
    options.shutdown_grace = absl::Seconds(3);
    return AgentServer::Start(options);
  }

  v1::TcpConnectRequest LongRequest() {
    v1::TcpConnectRequest request;
    request.add_targets(absl::StrCat("127.0.0.1:", ClosedLoopbackPort()));
    request.set_count(100000);
    request.mutable_interval()->set_nanos(5 * 1000 * 1000);
    return request;
  }

  std::filesystem::path dir_;
  std::string socket_;
};

TEST_F(AgentServerTest, ServesInfoOverUnixAndTcpAndListsItsOwnListener) {
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  ASSERT_EQ((*agent)->bound_addresses().size(), 2u);
  for (const std::string& address : (*agent)->bound_addresses()) {
    auto stub = v1::Agent::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::AgentInfo info;
    ASSERT_TRUE(stub->GetInfo(&context, v1::GetInfoRequest(), &info).ok()) << address;
    EXPECT_EQ(info.pid(), static_cast<uint32_t>(getpid()));
    EXPECT_THAT(info.listen_addresses(), ::testing::Contains(address));
  }
  auto probes = v1::Probes::NewStub(
      grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials()));
  {  // A bad request is refused with the field named.
    grpc::ClientContext context;
    v1::SocketsRequest bad;
    bad.add_states("listen-ish");
    auto reader = probes->Sockets(&context, bad);
    v1::SocketsEvents events;
    EXPECT_FALSE(reader->Read(&events));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("states[0]: "));
  }
  // The agent's own TCP listener is among the host's listening sockets.
  std::string tcp_address;
  for (const std::string& a : (*agent)->bound_addresses()) {
    if (!absl::StartsWith(a, "unix:")) tcp_address = a;
  }
  grpc::ClientContext context;
  v1::SocketsRequest request;
  request.add_protocols(v1::SOCKET_PROTOCOL_TCP);
  request.set_listening_only(true);
  request.set_processes(true);
  auto reader = probes->Sockets(&context, request);
  v1::SocketsEvents events;
  bool found = false, complete = false;
  while (reader->Read(&events)) {
    for (const v1::SocketsEvent& event : events.events()) {
      complete |= event.snapshot().complete();
      for (const v1::SocketEntry& s : event.snapshot().sockets()) {
        // gRPC listens on a dual-stack socket: 127.0.0.1 shows as
        // ::ffff:127.0.0.1, as ss shows it.
        if (!absl::EndsWith(tcp_address, absl::StrCat(absl::StripPrefix(
                                                          s.local().address(), "::ffff:"),
                                                      ":", s.local().port()))) {
          continue;
        }
        found = true;
        EXPECT_EQ(s.state(), "LISTEN");
        ASSERT_FALSE(s.processes().empty());
        EXPECT_EQ(s.processes(0).pid(), static_cast<uint32_t>(getpid()));
      }
    }
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(complete);
  EXPECT_TRUE(found) << tcp_address;
}

TEST_F(AgentServerTest, ClientKilledMidStreamStopsTheProbeAndLeaksNoFds) {
  // A first start/stop warms gRPC's process-wide state (its own fds/threads).
  ASSERT_THAT(StartAgent(), IsOk());
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  const int fds_idle = OpenFds();
  const int threads_idle = Threads();

  for (int round = 0; round < 3; ++round) {
    auto client =
        Process::Start({NETPROBE_CLIENT_BIN, "--agent", socket_, "tcp", "-c", "100000",
                        "-i", "5ms", absl::StrCat("127.0.0.1:", ClosedLoopbackPort())});
    ASSERT_THAT(client, IsOk());
    // Mid-stream: the probe runs and has sent at least a few results.
    ASSERT_TRUE(
        WaitFor([&] { return (*agent)->active_probes() == 1; }, absl::Seconds(10)));
    ASSERT_THAT(client->WaitForStdout("seq=3 ", absl::Seconds(10)), IsOk());
    client->Signal(SIGKILL);
    ASSERT_THAT(client->Wait(absl::Seconds(10)), IsOk());
    EXPECT_TRUE(
        WaitFor([&] { return (*agent)->active_probes() == 0; }, absl::Seconds(10)))
        << "probe still running after its client was killed (round " << round << ")";
    EXPECT_TRUE(WaitFor([&] { return OpenFds() <= fds_idle; }, absl::Seconds(10)))
        << "fds: " << OpenFds() << " vs idle " << fds_idle << " (round " << round << ")";
    EXPECT_TRUE(WaitFor([&] { return Threads() <= threads_idle; }, absl::Seconds(10)))
        << "threads: " << Threads() << " vs idle " << threads_idle << ": "
        << ThreadNames();
  }
}

TEST_F(AgentServerTest, ShutdownMidStreamEndsWithSummaryAndReturnsToBaseline) {
  ASSERT_THAT(StartAgent(), IsOk());  // warm-up, see above
  const int fds_before = OpenFds();
  const int threads_before = Threads();
  {
    auto agent = StartAgent();
    ASSERT_THAT(agent, IsOk());
    {
      auto channel = grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials());
      auto probes = v1::Probes::NewStub(channel);
      grpc::ClientContext context;
      auto reader = probes->TcpConnect(&context, LongRequest());
      v1::TcpConnectEvents batch;
      ASSERT_TRUE(reader->Read(&batch));
      ASSERT_GE(batch.events_size(), 1);
      ASSERT_TRUE(batch.events(0).has_attempt());
      std::thread stopper([&] { (*agent)->Shutdown(); });
      bool saw_end = false, saw_summary = false;
      while (reader->Read(&batch)) {
        for (const v1::TcpConnectEvent& event : batch.events()) {
          if (event.has_end()) {
            saw_end = true;
            EXPECT_EQ(event.end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
          }
          if (event.has_summary()) {
            saw_summary = true;
            EXPECT_TRUE(saw_end) << "StreamEnd comes before the summaries";
            EXPECT_GE(event.summary().sent(), 1u);
          }
        }
      }
      const grpc::Status status = reader->Finish();
      stopper.join();
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_TRUE(saw_end);
      EXPECT_TRUE(saw_summary);
    }
  }
  EXPECT_TRUE(WaitFor([&] { return OpenFds() <= fds_before; }, absl::Seconds(10)))
      << "fds: " << OpenFds() << " vs " << fds_before;
  EXPECT_TRUE(WaitFor([&] { return Threads() <= threads_before; }, absl::Seconds(10)))
      << "threads: " << Threads() << " vs " << threads_before;
}

// Hundreds of events queued in one loop round go out in several batches.
TEST_F(AgentServerTest, BurstsLargerThanOneBatchAreAllDelivered) {
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  v1::TcpConnectRequest request;
  for (int i = 0; i < 600; ++i) {
    request.add_targets(absl::StrCat("127.0.0.1:", ClosedLoopbackPort()));
  }
  request.set_concurrency(600);
  auto probes = v1::Probes::NewStub(
      grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = probes->TcpConnect(&context, request);
  v1::TcpConnectEvents batch;
  int attempts = 0, summaries = 0, messages = 0;
  while (reader->Read(&batch)) {
    ++messages;
    EXPECT_LE(batch.events_size(), 256);
    for (const auto& event : batch.events()) {
      attempts += event.has_attempt();
      summaries += event.has_summary();
    }
  }
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(attempts, 600);
  EXPECT_EQ(summaries, 600);
  EXPECT_GE(messages, 5);  // 1,200 events: at least five batches
}

// A fast ping of 150 loopback addresses: replies and summaries pile up faster
// than one batch (see also PingLabTest.FastBurstFromTheCliCompletes).
TEST_F(AgentServerTest, FastPingBurstIsDeliveredCompletely) {
  auto agent = StartAgent();
  ASSERT_THAT(agent, IsOk());
  v1::PingRequest request;
  for (int i = 1; i <= 150; ++i) request.add_targets(absl::StrCat("127.0.1.", i));
  request.set_count(2);
  request.set_rate_limit(100000);
  request.mutable_interval()->set_nanos(1000000);
  auto probes = v1::Probes::NewStub(
      grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto reader = probes->Ping(&context, request);
  v1::PingEvents batch;
  int replies = 0, summaries = 0;
  while (reader->Read(&batch)) {
    for (const auto& event : batch.events()) {
      replies += event.has_reply() && event.reply().result().outcome() == v1::OUTCOME_OK;
      summaries += event.has_summary();
    }
  }
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(replies, 300);
  EXPECT_EQ(summaries, 150);
}

TEST_F(AgentServerTest, StartStopCyclesLeakNothing) {
  ASSERT_THAT(StartAgent(), IsOk());
  const int fds_before = OpenFds();
  const int threads_before = Threads();
  for (int i = 0; i < 5; ++i) {
    auto agent = StartAgent();
    ASSERT_THAT(agent, IsOk());
    auto stub = v1::Agent::NewStub(
        grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::AgentInfo info;
    ASSERT_TRUE(stub->GetInfo(&context, v1::GetInfoRequest(), &info).ok());
  }
  EXPECT_TRUE(WaitFor([&] { return OpenFds() <= fds_before; }, absl::Seconds(10)))
      << "fds: " << OpenFds() << " vs " << fds_before;
  EXPECT_TRUE(WaitFor([&] { return Threads() <= threads_before; }, absl::Seconds(10)))
      << "threads: " << Threads() << " vs " << threads_before;
}

TEST_F(AgentServerTest, RefusesPlaintextOnNonLoopbackUnlessInsecure) {
  AgentOptions options;
  options.listen = {"0.0.0.0:0"};
  auto refused = AgentServer::Start(options);
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--insecure")));
  options.insecure = true;
  EXPECT_THAT(AgentServer::Start(options), IsOk());
}

}  // namespace
}  // namespace netprobe::testing
