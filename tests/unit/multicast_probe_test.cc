#include "agent/probes/multicast_probe.h"

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
using Event = v1::MulticastEvent;

constexpr uint16_t kPort = 5001;

SocketAddress Addr(const char* ip, uint16_t port) {
  return *SocketAddress::FromLiteral(ip, port);
}

class MulticastProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    plan_.group = Addr("233.252.0.1", kPort);
    plan_.interface = "veth0";
    plan_.interface_index = 7;
    plan_.duration = absl::Seconds(10);
    receiver_ = opener_.Prepare();
  }

  void Start() {
    probe_ =
        std::make_unique<MulticastProbe>(plan_, loop_.get(), sink_, [this] { ++done_; });
    probe_->Start();
  }

  // A datagram to the group from `ip`, received by the kernel now.
  void Deliver(const char* ip, std::string payload, int ttl = 32) {
    ReceiveMeta meta;
    meta.kernel_time = clock_.Wall();
    meta.hop_limit = ttl;
    meta.destination = plan_.group;
    receiver_->Deliver(Addr(ip, 4000), std::move(payload), meta);
  }

  const v1::MulticastSummary& Summary() const {
    EXPECT_TRUE(sink_->events().back().has_summary());
    return sink_->events().back().summary();
  }

  FakeClock clock_;
  ScriptedUdpOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<RecordingSink<Event>> sink_ = std::make_shared<RecordingSink<Event>>();
  MulticastPlan plan_;
  std::shared_ptr<ScriptedUdp> receiver_;
  std::unique_ptr<MulticastProbe> probe_;
  int done_ = 0;
};

TEST_F(MulticastProbeTest, DatagramsArrivingAreReportedAndTheDurationEndsIt) {
  plan_.source = Addr("192.0.2.10", 0);
  const absl::Time joined_at = clock_.Wall();
  Start();
  ASSERT_EQ(opener_.opened().size(), 1u);
  const ScriptedUdpOpener::Opened& opened = opener_.opened()[0];
  EXPECT_EQ(opened.kind, ScriptedUdpOpener::Kind::kMulticastReceiver);
  EXPECT_EQ(opened.group->ToString(), plan_.group.ToString());
  EXPECT_EQ(opened.interface_index, 7u);
  EXPECT_EQ(opened.source->ip(), "192.0.2.10");
  EXPECT_EQ(opened.setup.interface, "veth0");

  RunFor(*loop_, clock_, absl::Milliseconds(250));
  Deliver("192.0.2.10", "one", 5);
  RunFor(*loop_, clock_, absl::Seconds(1));
  Deliver("192.0.2.10", "two");
  Deliver("192.0.2.11", "three");
  RunFor(*loop_, clock_, absl::Seconds(8));
  receiver_->kernel_drops = 6;  // SO_MEMINFO at the end
  RunFor(*loop_, clock_,
         absl::Seconds(1) - absl::Milliseconds(250) - absl::Nanoseconds(1));
  EXPECT_FALSE(sink_->finished());
  RunFor(*loop_, clock_, absl::Nanoseconds(1));

  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), testing::IsOk());
  EXPECT_EQ(done_, 1);
  const auto& events = sink_->events();
  ASSERT_EQ(events.size(), 5u);
  ASSERT_TRUE(events[0].has_joined());
  EXPECT_EQ(events[0].joined().group(), "233.252.0.1");
  EXPECT_EQ(events[0].joined().port(), kPort);
  EXPECT_EQ(events[0].joined().interface(), "veth0");
  EXPECT_EQ(events[0].joined().source(), "192.0.2.10");
  EXPECT_EQ(FromProto(events[0].joined().time()), joined_at);
  const char* payloads[] = {"one", "two", "three"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(events[1 + i].has_datagram()) << i;
    EXPECT_EQ(events[1 + i].datagram().payload(), payloads[i]);
    EXPECT_EQ(events[1 + i].datagram().group(), "233.252.0.1");
  }
  const v1::MulticastDatagram& first = events[1].datagram();
  EXPECT_EQ(first.source().address(), "192.0.2.10");
  EXPECT_EQ(first.source().port(), 4000u);
  EXPECT_EQ(first.source().family(), v1::ADDRESS_FAMILY_IPV4);
  EXPECT_EQ(first.ttl(), 5u);
  EXPECT_EQ(first.bytes(), 3u);
  EXPECT_EQ(FromProto(first.time()), joined_at + absl::Milliseconds(250));

  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(Summary().distinct_sources(), 2u);
  EXPECT_EQ(Summary().sent(), 0u);
  EXPECT_EQ(Summary().kernel_drops(), 6u);
  EXPECT_EQ(FromProto(Summary().time_to_first()), absl::Milliseconds(250));
  EXPECT_FALSE(receiver_->open) << "the group is left when the socket closes";
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(MulticastProbeTest, TheCountEndsItAndNothingArrivedHasNoTimeToFirst) {
  plan_.count = 2;
  Start();
  RunFor(*loop_, clock_, absl::Seconds(1));
  EXPECT_FALSE(sink_->finished());
  Deliver("192.0.2.1", "a");
  Deliver("192.0.2.1", "b");
  Deliver("192.0.2.1", "c");
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(Summary().received(), 2u);
  EXPECT_EQ(sink_->Count([](const Event& e) { return e.has_datagram(); }), 2u);
  EXPECT_FALSE(receiver_->open);

  sink_ = std::make_shared<RecordingSink<Event>>();
  receiver_ = opener_.Prepare();
  plan_.count = 0;
  Start();
  RunFor(*loop_, clock_, absl::Seconds(10));
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(Summary().received(), 0u);
  EXPECT_FALSE(Summary().has_time_to_first());
}

TEST_F(MulticastProbeTest, SendingCountsWhatWentAndWhatTheKernelRefused) {
  plan_.send = true;
  plan_.send_interval = absl::Seconds(1);
  plan_.send_ttl = 4;
  plan_.loopback = true;
  plan_.duration = absl::Milliseconds(3500);
  std::shared_ptr<ScriptedUdp> sender = opener_.Prepare();
  sender->send_results = {0, ENETUNREACH};
  Start();
  ASSERT_EQ(opener_.opened().size(), 2u);
  const ScriptedUdpOpener::Opened& opened = opener_.opened()[1];
  EXPECT_EQ(opened.kind, ScriptedUdpOpener::Kind::kMulticastSender);
  EXPECT_EQ(opened.family, AF_INET);
  EXPECT_EQ(opened.interface_index, 7u);
  EXPECT_EQ(opened.ttl, 4);
  EXPECT_TRUE(opened.loopback);
  EXPECT_EQ(opened.setup.interface, "veth0");

  RunFor(*loop_, clock_, absl::Seconds(4));
  ASSERT_TRUE(sink_->finished());
  // Sends at 0, 1, 2 and 3 s; the one at 1 s was refused.
  ASSERT_EQ(sender->sent.size(), 3u);
  for (size_t i = 0; i < sender->sent.size(); ++i) {
    EXPECT_EQ(sender->sent[i].to->ToString(), plan_.group.ToString());
  }
  const std::vector<uint8_t>& third = sender->sent[2].data;
  EXPECT_EQ(std::string(third.begin(), third.end()), "netprobe mcast seq=4");
  EXPECT_EQ(Summary().sent(), 3u);
  EXPECT_EQ(Summary().send_errors(), 1u);
  EXPECT_FALSE(sender->open);
  EXPECT_FALSE(receiver_->open);
}

TEST_F(MulticastProbeTest, AJoinThatFailsFailsTheRequest) {
  opener_.fail_next = absl::FailedPreconditionError("no route to the group: name one");
  Start();
  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(MulticastProbeTest, ADurationEndingOnAFullQueueDeliversTheSummaryAtOnce) {
  sink_->set_capacity(1, 1);
  Start();
  Deliver("192.0.2.1", "a");
  Deliver("192.0.2.2", "b");
  RunFor(*loop_, clock_, absl::Seconds(10));
  ASSERT_TRUE(sink_->finished()) << "no wait for room: the summary's is reserved";
  EXPECT_EQ(sink_->dropped(), 2u);
  ASSERT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(Summary().received(), 2u);
}

TEST_F(MulticastProbeTest, AgentShutdownOnAFullQueueStillDeliversEndAndSummary) {
  plan_.send = true;
  sink_->set_capacity(2, 2);  // joined and one datagram fit
  Start();
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) Deliver(ip, "x");
  RunFor(*loop_, clock_, absl::Milliseconds(1500));
  EXPECT_EQ(sink_->dropped(), 2u);
  receiver_->kernel_drops = 9;
  probe_->Stop(StopReason::kAgentShutdown);

  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), testing::IsOk());
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(sink_->closing(), 2u);
  const auto& events = sink_->events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[0].has_joined());
  EXPECT_TRUE(events[1].has_datagram());
  ASSERT_TRUE(events[2].has_end());
  EXPECT_EQ(events[2].end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  EXPECT_EQ(events[2].end().detail(), "the agent is shutting down; the group was left");
  EXPECT_EQ(Summary().received(), 3u);
  EXPECT_EQ(Summary().distinct_sources(), 3u);
  EXPECT_EQ(Summary().sent(), 2u);
  EXPECT_EQ(Summary().kernel_drops(), 9u);
  EXPECT_FALSE(receiver_->open);
  EXPECT_FALSE(opener_.opened()[1].script->open);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(MulticastProbeTest, CancelEmitsNothingMoreAndClosesTheSockets) {
  plan_.send = true;
  Start();
  Deliver("192.0.2.1", "x");
  RunFor(*loop_, clock_, absl::Milliseconds(100));
  ASSERT_EQ(sink_->events().size(), 2u);
  probe_->Stop(StopReason::kClientCancelled);
  ASSERT_TRUE(sink_->finished());
  EXPECT_THAT(sink_->status(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(done_, 1);
  EXPECT_FALSE(receiver_->open);
  std::shared_ptr<ScriptedUdp> sender = opener_.opened()[1].script;
  EXPECT_FALSE(sender->open);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  RunFor(*loop_, clock_, absl::Seconds(20));
  EXPECT_EQ(sender->sent.size(), 1u);
  EXPECT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(sink_->finishes(), 1);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
