// TcpConnectProbe on a fake clock with scripted sockets: every outcome an
// attempt can have, RTTs from the clock, pacing under concurrency and
// backpressure, and the ends (complete, shutdown with a full sink, cancel).
// No root, no network: the fake sockets are eventfds the loop watches.
#include <errno.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/net/socket_opener.h"
#include "agent/net/unique_fd.h"
#include "agent/probes/tcp_connect_probe.h"
#include "common/proto_time.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/recording_sink.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::FakeClock;
using ::netprobe::testing::IsOk;
using ::netprobe::testing::RecordingSink;
using ::netprobe::testing::RunFor;
using ::testing::ElementsAre;

// What each fake socket's connect() does.
struct Script {
  int connect_errno = EINPROGRESS;
  // The handshake is over when connect() returns (loopback, a local
  // refusal): writable at once, SO_ERROR reads `pending_error`.
  bool over_at_once = false;
  int pending_error = 0;
  std::string banner;  // what Receive() hands out, then the peer closes
};

Script ConnectFails(int err) {
  Script script;
  script.connect_errno = err;
  return script;
}
Script OverAtOnce(int pending_error) {
  Script script;
  script.over_at_once = true;
  script.pending_error = pending_error;
  return script;
}
Script WithBanner(std::string banner) {
  Script script;
  script.banner = std::move(banner);
  return script;
}

class FakeTcpOpener;

// A TCP socket whose fd is an eventfd: its counter is held at the maximum
// (not writable) until Complete() empties it, so the loop sees the handshake
// end exactly when the test says.
class FakeTcpSocket final : public TcpSocket {
 public:
  FakeTcpSocket(FakeTcpOpener* opener, Script script, uint16_t local_port);
  ~FakeTcpSocket() override;

  int fd() const override { return fd_.get(); }
  int Connect(const SocketAddress& peer) override {
    peer_ = peer;
    if (script_.over_at_once) pending_error_ = script_.pending_error;
    return script_.connect_errno;
  }
  bool WritableNow() const override {
    pollfd pfd{fd_.get(), POLLOUT, 0};
    return poll(&pfd, 1, 0) == 1;
  }
  int PendingError() override { return pending_error_; }
  absl::StatusOr<SocketAddress> LocalAddress() const override {
    return *SocketAddress::FromLiteral("127.0.0.1", local_port_);
  }
  absl::StatusOr<Info> TcpInfo() const override {
    tcp_info info{};
    info.tcpi_state = TCP_ESTABLISHED;
    info.tcpi_rtt = 1500;  // us
    Info out;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&info);
    out.tcp_info.assign(bytes, bytes + sizeof(info));
    out.congestion = "cubic";
    return out;
  }
  int Send(absl::string_view data, size_t* sent) override {
    sent_.append(data.data(), data.size());
    *sent = data.size();
    return 0;
  }
  int Receive(char* buffer, size_t size, size_t* received) override {
    *received = std::min(size, script_.banner.size() - banner_read_);
    script_.banner.copy(buffer, *received, banner_read_);
    banner_read_ += *received;
    return 0;
  }

  // Ends the handshake: the socket turns writable, SO_ERROR reads `err`.
  void Complete(int err) {
    pending_error_ = err;
    uint64_t counter;
    ASSERT_EQ(read(fd_.get(), &counter, sizeof(counter)), 8);
  }
  const SocketAddress& peer() const { return peer_; }
  const std::string& sent() const { return sent_; }

 private:
  FakeTcpOpener* const opener_;
  Script script_;
  const uint16_t local_port_;
  UniqueFd fd_;
  SocketAddress peer_;
  int pending_error_ = 0;
  std::string sent_;
  size_t banner_read_ = 0;
};

class FakeTcpOpener final : public SocketOpener {
 public:
  absl::StatusOr<std::unique_ptr<TcpSocket>> OpenTcp(int, const SocketSetup&,
                                                     TcpSocket::Close close) override {
    closes_.push_back(close);
    if (!open_error_.ok()) return open_error_;
    ++opened_;
    auto socket = std::make_unique<FakeTcpSocket>(this, script_,
                                                  static_cast<uint16_t>(40000 + opened_));
    live_.push_back(socket.get());
    max_open_ = std::max(max_open_, live_.size());
    return socket;
  }

  void set_script(Script script) { script_ = std::move(script); }
  void set_open_error(absl::Status status) { open_error_ = std::move(status); }
  void Closed(FakeTcpSocket* socket) {
    std::erase(live_, socket);
    payloads_.push_back(socket->sent());
  }

  // Sockets open now, oldest first.
  const std::vector<FakeTcpSocket*>& live() const { return live_; }
  size_t opened() const { return opened_; }
  size_t max_open() const { return max_open_; }
  const std::vector<TcpSocket::Close>& closes() const { return closes_; }
  // What each closed socket was given to send, in closing order.
  const std::vector<std::string>& payloads() const { return payloads_; }

 private:
  Script script_;
  absl::Status open_error_;
  std::vector<FakeTcpSocket*> live_;
  std::vector<TcpSocket::Close> closes_;
  std::vector<std::string> payloads_;
  size_t opened_ = 0;
  size_t max_open_ = 0;
};

FakeTcpSocket::FakeTcpSocket(FakeTcpOpener* opener, Script script, uint16_t local_port)
    : opener_(opener),
      script_(std::move(script)),
      local_port_(local_port),
      fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  EXPECT_TRUE(fd_.valid());
  if (!script_.over_at_once) {
    // At the counter's maximum an eventfd is not writable.
    const uint64_t full = 0xfffffffffffffffe;
    EXPECT_EQ(write(fd_.get(), &full, sizeof(full)), 8);
  }
}

FakeTcpSocket::~FakeTcpSocket() { opener_->Closed(this); }

absl::Duration AsDuration(const google::protobuf::Duration& d) { return FromProto(d); }

class TcpConnectProbeUnitTest : public ::testing::Test {
 protected:
  using Sink = RecordingSink<v1::TcpConnectEvent>;

  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    start_wall_ = clock_.Wall();
  }

  // `targets` targets 198.18.0.1:80, .2, ...
  static TcpConnectPlan Plan(size_t targets, uint32_t count) {
    TcpConnectPlan plan;
    for (size_t i = 0; i < targets; ++i) {
      plan.targets.push_back(HostPort{absl::StrCat("198.18.0.", i + 1), 80});
    }
    plan.count = count;
    plan.interval = absl::Seconds(1);
    plan.timeout = absl::Seconds(3);
    plan.concurrency = 10;
    return plan;
  }

  void Launch(TcpConnectPlan plan) {
    plan_ = plan;
    probe_ = std::make_unique<TcpConnectProbe>(std::move(plan), loop_.get(), work_, sink_,
                                               [this] { ++done_calls_; });
    probe_->Start();
  }

  std::vector<v1::TcpAttempt> Attempts() const {
    std::vector<v1::TcpAttempt> out;
    for (const auto& event : sink_->events()) {
      if (event.has_attempt()) out.push_back(event.attempt());
    }
    return out;
  }
  size_t Summaries() const {
    return sink_->Count([](const v1::TcpConnectEvent& e) { return e.has_summary(); });
  }
  // The probe ended on its own: every attempt, one summary per target, OK.
  void ExpectCompleteOk(size_t attempts) {
    ASSERT_TRUE(sink_->finished());
    EXPECT_THAT(sink_->status(), IsOk());
    EXPECT_EQ(Attempts().size(), attempts);
    EXPECT_EQ(Summaries(), plan_.targets.size());
    EXPECT_EQ(sink_->events().size(), attempts + plan_.targets.size());
    EXPECT_EQ(sink_->finishes(), 1);
    EXPECT_EQ(sink_->dropped(), 0u);
    EXPECT_EQ(done_calls_, 1);
    EXPECT_TRUE(opener_.live().empty()) << "sockets left open";
    EXPECT_EQ(loop_->watched_fd_count(), 0u);
    EXPECT_EQ(loop_->pending_timer_count(), 0u);
  }

  FakeClock clock_;
  FakeTcpOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  std::shared_ptr<Sink> sink_ = std::make_shared<Sink>();
  TcpConnectPlan plan_;
  std::unique_ptr<TcpConnectProbe> probe_;
  int done_calls_ = 0;
  absl::Time start_wall_;
};

TEST_F(TcpConnectProbeUnitTest, RefusedAtConnectIsAResultPerAttempt) {
  opener_.set_script(ConnectFails(ECONNREFUSED));
  Launch(Plan(1, 3));
  RunFor(*loop_, clock_, absl::Seconds(5));
  ExpectCompleteOk(3);
  const auto attempts = Attempts();
  for (uint32_t i = 0; i < 3; ++i) {
    const v1::TcpAttempt& a = attempts[i];
    EXPECT_EQ(a.sequence(), i + 1);
    EXPECT_EQ(a.result().outcome(), v1::OUTCOME_REFUSED);
    EXPECT_EQ(a.result().error(), "ECONNREFUSED");
    EXPECT_EQ(a.target().host(), "198.18.0.1");
    EXPECT_EQ(a.target().address(), "198.18.0.1");
    EXPECT_EQ(a.target().port(), 80u);
    EXPECT_EQ(a.target().family(), v1::ADDRESS_FAMILY_IPV4);
    // One per interval, from the probe's start, on the fake wall clock.
    EXPECT_EQ(FromProto(a.time()), start_wall_ + absl::Seconds(i));
  }
  const v1::TargetSummary& summary = sink_->events().back().summary();
  EXPECT_EQ(summary.sent(), 3u);
  EXPECT_EQ(summary.received(), 0u);
  EXPECT_EQ(summary.errors(), 3u);
  EXPECT_EQ(summary.outcomes().at("OUTCOME_REFUSED"), 3u);
  // Every socket is reset on close unless the plan asks for a graceful one.
  EXPECT_THAT(opener_.closes(),
              ElementsAre(TcpSocket::Close::kReset, TcpSocket::Close::kReset,
                          TcpSocket::Close::kReset));
}

TEST_F(TcpConnectProbeUnitTest, RefusedViaSoErrorTimesTheHandshakeOnTheFakeClock) {
  Launch(Plan(1, 1));
  ASSERT_EQ(opener_.live().size(), 1u);
  EXPECT_EQ(opener_.live()[0]->peer().ToString(), "198.18.0.1:80");
  RunFor(*loop_, clock_, absl::Milliseconds(2));
  EXPECT_TRUE(Attempts().empty());
  opener_.live()[0]->Complete(ECONNREFUSED);
  loop_->RunOnce();
  ExpectCompleteOk(1);
  const v1::TcpAttempt a = Attempts()[0];
  EXPECT_EQ(a.result().outcome(), v1::OUTCOME_REFUSED);
  EXPECT_EQ(a.result().error(), "ECONNREFUSED");
  EXPECT_EQ(AsDuration(a.connect_time()), absl::Milliseconds(2));
  EXPECT_TRUE(a.local_address().empty()) << "refused: no local address reported";
}

TEST_F(TcpConnectProbeUnitTest, HandshakeOverWhenConnectReturnsNeedsNoEpollRoundTrip) {
  opener_.set_script(OverAtOnce(ECONNREFUSED));
  Launch(Plan(1, 1));
  // Finished inside Start(), before the loop ran at all.
  ExpectCompleteOk(1);
  EXPECT_EQ(Attempts()[0].result().outcome(), v1::OUTCOME_REFUSED);
  EXPECT_EQ(AsDuration(Attempts()[0].connect_time()), absl::ZeroDuration());
}

TEST_F(TcpConnectProbeUnitTest, NoAnswerTimesOutAfterExactlyThePlanTimeout) {
  Launch(Plan(1, 1));
  RunFor(*loop_, clock_, absl::Seconds(3) - absl::Nanoseconds(1));
  EXPECT_TRUE(sink_->events().empty()) << "timed out early";
  EXPECT_EQ(opener_.live().size(), 1u);
  RunFor(*loop_, clock_, absl::Nanoseconds(1));
  ExpectCompleteOk(1);
  const v1::TcpAttempt a = Attempts()[0];
  EXPECT_EQ(a.result().outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(a.result().detail(), "no answer within 3s");
  EXPECT_EQ(AsDuration(a.connect_time()), absl::Seconds(3));
  const v1::TargetSummary& summary = sink_->events().back().summary();
  EXPECT_EQ(summary.sent(), 1u);
  EXPECT_EQ(summary.received(), 0u);
  EXPECT_EQ(summary.loss_percent(), 100.0);
  EXPECT_EQ(summary.errors(), 0u) << "a timeout is loss, not an error";
}

TEST_F(TcpConnectProbeUnitTest, EpermAtConnectIsAFirewallResultNotAnRpcError) {
  opener_.set_script(ConnectFails(EPERM));
  Launch(Plan(2, 2));
  RunFor(*loop_, clock_, absl::Seconds(5));
  ExpectCompleteOk(4);
  for (const v1::TcpAttempt& a : Attempts()) {
    EXPECT_EQ(a.result().outcome(), v1::OUTCOME_PROHIBITED);
    EXPECT_EQ(a.result().error(), "EPERM");
  }
}

TEST_F(TcpConnectProbeUnitTest, SuccessReportsTheRttFromTheFakeClockAndTheSocket) {
  TcpConnectPlan plan = Plan(1, 1);
  plan.tcp_info = true;
  Launch(plan);
  RunFor(*loop_, clock_, absl::Milliseconds(7));
  opener_.live()[0]->Complete(0);
  loop_->RunOnce();
  ExpectCompleteOk(1);
  const v1::TcpAttempt a = Attempts()[0];
  EXPECT_EQ(a.result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(AsDuration(a.connect_time()), absl::Milliseconds(7));
  EXPECT_EQ(a.local_address(), "127.0.0.1");
  EXPECT_EQ(a.local_port(), 40001u);
  EXPECT_EQ(AsDuration(a.tcp_info().rtt()), absl::Microseconds(1500));
  EXPECT_EQ(a.tcp_info().congestion(), "cubic");
  EXPECT_EQ(FromProto(a.time()), clock_.Wall() - absl::Milliseconds(7));
  const v1::TargetSummary& summary = sink_->events().back().summary();
  EXPECT_EQ(summary.received(), 1u);
  EXPECT_EQ(AsDuration(summary.rtt().min()), absl::Milliseconds(7));
}

TEST_F(TcpConnectProbeUnitTest, SendsThePayloadAndReadsAtMostReadBytesOfTheBanner) {
  opener_.set_script(WithBanner("SSH-2.0-OpenSSH_9.2\r\n"));
  TcpConnectPlan plan = Plan(1, 1);
  plan.send_payload = "hello\n";
  plan.read_bytes = 7;
  plan.graceful_close = true;
  Launch(plan);
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  FakeTcpSocket* socket = opener_.live()[0];
  socket->Complete(0);
  loop_->RunOnce();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(Attempts()[0].banner(), "SSH-2.0");
  EXPECT_THAT(opener_.payloads(), ElementsAre("hello\n"));
  EXPECT_EQ(Attempts()[0].result().outcome(), v1::OUTCOME_OK);
  EXPECT_THAT(opener_.closes(), ElementsAre(TcpSocket::Close::kGraceful));
  ExpectCompleteOk(1);
}

TEST_F(TcpConnectProbeUnitTest, SocketCallFailureIsAnAttemptResultNamingTheErrno) {
  opener_.set_open_error(SocketCallError(EMFILE));
  Launch(Plan(1, 1));
  ExpectCompleteOk(1);
  EXPECT_EQ(Attempts()[0].result().outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(Attempts()[0].result().error(), "EMFILE");
}

TEST_F(TcpConnectProbeUnitTest, SocketOptionFailureIsAnAttemptResultWithItsMessage) {
  opener_.set_open_error(absl::PermissionDeniedError("setsockopt(SO_MARK): EPERM"));
  Launch(Plan(1, 1));
  ExpectCompleteOk(1);
  EXPECT_EQ(Attempts()[0].result().outcome(), v1::OUTCOME_ERROR);
  EXPECT_EQ(Attempts()[0].result().detail(), "setsockopt(SO_MARK): EPERM");
}

TEST_F(TcpConnectProbeUnitTest,
       PausesWhileTheSinkIsFullAndResumesAfterDrainLosingNothing) {
  opener_.set_script(ConnectFails(ECONNREFUSED));
  TcpConnectPlan plan = Plan(1, 50);
  plan.interval = absl::ZeroDuration();
  plan.concurrency = 4;
  sink_->set_capacity(5, 5 + TcpConnectProbe::MaxEventsBeyondHighWater(plan));
  Launch(plan);
  RunFor(*loop_, clock_, absl::Seconds(10));
  EXPECT_EQ(opener_.opened(), 5u) << "connected while the sink was full";
  EXPECT_EQ(sink_->events().size(), 5u);
  EXPECT_TRUE(sink_->resume_pending());
  EXPECT_FALSE(sink_->finished());
  for (int round = 0; round < 20 && !sink_->finished(); ++round) {
    const size_t before = opener_.opened();
    sink_->Drain();
    RunFor(*loop_, clock_, absl::Seconds(1));
    EXPECT_LE(opener_.opened(), before + 5);
  }
  ExpectCompleteOk(50);
  const auto attempts = Attempts();
  for (uint32_t i = 0; i < 50; ++i) EXPECT_EQ(attempts[i].sequence(), i + 1);
  EXPECT_EQ(sink_->events().back().summary().sent(), 50u);
}

TEST_F(TcpConnectProbeUnitTest, AttemptsInFlightWhenTheSinkFillsFitTheDeclaredBound) {
  TcpConnectPlan plan = Plan(1, 12);
  plan.interval = absl::ZeroDuration();
  plan.concurrency = 4;
  // Nothing may be dropped beyond high water + MaxEventsBeyondHighWater.
  sink_->set_capacity(2, 2 + TcpConnectProbe::MaxEventsBeyondHighWater(plan));
  Launch(plan);
  EXPECT_EQ(opener_.live().size(), 4u);
  RunFor(*loop_, clock_, absl::Seconds(10));
  // The four time out together: the first leaves room for one more start
  // below high water, the rest (and later that one) land beyond it, and then
  // the probe waits.
  EXPECT_EQ(Attempts().size(), 5u);
  EXPECT_EQ(opener_.opened(), 5u);
  EXPECT_TRUE(sink_->resume_pending());
  EXPECT_EQ(sink_->dropped(), 0u);
  for (int round = 0; round < 20 && !sink_->finished(); ++round) {
    sink_->Drain();
    RunFor(*loop_, clock_, absl::Seconds(10));
  }
  ExpectCompleteOk(12);
}

TEST_F(TcpConnectProbeUnitTest, NeverMoreThanConcurrencyInFlight) {
  TcpConnectPlan plan = Plan(3, 4);
  plan.interval = absl::ZeroDuration();
  plan.concurrency = 2;
  Launch(plan);
  EXPECT_EQ(opener_.live().size(), 2u);
  // Complete some early and let others time out: room is refilled, never exceeded.
  for (int round = 0; round < 20 && !sink_->finished(); ++round) {
    RunFor(*loop_, clock_, absl::Milliseconds(5));
    if (!opener_.live().empty()) opener_.live()[0]->Complete(0);
    RunFor(*loop_, clock_, absl::Seconds(3));
  }
  ExpectCompleteOk(12);
  EXPECT_EQ(opener_.max_open(), 2u);
  EXPECT_EQ(opener_.opened(), 12u);
  std::vector<uint32_t> per_target(3, 0);
  for (const v1::TcpAttempt& a : Attempts()) {
    ++per_target[a.target().host().back() - '1'];
  }
  EXPECT_THAT(per_target, ElementsAre(4u, 4u, 4u));
}

TEST_F(TcpConnectProbeUnitTest, AgentShutdownWithTheSinkFullDeliversEndAndEverySummary) {
  opener_.set_script(ConnectFails(ECONNREFUSED));
  TcpConnectPlan plan = Plan(2, 100);
  plan.interval = absl::Milliseconds(10);
  // The queue is at its hard limit too: Emit() would drop; Finish() may not.
  sink_->set_capacity(3, 3);
  Launch(plan);
  RunFor(*loop_, clock_, absl::Seconds(1));
  ASSERT_EQ(sink_->events().size(), 3u);
  ASSERT_FALSE(sink_->Writable());
  probe_->Stop(StopReason::kAgentShutdown);
  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), IsOk());
  EXPECT_EQ(sink_->closing(), 3u);
  const auto& events = sink_->events();
  ASSERT_EQ(events.size(), 6u);
  ASSERT_TRUE(events[3].has_end());
  EXPECT_EQ(events[3].end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  EXPECT_EQ(
      events[3].end().detail(),
      "the agent is shutting down; attempts in flight are counted as sent and lost");
  EXPECT_EQ(FromProto(events[3].end().time()), clock_.Wall());
  ASSERT_TRUE(events[4].has_summary());
  ASSERT_TRUE(events[5].has_summary());
  EXPECT_EQ(events[4].summary().target().host(), "198.18.0.1");
  EXPECT_EQ(events[5].summary().target().host(), "198.18.0.2");
  EXPECT_EQ(events[4].summary().sent() + events[5].summary().sent(), 3u);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_TRUE(opener_.live().empty());
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  probe_->Stop(StopReason::kAgentShutdown);
  EXPECT_EQ(sink_->finishes(), 1);
}

TEST_F(TcpConnectProbeUnitTest, CancelEmitsNothingMoreAndClosesEverySocket) {
  Launch(Plan(3, 5));
  RunFor(*loop_, clock_, absl::Milliseconds(500));
  ASSERT_EQ(opener_.live().size(), 3u);
  ASSERT_GT(loop_->watched_fd_count(), 0u);
  probe_->Stop(StopReason::kClientCancelled);
  probe_->Stop(StopReason::kClientCancelled);  // idempotent
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_TRUE(opener_.live().empty()) << "sockets left open";
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  RunFor(*loop_, clock_, absl::Seconds(30));
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_EQ(opener_.opened(), 3u);
  EXPECT_EQ(sink_->finishes(), 1);
  EXPECT_EQ(done_calls_, 1);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
