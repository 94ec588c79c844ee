// iperf3::ClientSession on a real event loop thread against a real
// `iperf3 -s -1 -J` on 127.0.0.1 (a port from bind(0)): TCP and UDP, -R,
// --bidir, -P 2, -n; our results checked against the server's JSON. And far
// ends that are not iperf3 (one that writes text, one that says nothing), a
// busy server, Cancel() mid-test.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "agent/iperf3/client_session.h"
#include "agent/net/event_loop.h"
#include "agent/net/monotonic_clock.h"
#include "agent/net/small_file.h"
#include "agent/net/unique_fd.h"
#include "tests/test_support/ports.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::netprobe::testing::IsOk;
using ::netprobe::testing::Process;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// Whether something listens on 127.0.0.1:port (TCP), from /proc/net/tcp.
bool Listening(uint16_t port) {
  absl::StatusOr<std::string> table = ReadSmallFile("/proc/net/tcp", 4 << 20);
  if (!table.ok()) return false;
  return table->find(absl::StrFormat(" 0100007F:%04X 00000000:0000 0A ", port)) !=
         std::string::npos;
}

// `iperf3 -s -1 -J` on 127.0.0.1, ready once its port listens.
class Iperf3Server {
 public:
  void Start() {
    port_ = ::netprobe::testing::ClosedLoopbackPort();
    absl::StatusOr<Process> process = Process::Start(
        {"iperf3", "-s", "-1", "-J", "-B", "127.0.0.1", "-p", std::to_string(port_)});
    ASSERT_THAT(process, IsOk());
    process_ = std::make_unique<Process>(*std::move(process));
    const absl::Duration deadline = MonotonicNow() + absl::Seconds(10);
    while (!Listening(port_)) {
      ASSERT_LT(MonotonicNow(), deadline) << "iperf3 -s did not listen on " << port_;
      process_->Drain(absl::Milliseconds(5));
    }
  }
  uint16_t port() const { return port_; }
  void Kill() { process_->Signal(SIGKILL); }
  SocketAddress address() const {
    return *SocketAddress::FromLiteral("127.0.0.1", port_);
  }

  // Waits for the one test's end and parses what the server printed.
  void Finish(Struct* json) {
    absl::StatusOr<int> code = process_->Wait(absl::Seconds(10));
    ASSERT_THAT(code, IsOk());
    // iperf3 3.12 writes "target_bitrate" twice in a UDP test's start
    // section, which protobuf's JSON parser refuses; we need neither.
    std::string text;
    for (absl::string_view line : absl::StrSplit(process_->out(), '\n')) {
      if (!absl::StrContains(line, "\"target_bitrate\""))
        absl::StrAppend(&text, line, "\n");
    }
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, json).ok()) << text;
    ASSERT_FALSE(json->fields().contains("error")) << process_->out();
  }

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

const Value& Field(const Struct& s, const std::string& name) {
  static const Value* const kNull = new Value();
  auto it = s.fields().find(name);
  return it == s.fields().end() ? *kNull : it->second;
}
// A path into the JSON: Path(json, {"end", "sum_received", "bytes"}).
const Value& Path(const Struct& s, std::initializer_list<std::string> names) {
  const Struct* at = &s;
  const Value* value = nullptr;
  for (const std::string& name : names) {
    value = &Field(*at, name);
    at = &value->struct_value();
  }
  return *value;
}
// The server's streams' (udp or sender/receiver) members, summed over those
// where `sender` (the server's view) is as asked.
double ServerSum(const Struct& json, const std::string& kind, bool server_sender,
                 const std::string& member) {
  double total = 0;
  for (const Value& stream : Path(json, {"end", "streams"}).list_value().values()) {
    const Struct& part = Field(stream.struct_value(), kind).struct_value();
    if (Field(part, "sender").bool_value() == server_sender) {
      total += Field(part, member).number_value();
    }
  }
  return total;
}

// A loop on its own thread, and one session on it.
class Iperf3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    RunOnLoop([this] { session_.reset(); });
    loop_->Stop();
    thread_.join();
  }

  void RunOnLoop(std::function<void()> task) {
    absl::Notification done;
    loop_->Post([&] {
      task();
      done.Notify();
    });
    done.WaitForNotification();
  }

  static ClientSpec Spec(SocketAddress server) {
    ClientSpec spec;
    spec.server = server;
    spec.params.time_seconds = 1;
    spec.stall_timeout = absl::Seconds(3);
    return spec;
  }

  void StartSession(ClientSpec spec, std::function<void()> on_running = nullptr) {
    RunOnLoop([&] {
      ClientSession::Callbacks callbacks;
      callbacks.on_running = [this, on_running] {
        ++running_;
        if (on_running) on_running();
      };
      callbacks.on_omit_over = [this] { ++omit_over_; };
      callbacks.on_done = [this](ClientSession::Outcome outcome) {
        ++done_count_;
        outcome_ = std::move(outcome);
        done_.Notify();
      };
      session_ = std::make_unique<ClientSession>(loop_.get(), std::move(spec), callbacks);
      session_->Start();
    });
  }

  // Runs `spec` to its end; the outcome in outcome_.
  void Run(ClientSpec spec, absl::Duration bound = absl::Seconds(15)) {
    StartSession(std::move(spec));
    ASSERT_TRUE(done_.WaitForNotificationWithTimeout(bound)) << "no on_done in " << bound;
    RunOnLoop([] {});  // on_done has returned
  }

  uint64_t LocalBytes(bool sender) const {
    uint64_t total = 0;
    for (size_t i = 0; i < outcome_.local.streams.size(); ++i) {
      if (sent_[i] == sender) total += outcome_.local.streams[i].bytes;
    }
    return total;
  }
  // Which local streams sent, by index (from the session's streams).
  void NoteRoles() {
    RunOnLoop([this] {
      sent_.clear();
      for (const auto& stream : session_->streams()) sent_.push_back(stream->sender());
    });
  }
  std::vector<int> Ids() const {
    std::vector<int> ids;
    for (const StreamResult& s : outcome_.local.streams) ids.push_back(s.id);
    return ids;
  }

  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
  std::unique_ptr<ClientSession> session_;
  absl::Notification done_;
  ClientSession::Outcome outcome_;
  std::vector<bool> sent_;
  int running_ = 0, omit_over_ = 0, done_count_ = 0;
};

TEST_F(Iperf3ClientTest, TcpSendMatchesTheServer) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  Run(Spec(server.address()));
  ASSERT_THAT(outcome_.status, IsOk());
  NoteRoles();
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  EXPECT_TRUE(outcome_.ran);
  EXPECT_EQ(running_, 1);
  EXPECT_EQ(done_count_, 1);
  EXPECT_THAT(Ids(), ::testing::ElementsAre(1));
  ASSERT_TRUE(outcome_.remote.has_value());
  ASSERT_EQ(outcome_.remote->streams.size(), 1u);
  const double received = Path(json, {"end", "sum_received", "bytes"}).number_value();
  EXPECT_EQ(outcome_.remote->streams[0].bytes, received);
  EXPECT_GT(received, 0);
  // What was in flight when the server stopped reading is ours only.
  EXPECT_GE(outcome_.local.streams[0].bytes, received);
  EXPECT_GE(outcome_.local.streams[0].retransmits, 0);
  EXPECT_NEAR(absl::ToDoubleSeconds(outcome_.measured), 1.0, 0.2);
  EXPECT_EQ(outcome_.local.sender_has_retransmits, 1);
}

TEST_F(Iperf3ClientTest, TcpReverseCountsAllTheServerSent) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.reverse = true;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  const double sent = Path(json, {"end", "sum_sent", "bytes"}).number_value();
  EXPECT_GT(sent, 0);
  // The server closed its end at TEST_END; the session read it all.
  EXPECT_EQ(outcome_.local.streams[0].bytes, sent);
  EXPECT_EQ(outcome_.remote->streams[0].bytes, sent);
  EXPECT_EQ(outcome_.local.sender_has_retransmits, -1);
}

TEST_F(Iperf3ClientTest, TwoParallelStreamsAreIds1And3) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.parallel = 2;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  EXPECT_THAT(Ids(), ::testing::ElementsAre(1, 3));
  ASSERT_EQ(outcome_.remote->streams.size(), 2u);
  EXPECT_EQ(outcome_.remote->streams[0].id, 1);
  EXPECT_EQ(outcome_.remote->streams[1].id, 3);
  EXPECT_EQ(outcome_.remote->streams[0].bytes + outcome_.remote->streams[1].bytes,
            Path(json, {"end", "sum_received", "bytes"}).number_value());
  EXPECT_GT(outcome_.local.streams[1].bytes, 0u);
}

TEST_F(Iperf3ClientTest, BidirectionalSendsOnTheFirstStreamsReceivesOnTheRest) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.bidirectional = true;
  spec.params.parallel = 2;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  NoteRoles();
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  EXPECT_THAT(Ids(), ::testing::ElementsAre(1, 3, 4, 5));
  EXPECT_THAT(sent_, ::testing::ElementsAre(true, true, false, false));
  // The server's receiving streams got at most what ours sent; what it
  // sent we read all of.
  const double server_received =
      ServerSum(json, "receiver", /*server_sender=*/false, "bytes");
  const double server_sent = ServerSum(json, "sender", /*server_sender=*/true, "bytes");
  EXPECT_GT(server_received, 0);
  EXPECT_GE(LocalBytes(/*sender=*/true), server_received);
  EXPECT_EQ(LocalBytes(/*sender=*/false), server_sent);
}

TEST_F(Iperf3ClientTest, ASourcePortBindsTheDataStreamLikeCport) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  const uint16_t cport = ::netprobe::testing::ClosedLoopbackPort();
  spec.data_setup.source = *SocketAddress::FromLiteral("127.0.0.1", cport);
  uint16_t bound = 0;
  StartSession(spec, [&] {
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    getsockname(session_->streams()[0]->fd(), reinterpret_cast<sockaddr*>(&local),
                &length);
    bound = ntohs(local.sin_port);
  });
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  RunOnLoop([] {});
  EXPECT_THAT(outcome_.status, IsOk());
  EXPECT_EQ(bound, cport);
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
}

TEST_F(Iperf3ClientTest, BytesEndTheTestAtExactlyN) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.time_seconds = 0;
  spec.params.bytes = 10'000'000;
  spec.params.parallel = 2;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  EXPECT_EQ(outcome_.local.streams[0].bytes + outcome_.local.streams[1].bytes,
            10'000'000u);
  EXPECT_LE(Path(json, {"end", "sum_received", "bytes"}).number_value(), 10'000'000);
}

TEST_F(Iperf3ClientTest, OmittedSecondsAreNotCounted) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.omit_seconds = 1;
  spec.params.reverse = true;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  EXPECT_EQ(omit_over_, 1);
  EXPECT_NEAR(absl::ToDoubleSeconds(outcome_.measured), 1.0, 0.2);
  // The server counts from its own end of the omitted second, at about
  // the same time: the two agree within what a few ms carry.
  const double sent = Path(json, {"end", "sum_sent", "bytes"}).number_value();
  EXPECT_GT(outcome_.local.streams[0].bytes, 0.8 * sent);
  EXPECT_LT(outcome_.local.streams[0].bytes, 1.2 * sent);
}

TEST_F(Iperf3ClientTest, UdpSendsPacedDatagramsTheServerCounts) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.udp = true;
  spec.params.bandwidth = 10'000'000;
  spec.params.length = 1000;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  const StreamResult& ours = outcome_.local.streams[0];
  // 10 Mbit/s of 1000-byte datagrams for 1 s: 1250.
  EXPECT_NEAR(ours.packets, 1250, 40);
  EXPECT_EQ(ours.bytes, static_cast<uint64_t>(ours.packets) * 1000);
  // iperf3's server stops reading at TEST_END, which follows the last
  // datagram at once: what is still queued in its socket then is neither
  // counted nor lost (loss is a gap in the sequence numbers), as with
  // iperf3's own client. 25 datagrams are the last 20 ms of the test.
  const double server_packets =
      ServerSum(json, "udp", /*server_sender=*/false, "packets");
  EXPECT_LE(server_packets, ours.packets);
  EXPECT_GE(server_packets, ours.packets - 25);
  EXPECT_EQ(ServerSum(json, "udp", /*server_sender=*/false, "lost_packets"), 0);
  EXPECT_EQ(outcome_.remote->streams[0].packets, server_packets);
}

TEST_F(Iperf3ClientTest, UdpDefaultsTo1MbitPerSecond) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.udp = true;
  spec.params.length = 1000;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  // 1048576 bit/s of 1000-byte datagrams: 131 in a second.
  EXPECT_NEAR(outcome_.local.streams[0].packets, 132, 3);
}

TEST_F(Iperf3ClientTest, UdpReverseReceivesEveryDatagram) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.udp = true;
  spec.params.reverse = true;
  spec.params.bandwidth = 10'000'000;
  spec.params.length = 1000;
  Run(spec);
  ASSERT_THAT(outcome_.status, IsOk());
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
  const double sent = ServerSum(json, "udp", /*server_sender=*/true, "packets");
  EXPECT_GT(sent, 1000);
  const StreamResult& ours = outcome_.local.streams[0];
  EXPECT_EQ(ours.packets, sent);
  EXPECT_EQ(ours.errors, 0);
  EXPECT_EQ(ours.bytes, static_cast<uint64_t>(sent) * 1000);
}

TEST_F(Iperf3ClientTest, ABusyServerSaysSo) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  // While the first test runs, a second session is turned away.
  std::unique_ptr<ClientSession> second;
  absl::Notification second_done;
  ClientSession::Outcome second_outcome;
  StartSession(Spec(server.address()), [&] {
    ClientSession::Callbacks callbacks;
    callbacks.on_done = [&](ClientSession::Outcome outcome) {
      second_outcome = std::move(outcome);
      second_done.Notify();
    };
    second =
        std::make_unique<ClientSession>(loop_.get(), Spec(server.address()), callbacks);
    second->Start();
  });
  ASSERT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(second_outcome.status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("the server is busy")));
  EXPECT_FALSE(second_outcome.ran);
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(outcome_.status, IsOk());
  RunOnLoop([&] { second.reset(); });
  Struct json;
  ASSERT_NO_FATAL_FAILURE(server.Finish(&json));
}

TEST_F(Iperf3ClientTest, AServerKilledMidTestEndsWithWhatWasMeasured) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.time_seconds = 10;
  absl::Notification running;
  StartSession(spec, [&] { running.Notify(); });
  ASSERT_TRUE(running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Once data moves (the streams' counters, read on the loop).
  const absl::Duration deadline = MonotonicNow() + absl::Seconds(5);
  uint64_t moved = 0;
  while (moved == 0 && MonotonicNow() < deadline) {
    RunOnLoop([&] { moved = session_->streams()[0]->counters().total_bytes; });
  }
  ASSERT_GT(moved, 0u);
  server.Kill();
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(5)));
  RunOnLoop([] {});
  EXPECT_THAT(outcome_.status, StatusIs(absl::StatusCode::kUnavailable,
                                        HasSubstr("the server went away")));
  EXPECT_TRUE(outcome_.ran);
  EXPECT_GT(outcome_.local.streams[0].bytes, 0u);
  EXPECT_FALSE(outcome_.remote.has_value());
}

// A listening socket on 127.0.0.1 that is not iperf3.
class ForeignServer {
 public:
  // `reply`: written to whoever connects; empty: accept and say nothing.
  explicit ForeignServer(std::string reply) : reply_(std::move(reply)) {
    listener_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener_.get(), 4);
    socklen_t length = sizeof(addr);
    getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) return;
      if (!reply_.empty()) (void)!write(conn.get(), reply_.data(), reply_.size());
      stop_.WaitForNotification();
    });
  }
  ~ForeignServer() {
    stop_.Notify();
    shutdown(listener_.get(), SHUT_RDWR);  // wakes an accept() still waiting
    thread_.join();
  }
  SocketAddress address() const {
    return *SocketAddress::FromLiteral("127.0.0.1", port_);
  }

 private:
  std::string reply_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  absl::Notification stop_;
  std::thread thread_;
};

TEST_F(Iperf3ClientTest, AServerThatWritesTextIsNotIperf3) {
  ForeignServer http("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  const absl::Duration start = MonotonicNow();
  Run(Spec(http.address()), absl::Seconds(5));
  EXPECT_LT(MonotonicNow() - start, absl::Seconds(2));
  EXPECT_THAT(outcome_.status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not an iperf3 server (it sent \"HTTP/1.1 400")));
  EXPECT_FALSE(outcome_.ran);
  EXPECT_EQ(running_, 0);
}

TEST_F(Iperf3ClientTest, AServerErrorIsReported) {
  // PARAM_EXCHANGE, then SERVER_ERROR with iperf3's error number (116) and
  // the errno (2), each 32-bit big-endian.
  ForeignServer failing(std::string("\x09\xfe\x00\x00\x00\x74\x00\x00\x00\x02", 10));
  Run(Spec(failing.address()), absl::Seconds(5));
  EXPECT_THAT(
      outcome_.status,
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr("the server reported an error (SERVER_ERROR: iperf3 error "
                         "116, ENOENT) before the test started")));
  EXPECT_FALSE(outcome_.ran);
}

TEST_F(Iperf3ClientTest, ASilentServerEndsWithinTheStallTimeout) {
  ForeignServer silent("");
  ClientSpec spec = Spec(silent.address());
  spec.stall_timeout = absl::Milliseconds(500);
  const absl::Duration start = MonotonicNow();
  Run(spec, absl::Seconds(5));
  EXPECT_LT(MonotonicNow() - start, absl::Milliseconds(1500));
  EXPECT_THAT(outcome_.status,
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("accepted the connection but said nothing")));
  EXPECT_FALSE(outcome_.ran);
}

TEST_F(Iperf3ClientTest, AClosedPortIsRefused) {
  ClientSpec spec = Spec(*SocketAddress::FromLiteral(
      "127.0.0.1", ::netprobe::testing::ClosedLoopbackPort()));
  Run(spec, absl::Seconds(5));
  EXPECT_THAT(outcome_.status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ECONNREFUSED")));
}

TEST_F(Iperf3ClientTest, CancelClosesEverythingAtOnce) {
  Iperf3Server server;
  ASSERT_NO_FATAL_FAILURE(server.Start());
  ClientSpec spec = Spec(server.address());
  spec.params.time_seconds = 10;
  spec.params.parallel = 2;
  absl::Notification running;
  StartSession(spec, [&] { running.Notify(); });
  ASSERT_TRUE(running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  size_t watched = 1, timers = 1;
  RunOnLoop([&] {
    session_->Cancel();
    watched = loop_->watched_fd_count();
    timers = loop_->pending_timer_count();
  });
  EXPECT_EQ(watched, 0u);
  EXPECT_EQ(timers, 0u);
  RunOnLoop([] {});
  EXPECT_EQ(done_count_, 0);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
