// The iperf3 server on a real event loop on 127.0.0.1, against the real
// iperf3 client (3.x): TCP, UDP, reverse, bidirectional and parallel tests
// complete with sane numbers in iperf3's JSON; tests run side by side; the
// limits refuse what they should, and the refusals are counted.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/iperf3/client_session.h"
#include "agent/iperf3/server.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::Process;
using ::netprobe::testing::RunCommand;
using ::netprobe::testing::RunResult;

// iperf3 -J's output, searched as text: 3.12 writes some members twice
// ("sock_bufsize" for each stream), which a strict JSON parser refuses.
struct IperfJson {
  std::string text;

  // The top-level "end" object's text (cJSON indents members with tabs).
  absl::string_view End() const {
    const size_t at = text.find("\n\t\"end\":");
    return at == std::string::npos ? absl::string_view()
                                   : absl::string_view(text).substr(at);
  }
  // The number after the first "member": that follows each of `within` in
  // the "end" object: Number({"sum_received"}, "bytes"); -1 when absent.
  double Number(const std::vector<std::string>& within, const std::string& member) const {
    absl::string_view rest = End();
    for (const std::string& key : within) {
      const size_t at = rest.find(absl::StrCat("\"", key, "\":"));
      if (at == absl::string_view::npos) return -1;
      rest.remove_prefix(at);
    }
    const size_t at = rest.find(absl::StrCat("\"", member, "\":"));
    if (at == absl::string_view::npos) return -1;
    rest.remove_prefix(at + member.size() + 3);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
      rest.remove_prefix(1);
    double value = -1;
    const size_t end = rest.find_first_of(",\n}");
    if (!absl::SimpleAtod(rest.substr(0, end), &value)) return -1;
    return value;
  }
  // How many streams the "end" object reports.
  int Streams() const {
    int count = 0;
    absl::string_view rest = End();
    for (size_t at; (at = rest.find("\"receiver\":")) != absl::string_view::npos;
         rest.remove_prefix(at + 1)) {
      ++count;
    }
    return count;
  }
  // The "error" member's text; empty when there is none.
  std::string Error() const {
    if (text.empty() || text.front() != '{') return "(not iperf3's JSON)";
    const size_t at = text.find("\"error\":");
    if (at == std::string::npos) return "";
    const size_t open = text.find('"', at + 8);
    const size_t close = text.find('"', open + 1);
    return text.substr(open + 1, close - open - 1);
  }
};

class Iperf3ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    auto loop = EventLoop::Create();
    ASSERT_THAT(loop.status(), IsOk());
    loop_ = *std::move(loop);
    options.listen = *SocketAddress::FromLiteral("127.0.0.1", 0);
    auto server = Server::Start(loop_.get(), std::move(options));
    ASSERT_THAT(server.status(), IsOk());
    server_ = *std::move(server);
    port_ = server_->bound().port();
    thread_ = std::thread([this] { loop_->Run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      loop_->Stop();
      thread_.join();
    }
    server_.reset();
    loop_.reset();
  }

  std::vector<std::string> Client(std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        "iperf3", "-c", "127.0.0.1", "-p", absl::StrCat(port_), "-J"};
    // One second unless the test says how long (or how much).
    if (std::find(extra.begin(), extra.end(), "-t") == extra.end() &&
        std::find(extra.begin(), extra.end(), "-n") == extra.end()) {
      extra.insert(extra.end(), {"-t", "1"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Runs iperf3 -c to completion and returns its JSON; fails the test when
  // it reports an error unless `expect_success` is false.
  // (iperf3 3.12 -J exits 0 even on errors: the JSON's "error" tells.)
  IperfJson Run(std::vector<std::string> extra, bool expect_success = true) {
    absl::StatusOr<RunResult> run =
        RunCommand(Client(std::move(extra)), absl::Seconds(20));
    EXPECT_THAT(run.status(), IsOk());
    if (!run.ok()) return IperfJson();
    IperfJson json{run->out};
    if (expect_success) {
      EXPECT_EQ(run->exit_code, 0) << run->out << run->err;
      EXPECT_EQ(json.Error(), "") << run->out;
    }
    return json;
  }

  // Waits (bounded) until `done` holds; the server updates its counters on
  // its own thread, after the client may have exited.
  template <typename F>
  bool WaitFor(F done, absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(Iperf3ServerTest, TcpTestCompletes) {
  StartServer();
  const IperfJson json = Run({});
  EXPECT_GT(json.Number({"sum_received"}, "bytes"), 0) << json.text;
  EXPECT_GT(json.Number({"sum_sent"}, "bytes"), 0) << json.text;
  // Our results reached the client: its cpu_utilization_percent has ours.
  EXPECT_GE(json.Number({"cpu_utilization_percent"}, "remote_total"), 0) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
  EXPECT_EQ(server_->tests_started(), 1u);
  EXPECT_TRUE(WaitFor([&] { return server_->active_tests() == 0; }));
}

TEST_F(Iperf3ServerTest, UdpTestCompletesWithoutLoss) {
  StartServer();
  const IperfJson json = Run({"-u", "-b", "10M"});
  EXPECT_GT(json.Number({"sum"}, "bytes"), 0) << json.text;
  EXPECT_GT(json.Number({"sum"}, "packets"), 0) << json.text;
  const double lost = json.Number({"sum"}, "lost_percent");
  EXPECT_GE(lost, 0) << json.text;
  EXPECT_LT(lost, 1) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, ReverseTestCompletes) {
  StartServer();
  const IperfJson json = Run({"-R"});
  EXPECT_GT(json.Number({"sum_received"}, "bytes"), 0) << json.text;
  EXPECT_GT(json.Number({"sum_sent"}, "bytes"), 0) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, ReverseUdpTestCompletes) {
  StartServer();
  const IperfJson json = Run({"-u", "-b", "10M", "-R"});
  EXPECT_GT(json.Number({"sum"}, "packets"), 0) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, BidirectionalTestCompletes) {
  StartServer();
  const IperfJson json = Run({"--bidir"});
  EXPECT_GT(json.Number({"sum_received"}, "bytes"), 0) << json.text;
  EXPECT_GT(json.Number({"sum_received_bidir_reverse"}, "bytes"), 0) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, ParallelTestCompletes) {
  StartServer();
  const IperfJson json = Run({"-P", "3"});
  EXPECT_EQ(json.Streams(), 3) << json.text;
  EXPECT_GT(json.Number({"sum_received"}, "bytes"), 0) << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, TwoTestsAtOnce) {
  StartServer();
  absl::StatusOr<Process> first = Process::Start(Client({"-t", "2"}));
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return server_->tests_started() == 1; }));
  const IperfJson second = Run({});
  EXPECT_GT(second.Number({"sum_received"}, "bytes"), 0) << second.text;
  absl::StatusOr<int> exit_code = first->Wait(absl::Seconds(20));
  ASSERT_THAT(exit_code.status(), IsOk());
  EXPECT_EQ(*exit_code, 0) << first->err();
  EXPECT_EQ(IperfJson{first->out()}.Error(), "") << first->out();
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 2; }));
}

TEST_F(Iperf3ServerTest, BusyServerRefusesTheSecondTest) {
  ServerOptions options;
  options.max_concurrent_tests = 1;
  StartServer(options);
  absl::StatusOr<Process> first = Process::Start(Client({"-t", "2"}));
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return server_->tests_started() == 1; }));
  const IperfJson second = Run({}, /*expect_success=*/false);
  EXPECT_EQ(second.Error(), "the server is busy running a test. try again later")
      << second.text;
  EXPECT_TRUE(WaitFor([&] { return server_->refused(Refusal::kBusy) == 1; }));
  absl::StatusOr<int> exit_code = first->Wait(absl::Seconds(20));
  ASSERT_THAT(exit_code.status(), IsOk());
  EXPECT_EQ(IperfJson{first->out()}.Error(), "") << first->out();
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 1; }));
}

TEST_F(Iperf3ServerTest, ClientOutsideTheAllowedCidrsIsRefused) {
  ServerOptions options;
  options.allowed_clients.push_back(*Cidr::Parse("198.18.0.0/15", "allow"));
  StartServer(options);
  const IperfJson json = Run({}, /*expect_success=*/false);
  EXPECT_EQ(json.Error(), "the server is busy running a test. try again later")
      << json.text;
  EXPECT_TRUE(WaitFor([&] { return server_->refused(Refusal::kClientNotAllowed) == 1; }));
  EXPECT_EQ(server_->tests_started(), 0u);
}

TEST_F(Iperf3ServerTest, TestsOverTheLimitsAreRefused) {
  ServerOptions options;
  options.limits.max_duration = absl::Seconds(2);
  options.limits.max_parallel = 2;
  StartServer(options);
  // SERVER_ERROR with iperf3's error number 37, which 3.17+ clients print as
  // "client's requested duration exceeds the server's maximum permitted limit".
  for (const std::vector<std::string>& args : {std::vector<std::string>{"-t", "5"},
                                               {"-n", "1M"} /* no time bound */,
                                               {"-P", "3"}}) {
    const IperfJson json = Run(args, /*expect_success=*/false);
    EXPECT_NE(json.Error(), "") << args[0] << "\n" << json.text;
  }
  EXPECT_TRUE(WaitFor([&] { return server_->refused(Refusal::kOverLimits) == 3; }));
  EXPECT_EQ(server_->tests_started(), 0u);
  EXPECT_TRUE(WaitFor([&] { return server_->active_tests() == 0; }));
}

// Connects to the server; sends `send` (may be empty).
UniqueFd Connect(uint16_t port, absl::string_view send) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  if (!send.empty()) {
    EXPECT_EQ(::send(fd.get(), send.data(), send.size(), 0),
              static_cast<ssize_t>(send.size()));
  }
  return fd;
}

// Reads until the server closes the connection (bounded); what it sent.
std::string ReadUntilClosed(int fd, absl::Duration timeout) {
  std::string got;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buffer[256];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return got;
    got.append(buffer, n);
  }
  ADD_FAILURE() << "still open after " << timeout;
  return got;
}

TEST_F(Iperf3ServerTest, SilentClientsAreDropped) {
  ServerOptions options;
  options.limits.handshake_timeout = absl::Seconds(1);
  StartServer(options);
  // No cookie at all.
  UniqueFd silent = Connect(port_, "");
  // A cookie, then no parameters: PARAM_EXCHANGE, then closed.
  UniqueFd no_params = Connect(port_, std::string(NewCookie()));
  EXPECT_EQ(ReadUntilClosed(silent.get(), absl::Seconds(3)), "");
  EXPECT_EQ(ReadUntilClosed(no_params.get(), absl::Seconds(3)),
            std::string(1, static_cast<char>(State::kParamExchange)));
  EXPECT_TRUE(WaitFor([&] { return server_->refused(Refusal::kTimeout) == 2; }));
  EXPECT_TRUE(WaitFor([&] { return server_->active_tests() == 0; }));
}

TEST_F(Iperf3ServerTest, UnreadableParametersAreRefused) {
  StartServer();
  UniqueFd control = Connect(port_, NewCookie());
  const std::string frame = FrameJson("{\"tcp\": true, \"parallel\": \"many\"");
  ASSERT_EQ(send(control.get(), frame.data(), frame.size(), 0),
            static_cast<ssize_t>(frame.size()));
  // PARAM_EXCHANGE, then SERVER_ERROR with iperf3's error number and errno.
  const std::string got = ReadUntilClosed(control.get(), absl::Seconds(3));
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(static_cast<int8_t>(got[0]), static_cast<int8_t>(State::kParamExchange));
  EXPECT_EQ(static_cast<int8_t>(got[1]), static_cast<int8_t>(State::kServerError));
  EXPECT_EQ(got.substr(2, 4), std::string("\0\0\0\x72", 4));  // 114, IERECVPARAMS
  EXPECT_TRUE(WaitFor([&] { return server_->refused(Refusal::kBadParams) == 1; }));
}

TEST_F(Iperf3ServerTest, ClientKilledMidTestEndsTheTest) {
  StartServer();
  absl::StatusOr<Process> client = Process::Start(Client({"-t", "30", "-P", "2"}));
  ASSERT_THAT(client.status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return server_->tests_started() == 1; }));
  client->Signal(SIGKILL);
  ASSERT_THAT(client->Wait(absl::Seconds(5)).status(), IsOk());
  // The control connection's end ends the test at once, every socket closed.
  EXPECT_TRUE(WaitFor([&] { return server_->active_tests() == 0; }));
  EXPECT_EQ(server_->tests_completed(), 0u);
}

TEST_F(Iperf3ServerTest, ClientThatGoesSilentMidTestIsDropped) {
  ServerOptions options;
  options.limits.stall_timeout = absl::Milliseconds(500);
  StartServer(options);
  absl::StatusOr<Process> client = Process::Start(Client({"-t", "30"}));
  ASSERT_THAT(client.status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return server_->tests_started() == 1; }));
  // Stopped, its sockets stay open: no data, no TEST_END, no close.
  client->Signal(SIGSTOP);
  EXPECT_TRUE(WaitFor([&] { return server_->active_tests() == 0; }));
  EXPECT_EQ(server_->tests_completed(), 0u);
  client->Signal(SIGKILL);
}

// The agent's own client (what the Throughput probe runs) against the
// server, both on the server's loop: another agent's probe is a client too.
TEST_F(Iperf3ServerTest, OwnClientSessionCompletesAgainstIt) {
  StartServer();
  for (const bool udp : {false, true}) {
    SCOPED_TRACE(udp ? "UDP" : "TCP");
    ClientSpec spec;
    spec.server = server_->bound();
    spec.params.udp = udp;
    spec.params.time_seconds = 1;
    spec.params.bidirectional = true;
    spec.params.parallel = 2;
    if (udp) spec.params.bandwidth = 10'000'000;
    absl::Notification done;
    ClientSession::Outcome outcome;
    std::unique_ptr<ClientSession> session;
    loop_->Post([&] {
      ClientSession::Callbacks callbacks;
      callbacks.on_done = [&](ClientSession::Outcome o) {
        outcome = std::move(o);
        done.Notify();
      };
      session = std::make_unique<ClientSession>(loop_.get(), spec, std::move(callbacks));
      session->Start();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
    EXPECT_THAT(outcome.status, IsOk());
    ASSERT_TRUE(outcome.remote.has_value());
    ASSERT_EQ(outcome.remote->streams.size(), 4u);
    // Each stream's id is known to both ends; the server received bytes on
    // the client's sending streams and sent on the others.
    for (const StreamResult& line : outcome.remote->streams) {
      EXPECT_GT(line.bytes, 0u) << "stream " << line.id;
    }
    absl::Notification gone;
    loop_->Post([&] {
      session.reset();
      gone.Notify();
    });
    gone.WaitForNotification();
  }
  EXPECT_TRUE(WaitFor([&] { return server_->tests_completed() == 2; }));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
