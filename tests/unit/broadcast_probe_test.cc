#include "agent/probes/broadcast_probe.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/proto_time.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/recording_sink.h"
#include "tests/test_support/scripted_udp.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::RecordingSink;
using testing::RunFor;
using testing::ScriptedUdp;
using testing::ScriptedUdpOpener;
using testing::StatusIs;
using Event = v1::BroadcastEvent;

constexpr uint16_t kLocalPort = 40000;
constexpr uint16_t kPort = 9999;

SocketAddress Addr(const char* ip, uint16_t port) {
  return *SocketAddress::FromLiteral(ip, port);
}

ReceiveMeta At(absl::Time t, int ttl = 64) {
  ReceiveMeta meta;
  meta.kernel_time = t;
  meta.hop_limit = ttl;
  return meta;
}

class BroadcastProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    plan_.interface = "veth0";
    plan_.destination = Addr("192.0.2.255", kPort);
    const std::string payload = "netprobe broadcast";
    plan_.payload.assign(payload.begin(), payload.end());
    plan_.window = absl::Seconds(2);
    plan_.setup.interface = "veth0";
    plan_.local_addresses = {"192.0.2.100"};
    socket_ = opener_.Prepare();
    socket_->local = Addr("0.0.0.0", kLocalPort);
  }

  void Start() {
    probe_ =
        std::make_unique<BroadcastProbe>(plan_, loop_.get(), sink_, [this] { ++done_; });
    probe_->Start();
  }

  // The TX timestamp of our datagram, as the kernel queues it once it left.
  void QueueTxTimestamp(absl::Time t) {
    ErrorQueueEntry entry;
    entry.kind = ErrorQueueEntry::Kind::kTxTimestamp;
    entry.tx_id = 0;
    entry.time = t;
    socket_->QueueError(entry);
  }

  const v1::BroadcastSummary& Summary() const {
    EXPECT_TRUE(sink_->events().back().has_summary());
    return sink_->events().back().summary();
  }

  FakeClock clock_;
  ScriptedUdpOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<RecordingSink<Event>> sink_ = std::make_shared<RecordingSink<Event>>();
  BroadcastPlan plan_;
  std::shared_ptr<ScriptedUdp> socket_;
  std::unique_ptr<BroadcastProbe> probe_;
  int done_ = 0;
};

TEST_F(BroadcastProbeTest, EveryAnswerWithinTheWindowIsReportedOnceWithItsRtt) {
  Start();
  ASSERT_EQ(opener_.opened().size(), 1u);
  EXPECT_EQ(opener_.opened()[0].kind, ScriptedUdpOpener::Kind::kBroadcast);
  EXPECT_EQ(opener_.opened()[0].setup.interface, "veth0");
  ASSERT_EQ(socket_->sent.size(), 1u);
  EXPECT_EQ(socket_->sent[0].to->ToString(), plan_.destination.ToString());
  const absl::Time sent_at = clock_.Wall();
  QueueTxTimestamp(sent_at + absl::Microseconds(30));

  RunFor(*loop_, clock_, absl::Milliseconds(5));
  socket_->Deliver(Addr("192.0.2.1", kPort), "netprobe broadcast", At(clock_.Wall(), 64));
  // The kernel's loopback copy of our own datagram is no answer.
  socket_->Deliver(Addr("192.0.2.100", kLocalPort), "netprobe broadcast",
                   At(clock_.Wall()));
  RunFor(*loop_, clock_, absl::Milliseconds(5));
  socket_->Deliver(Addr("192.0.2.2", 5353), "someone else", At(clock_.Wall(), 255));
  socket_->Deliver(Addr("192.0.2.3", kPort), "netprobe broadcast", At(clock_.Wall()));
  RunFor(*loop_, clock_, absl::Milliseconds(990));
  // A second answer from .1 is its own reply; it is still one responder.
  socket_->Deliver(Addr("192.0.2.1", kPort), "netprobe broadcast", At(clock_.Wall()));
  RunFor(*loop_, clock_, absl::Seconds(2));

  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), testing::IsOk());
  EXPECT_EQ(done_, 1);
  const auto& events = sink_->events();
  ASSERT_EQ(events.size(), 6u);
  ASSERT_TRUE(events[0].has_sent());
  const v1::BroadcastSent& sent = events[0].sent();
  EXPECT_EQ(sent.interface(), "veth0");
  EXPECT_EQ(sent.destination().address(), "192.0.2.255");
  EXPECT_EQ(sent.destination().port(), kPort);
  EXPECT_EQ(sent.local_port(), kLocalPort);
  EXPECT_EQ(sent.bytes(), plan_.payload.size());
  EXPECT_EQ(FromProto(sent.window()), absl::Seconds(2));
  EXPECT_EQ(sent.result().outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(FromProto(sent.time()), sent_at);

  const char* responders[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(events[1 + i].has_reply()) << i;
    EXPECT_EQ(events[1 + i].reply().responder().address(), responders[i]) << i;
  }
  const v1::BroadcastReply& first = events[1].reply();
  EXPECT_EQ(FromProto(first.rtt()), absl::Milliseconds(5) - absl::Microseconds(30));
  EXPECT_EQ(first.ttl(), 64u);
  EXPECT_TRUE(first.echo());
  EXPECT_EQ(first.payload(), "netprobe broadcast");
  const v1::BroadcastReply& other = events[2].reply();
  EXPECT_EQ(other.responder().port(), 5353u);
  EXPECT_FALSE(other.echo());
  EXPECT_EQ(other.ttl(), 255u);
  EXPECT_EQ(other.bytes(), 12u);

  EXPECT_EQ(Summary().replies(), 4u);
  EXPECT_EQ(Summary().distinct_responders(), 3u);
  EXPECT_FALSE(socket_->open);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(BroadcastProbeTest, TheWindowEndsExactlyOnTheClock) {
  Start();
  RunFor(*loop_, clock_, absl::Seconds(2) - absl::Nanoseconds(1));
  EXPECT_FALSE(sink_->finished());
  // Queued just before the deadline: read at the deadline, still counted.
  socket_->Deliver(Addr("192.0.2.7", kPort), "late but in time");
  clock_.Advance(absl::Nanoseconds(1));
  loop_->RunOnce();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(Summary().replies(), 1u);
  EXPECT_EQ(sink_->events()[1].reply().responder().address(), "192.0.2.7");
  // Without a kernel timestamp, the reply's time is the clock's.
  EXPECT_EQ(FromProto(sink_->events()[1].reply().time()), clock_.Wall());
  EXPECT_FALSE(socket_->open);
}

TEST_F(BroadcastProbeTest, ICMPErrorsAreCountedAndEndNothing) {
  Start();
  ErrorQueueEntry icmp;
  icmp.kind = ErrorQueueEntry::Kind::kIcmpError;
  icmp.icmp_type = 3;
  icmp.icmp_code = 3;
  socket_->QueueError(icmp);
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_FALSE(sink_->finished());
  RunFor(*loop_, clock_, absl::Seconds(1));
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(Summary().icmp_errors(), 1u);
  EXPECT_EQ(Summary().replies(), 0u);
}

TEST_F(BroadcastProbeTest, ASendTheKernelRefusesIsAResultAndEndsAtOnce) {
  for (auto [err, outcome] : {std::pair{EACCES, v1::OUTCOME_PROHIBITED},
                              std::pair{ENETUNREACH, v1::OUTCOME_NET_UNREACHABLE}}) {
    SCOPED_TRACE(err);
    sink_ = std::make_shared<RecordingSink<Event>>();
    done_ = 0;
    if (!opener_.opened().empty()) socket_ = opener_.Prepare();
    socket_->send_results = {err};
    Start();
    ASSERT_TRUE(sink_->finished());
    EXPECT_THAT(sink_->status(), testing::IsOk());
    EXPECT_EQ(done_, 1);
    ASSERT_EQ(sink_->events().size(), 2u);
    EXPECT_EQ(sink_->events()[0].sent().result().outcome(), outcome);
    EXPECT_EQ(Summary().replies(), 0u);
    EXPECT_FALSE(socket_->open);
    EXPECT_EQ(loop_->pending_timer_count(), 0u);
    EXPECT_EQ(loop_->watched_fd_count(), 0u);
  }
}

TEST_F(BroadcastProbeTest, ASocketThatCannotOpenFailsTheRequest) {
  opener_.fail_next = absl::PermissionDeniedError("socket(UDP): EPERM");
  Start();
  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_EQ(done_, 1);
}

TEST_F(BroadcastProbeTest, AWindowEndingOnAFullQueueDeliversTheSummaryAtOnce) {
  sink_->set_capacity(1, 1);
  Start();
  socket_->Deliver(Addr("192.0.2.1", kPort), "a");
  socket_->Deliver(Addr("192.0.2.2", kPort), "b");
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_TRUE(sink_->finished()) << "no wait for room: the summary's is reserved";
  EXPECT_EQ(sink_->dropped(), 2u);
  ASSERT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(Summary().replies(), 2u);
  EXPECT_EQ(Summary().distinct_responders(), 2u);
}

TEST_F(BroadcastProbeTest, AgentShutdownOnAFullQueueStillDeliversEndAndSummary) {
  sink_->set_capacity(2, 2);  // the sent event and one reply fit
  Start();
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}) {
    socket_->Deliver(Addr(ip, kPort), "x");
  }
  RunFor(*loop_, clock_, absl::Milliseconds(500));
  EXPECT_FALSE(sink_->Writable());
  EXPECT_EQ(sink_->dropped(), 3u);
  probe_->Stop(StopReason::kAgentShutdown);

  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), testing::IsOk());
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(sink_->closing(), 2u);
  const auto& events = sink_->events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[0].has_sent());
  EXPECT_TRUE(events[1].has_reply());
  ASSERT_TRUE(events[2].has_end());
  EXPECT_EQ(events[2].end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  EXPECT_EQ(events[2].end().detail(),
            "the agent is shutting down; the reply window was cut short");
  EXPECT_EQ(FromProto(events[2].end().time()), clock_.Wall());
  EXPECT_EQ(Summary().replies(), 4u);
  EXPECT_EQ(Summary().distinct_responders(), 4u);
  EXPECT_FALSE(socket_->open);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(BroadcastProbeTest, CancelEmitsNothingMoreAndClosesTheSocket) {
  Start();
  socket_->Deliver(Addr("192.0.2.1", kPort), "x");
  RunFor(*loop_, clock_, absl::Milliseconds(100));
  ASSERT_EQ(sink_->events().size(), 2u);
  probe_->Stop(StopReason::kClientCancelled);
  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(sink_->closing(), 0u);
  EXPECT_EQ(done_, 1);
  EXPECT_FALSE(socket_->open);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  probe_->Stop(StopReason::kAgentShutdown);
  RunFor(*loop_, clock_, absl::Seconds(3));
  EXPECT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(sink_->finishes(), 1);
  EXPECT_EQ(done_, 1);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
