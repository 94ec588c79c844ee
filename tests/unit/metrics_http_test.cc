#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/metrics/http_endpoint.h"
#include "agent/metrics/http_listen_address.h"
#include "agent/net/unique_fd.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Polls `done` every millisecond for at most `timeout`.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Threads of this process, and how many are called `name`.
int CountThreads(const std::string& name = "") {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    if (name.empty()) {
      ++count;
      continue;
    }
    std::ifstream comm(absl::StrCat("/proc/self/task/", entry->d_name, "/comm"));
    std::string line;
    std::getline(comm, line);
    if (line == name) ++count;
  }
  closedir(dir);
  return count;
}

std::unique_ptr<httplib::Client> ClientFor(const MetricsHttpServer& server) {
  absl::StatusOr<HttpListenAddress> address = ParseHttpListenAddress(server.bound());
  EXPECT_THAT(address, IsOk());
  auto client = std::make_unique<httplib::Client>(address->host, address->port);
  client->set_connection_timeout(10);
  client->set_read_timeout(30);
  client->set_write_timeout(10);
  return client;
}

TEST(ParseHttpListenAddress, Forms) {
  absl::StatusOr<HttpListenAddress> v4 = ParseHttpListenAddress("127.0.0.1:9431");
  ASSERT_THAT(v4, IsOk());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9431);
  EXPECT_TRUE(v4->loopback);
  absl::StatusOr<HttpListenAddress> v6 = ParseHttpListenAddress("[::]:0");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->host, "::");
  EXPECT_EQ(v6->port, 0);
  EXPECT_FALSE(v6->loopback);
  absl::StatusOr<HttpListenAddress> local = ParseHttpListenAddress("localhost:1");
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->host, "127.0.0.1");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(FormatHostPort("10.0.0.1", 80), "10.0.0.1:80");
}

TEST(ParseHttpListenAddress, ErrorsNameTheFlag) {
  for (const char* bad :
       {"9431", "127.0.0.1", "::1:9431", "[::1]9431", "[127.0.0.1]:1", "example.com:80",
        "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1", ":9431", "[]:1"}) {
    EXPECT_THAT(ParseHttpListenAddress(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("--metrics-listen '", bad, "'"))))
        << bad;
  }
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.Counter("netprobe_test_total", "A test counter.").Add({{"a", "b"}}, 3);
  }

  HttpRoutes Routes() {
    HttpRoutes routes;
    routes["/metrics"] = MetricsHandler(&registry_);
    routes["/probe"] = [this](const HttpQuery& query) {
      absl::MutexLock lock(&mu_);
      last_query_ = query;
      std::string body;
      for (const auto& [name, value] : query.params)
        absl::StrAppend(&body, name, "=", value, "\n");
      return HttpReply{200, "text/plain; charset=utf-8", body};
    };
    return routes;
  }

  Registry registry_;
  absl::Mutex mu_;
  HttpQuery last_query_ ABSL_GUARDED_BY(mu_);
};

TEST_F(MetricsHttpTest, ServesMetrics) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes());
  ASSERT_THAT(server, IsOk());
  EXPECT_THAT((*server)->bound(), StartsWith("127.0.0.1:"));
  EXPECT_NE((*server)->bound(), "127.0.0.1:0");
  auto client = ClientFor(**server);
  httplib::Result res = client->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, registry_.Render());
}

TEST_F(MetricsHttpTest, UnknownPathMethodAndBody) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes());
  ASSERT_THAT(server, IsOk());
  auto client = ClientFor(**server);

  httplib::Result missing = client->Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("/metrics"));
  EXPECT_THAT(missing->body, HasSubstr("/probe"));

  httplib::Result post =
      client->Post("/metrics", "x=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET");

  httplib::Result del = client->Delete("/probe");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);

  // The server still serves after those.
  httplib::Result ok = client->Get("/metrics");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(MetricsHttpTest, QueryParametersAndPeerReachTheHandler) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes());
  ASSERT_THAT(server, IsOk());
  auto client = ClientFor(**server);
  httplib::Result res = client->Get("/probe?target=a%20b%3Dc&module=icmp&empty=");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "empty=\nmodule=icmp\ntarget=a b=c\n");
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(last_query_.path, "/probe");
    EXPECT_THAT(last_query_.peer, StartsWith("ipv4:127.0.0.1:"));
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(last_query_.peer.substr(15), &port));
    EXPECT_GT(port, 0);
  }
  httplib::Result twice = client->Get("/probe?target=a&target=b");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 400);
  EXPECT_THAT(twice->body, HasSubstr("'target'"));
}

TEST_F(MetricsHttpTest, Ipv6Loopback) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("[::1]:0", Routes());
  if (!server.ok() && absl::StrContains(server.status().message(), "EADDRNOTAVAIL")) {
    GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  }
  ASSERT_THAT(server, IsOk());
  EXPECT_THAT((*server)->bound(), StartsWith("[::1]:"));
  auto client = ClientFor(**server);
  httplib::Result res = client->Get("/probe?x=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  absl::MutexLock lock(&mu_);
  EXPECT_THAT(last_query_.peer, StartsWith("ipv6:[::1]:"));
}

TEST_F(MetricsHttpTest, BindErrorNamesTheAddress) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> first =
      MetricsHttpServer::Start("127.0.0.1:0", Routes());
  ASSERT_THAT(first, IsOk());
  const std::string taken = (*first)->bound();
  EXPECT_THAT(
      MetricsHttpServer::Start(taken, Routes()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               ::testing::AllOf(HasSubstr(absl::StrCat("--metrics-listen ", taken)),
                                HasSubstr("EADDRINUSE"))));
  EXPECT_THAT(
      MetricsHttpServer::Start("not-an-address", Routes()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--metrics-listen")));
}

// A raw TCP connection to `server`, for requests httplib::Client won't send.
UniqueFd Connect(const MetricsHttpServer& server) {
  absl::StatusOr<HttpListenAddress> address = ParseHttpListenAddress(server.bound());
  EXPECT_THAT(address, IsOk());
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(address->port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  return fd;
}

// Whether the server closes `fd` (EOF or reset) within `timeout`, reading and
// discarding whatever it sends first.
bool ClosedByServer(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0 || poll(&p, 1, left) <= 0) return false;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
}

TEST_F(MetricsHttpTest, EndlessHeadersCloseTheConnection) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes());
  ASSERT_THAT(server, IsOk());
  UniqueFd fd = Connect(**server);
  const std::string request_line = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(send(fd.get(), request_line.data(), request_line.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request_line.size()));
  const std::string header = "X-Padding: " + std::string(1000, 'a') + "\r\n";
  size_t sent = 0;
  bool refused = false;
  // The server stops reading after 32 KiB: sending fails once its buffers
  // fill or it has closed, long before 16 MiB.
  while (sent < (16u << 20)) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (poll(&p, 1, 10000) <= 0) break;  // buffers full, nobody reading
    ssize_t n = send(fd.get(), header.data(), header.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      refused = true;  // EPIPE / ECONNRESET
      break;
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  EXPECT_LT(sent, 16u << 20);
  EXPECT_TRUE(refused || ClosedByServer(fd.get(), absl::Seconds(10))) << sent;
}

TEST_F(MetricsHttpTest, SlowRequestTimesOut) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes(), options);
  ASSERT_THAT(server, IsOk());
  UniqueFd fd = Connect(**server);
  const std::string partial = "GET /metr";  // and nothing more
  ASSERT_EQ(send(fd.get(), partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(10)));
  // A worker no longer holds it.
  EXPECT_TRUE(
      WaitUntil([&] { return (*server)->stats().busy_workers == 0; }, absl::Seconds(10)));
}

// Requests that hold their worker until released.
struct SlowRoute {
  absl::Notification release;
  absl::Mutex mu;
  int entered ABSL_GUARDED_BY(mu) = 0;

  HttpHandler Handler() {
    return [this](const HttpQuery&) {
      {
        absl::MutexLock lock(&mu);
        ++entered;
      }
      bool released = release.WaitForNotificationWithTimeout(absl::Seconds(30));
      return HttpReply{released ? 200 : 500, "text/plain; charset=utf-8", "done\n"};
    };
  }
  bool AwaitEntered(int n) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return entered >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  }
};

TEST_F(MetricsHttpTest, BusyWorkersQueueThenReject503AndIdleThreadsExit) {
  // Only this test's server runs now: earlier ones have joined their threads.
  const int threads_before = CountThreads();
  SlowRoute slow;
  HttpRoutes routes = Routes();
  routes["/slow"] = slow.Handler();
  std::atomic<int> rejected_callbacks{0};
  HttpServerOptions options;
  options.max_workers = 2;
  options.max_queued = 1;
  options.worker_idle_exit = absl::Milliseconds(200);
  options.on_rejected = [&] { ++rejected_callbacks; };
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> started =
      MetricsHttpServer::Start("127.0.0.1:0", std::move(routes), options);
  ASSERT_THAT(started, IsOk());
  MetricsHttpServer& server = **started;
  EXPECT_EQ(CountThreads(), threads_before + 1);  // the accepting thread only
  EXPECT_EQ(CountThreads("np-http"), 1);

  // Two requests hold both workers, a third waits for one.
  std::vector<int> statuses(3, -1);
  std::vector<std::thread> clients;
  auto get_slow = [&](int i) {
    clients.emplace_back([&, i] {
      auto client = ClientFor(server);
      httplib::Result res = client->Get("/slow");
      statuses[i] = res ? res->status : -2;
    });
  };
  get_slow(0);
  get_slow(1);
  ASSERT_TRUE(slow.AwaitEntered(2));
  get_slow(2);
  ASSERT_TRUE(WaitUntil([&] { return server.stats().queued_connections == 1; },
                        absl::Seconds(10)));
  EXPECT_EQ(server.stats().busy_workers, 2u);
  EXPECT_EQ(CountThreads("np-http-work"), 2);

  // A fourth is turned away at once, while the others still run.
  auto client = ClientFor(server);
  httplib::Result rejected = client->Get("/metrics");
  ASSERT_TRUE(rejected) << httplib::to_string(rejected.error());
  EXPECT_EQ(rejected->status, 503);
  EXPECT_THAT(rejected->body, HasSubstr("busy"));
  EXPECT_EQ(server.stats().rejected_connections, 1u);
  EXPECT_EQ(rejected_callbacks.load(), 1);

  slow.release.Notify();
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));

  // Idle workers exit: back to the accepting thread alone.
  EXPECT_TRUE(
      WaitUntil([&] { return CountThreads() == threads_before + 1; }, absl::Seconds(10)))
      << CountThreads() << " threads, " << threads_before << " before";
  EXPECT_EQ(server.stats().worker_threads, 0u);

  // And serves again afterwards.
  httplib::Result again = client->Get("/metrics");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  server.Stop();
  EXPECT_EQ(CountThreads(), threads_before);
}

TEST_F(MetricsHttpTest, StopClosesIdleKeepAliveConnections) {
  HttpServerOptions options;
  options.keep_alive_timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", Routes(), options);
  ASSERT_THAT(server, IsOk());
  auto client = ClientFor(**server);
  client->set_keep_alive(true);
  httplib::Result res = client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ((*server)->stats().worker_threads, 1u);  // holding the connection
  const absl::Time start = absl::Now();
  (*server)->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not the keep-alive timeout
  (*server)->Stop();                                  // idempotent
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
