// TracerouteProbe and MtrProbe on a fake clock with a scripted raw ICMP
// socket: routers' time exceeded and the target's echo replies as fixed
// bytes, a lost probe, the end of the trace at the target, Paris (one
// checksum for a flow), silent hops, mtr's rounds and path changes.
#include "agent/probes/traceroute_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/net/datagram_messages.h"
#include "agent/net/icmp.h"
#include "agent/net/raw_tcp_socket.h"
#include "agent/net/resolver.h"
#include "agent/probes/mtr_probe.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/fake_sockets.h"
#include "tests/test_support/recording_sink.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::FakeSocketOpener;
using testing::FakeSynSocket;
using testing::RecordingSink;
using testing::RunFor;
using testing::SentPacket;
using Bytes = std::vector<uint8_t>;

constexpr char kTarget[] = "198.18.3.2";  // never sent to: the sockets are fakes

// An IPv4 packet carrying ICMP `payload`, from `src` to `dst`.
Bytes Ipv4(const Bytes& payload, Bytes src, Bytes dst) {
  Bytes p(20, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>((20 + payload.size()) >> 8);
  p[3] = static_cast<uint8_t>(20 + payload.size());
  p[8] = 64;
  p[9] = 1;
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

void SetChecksum(Bytes* icmp) {
  (*icmp)[2] = (*icmp)[3] = 0;
  const uint16_t sum = icmp::Checksum(*icmp);
  (*icmp)[2] = sum >> 8;
  (*icmp)[3] = sum & 0xff;
}

// Router 198.18.<ttl - 1>.2's time exceeded quoting `request` (as sent, TTL 1
// left), as a raw socket reads it.
Bytes TimeExceeded(const SentPacket& request) {
  const uint8_t hop = static_cast<uint8_t>(request.ttl - 1);
  Bytes quoted = Ipv4(request.bytes, {198, 18, 0, 1}, {198, 18, 3, 2});
  quoted[8] = 1;
  Bytes icmp = {11, 0, 0, 0, 0, 0, 0, 0};
  icmp.insert(icmp.end(), quoted.begin(), quoted.end());
  SetChecksum(&icmp);
  return Ipv4(icmp, {198, 18, hop, 2}, {198, 18, 0, 1});
}

Bytes EchoReply(const SentPacket& request) {
  Bytes icmp = request.bytes;
  icmp[0] = 0;
  SetChecksum(&icmp);
  return Ipv4(icmp, {198, 18, 3, 2}, {198, 18, 0, 1});
}

class TracerouteProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    opener_.icmp_kind = IcmpSocket::Kind::kRaw;
    plan_.host = kTarget;
    plan_.method = TraceroutePlan::Method::kIcmp;
    plan_.probes_per_hop = 2;
    plan_.wait = absl::Seconds(1);
  }

  void StartProbe() {
    probe_ = std::make_unique<TracerouteProbe>(plan_, loop_.get(), work_, sink_,
                                               [this] { ++done_; });
    probe_->Start();
    loop_->RunOnce();
  }
  void StartMtr(uint32_t rounds) {
    plan_.rounds = rounds;
    plan_.probes_per_hop = 1;
    plan_.max_silent_hops = TracerouteLimits::kDefaultMtrSilentHops;
    probe_ =
        std::make_unique<MtrProbe>(plan_, loop_.get(), work_, sink_, [this] { ++done_; });
    probe_->Start();
    loop_->RunOnce();
  }

  // Answers each echo request 1 ms later: routers 198.18.<ttl - 1>.2 below
  // `target_ttl` (none when 0), the target at it and beyond; `answers(ttl,
  // n)` (n: the n-th request with that TTL, from 0) may drop it (false) or
  // rewrite the router's third address byte.
  void Answer(int target_ttl,
              std::function<bool(int ttl, int n, uint8_t* router)> answers) {
    opener_.on_icmp_send = [this, target_ttl, answers](const SentPacket& request) {
      const int n = sends_[request.ttl]++;
      uint8_t router = static_cast<uint8_t>(request.ttl - 1);
      if (!answers(request.ttl, n, &router)) return 0;
      loop_->RunAfter(absl::Milliseconds(1), [this, request, target_ttl, router] {
        if (done_ != 0) return;  // the probe and its socket are gone
        const bool target = target_ttl != 0 && request.ttl >= target_ttl;
        Bytes packet = target ? EchoReply(request) : TimeExceeded(request);
        if (!target) packet[14] = router;
        opener_.icmp.at(0)->Deliver(
            packet,
            *SocketAddress::FromLiteral(
                target ? kTarget : absl::StrCat("198.18.", router, ".2"), 0),
            clock_.Wall());
      });
      return 0;
    };
  }

  template <typename T>
  std::vector<T> Of(bool (v1::TracerouteEvent::*has)() const,
                    const T& (v1::TracerouteEvent::*get)() const) const {
    std::vector<T> out;
    for (const auto& event : sink_->events()) {
      if ((event.*has)()) out.push_back((event.*get)());
    }
    return out;
  }

  std::vector<v1::TracerouteReply> Replies() const {
    std::vector<v1::TracerouteReply> out;
    for (const auto& event : sink_->events()) {
      if (event.has_reply()) out.push_back(event.reply());
    }
    return out;
  }

  FakeClock clock_;
  FakeSocketOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  TraceroutePlan plan_;
  std::shared_ptr<RecordingSink<v1::TracerouteEvent>> sink_ =
      std::make_shared<RecordingSink<v1::TracerouteEvent>>();
  std::unique_ptr<ProbeBase<v1::TracerouteEvent>> probe_;
  int done_ = 0;
  std::map<int, int> sends_;  // by TTL
};

// Routers at TTL 1 and 2, the target at 3; the second probe at TTL 2 is lost.
TEST_F(TracerouteProbeTest, HopsInTtlOrderEndAtTheTargetWithOneChecksum) {
  std::map<int, int> sends;      // by TTL
  std::vector<SentPacket> sent;  // the probe's socket is gone once it ends
  opener_.on_icmp_send = [&](const SentPacket& request) {
    sent.push_back(request);
    if (request.ttl == 2 && ++sends[2] == 2) return 0;  // the second round's: lost
    loop_->RunAfter(absl::Milliseconds(1), [this, request] {
      if (done_ != 0) return;  // the probe and its socket are gone
      opener_.icmp.at(0)->Deliver(
          request.ttl < 3 ? TimeExceeded(request) : EchoReply(request),
          *SocketAddress::FromLiteral(
              request.ttl < 3 ? absl::StrCat("198.18.", request.ttl - 1, ".2") : kTarget,
              0),
          clock_.Wall());
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(3));
  ASSERT_EQ(done_, 1);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();

  // Per probe index in TTL order, nothing beyond the target's TTL.
  std::vector<std::tuple<uint32_t, uint32_t, v1::Outcome>> seen;
  for (const v1::TracerouteReply& reply : Replies()) {
    seen.emplace_back(reply.probe(), reply.ttl(), reply.result().outcome());
    EXPECT_EQ(reply.reached(), reply.ttl() == 3) << reply.ShortDebugString();
    if (reply.result().outcome() != v1::OUTCOME_TIMEOUT) {
      EXPECT_EQ(reply.rtt().nanos(), 1'000'000) << reply.ShortDebugString();
    }
  }
  std::sort(seen.begin(), seen.end());
  using T = std::tuple<uint32_t, uint32_t, v1::Outcome>;
  EXPECT_THAT(seen,
              ::testing::ElementsAre(
                  T{0, 1, v1::OUTCOME_TIME_EXCEEDED}, T{0, 2, v1::OUTCOME_TIME_EXCEEDED},
                  T{0, 3, v1::OUTCOME_OK}, T{1, 1, v1::OUTCOME_TIME_EXCEEDED},
                  T{1, 2, v1::OUTCOME_TIMEOUT}, T{1, 3, v1::OUTCOME_OK}));
  // Paris: every echo request of the flow had the same checksum, and TTLs
  // went 1, 2, ... in the first round.
  ASSERT_GE(sent.size(), 3u);
  std::set<int> checksums;
  for (const SentPacket& p : sent) checksums.insert(p.bytes[2] << 8 | p.bytes[3]);
  EXPECT_EQ(checksums.size(), 1u);
  EXPECT_EQ(sent[0].ttl, 1);
  EXPECT_EQ(sent[1].ttl, 2);
  EXPECT_EQ(sent[2].ttl, 3);

  // Hop statistics for TTL 1..3 and the summary.
  std::vector<v1::TracerouteHop> hops;
  const v1::TracerouteSummary* summary = nullptr;
  for (const auto& event : sink_->events()) {
    if (event.has_hop()) hops.push_back(event.hop());
    if (event.has_summary()) summary = &event.summary();
  }
  ASSERT_EQ(hops.size(), 3u);
  EXPECT_EQ(hops[1].ttl(), 2u);
  EXPECT_EQ(hops[1].sent(), 2u);
  EXPECT_EQ(hops[1].received(), 1u);
  EXPECT_EQ(hops[1].loss_percent(), 50);
  EXPECT_THAT(hops[1].addresses(), ::testing::ElementsAre("198.18.1.2"));
  EXPECT_TRUE(hops[2].reached());
  ASSERT_NE(summary, nullptr);
  EXPECT_EQ(summary->reached_ttl(), 3u);
  EXPECT_EQ(summary->sent(), 6u);
  EXPECT_EQ(summary->received(), 5u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

// UDP: a connected socket per flow; routers' errors (and the target's port
// unreachable) arrive on the flow socket's error queue with our payload, and
// first as the socket's pending error, as IP_RECVERR delivers them.
TEST_F(TracerouteProbeTest, UdpFlowsEachKeepTheirSocketAndReadTheErrorQueue) {
  plan_.method = TraceroutePlan::Method::kUdp;
  plan_.flows = 2;
  plan_.probes_per_hop = 1;
  std::vector<SentPacket> sent;
  opener_.on_udp_send = [&](const SentPacket& request) {
    sent.push_back(request);
    loop_->RunAfter(absl::Milliseconds(1), [this, request] {
      if (done_ != 0) return;  // the probe and its sockets are gone
      for (testing::FakeDatagramSocket* socket : opener_.udp) {
        bool ours = false;
        for (const SentPacket& p : socket->sent) ours |= p.bytes == request.bytes;
        if (!ours) continue;
        ErrorQueueEntry entry;
        entry.kind = ErrorQueueEntry::Kind::kIcmpError;
        const bool target = request.ttl >= 3;
        entry.icmp_type = target ? 3 : 11;
        entry.icmp_code = target ? 3 : 0;
        entry.err = target ? ECONNREFUSED : EHOSTUNREACH;
        entry.offender = *SocketAddress::FromLiteral(
            target ? kTarget : absl::StrCat("198.18.", request.ttl - 1, ".2"), 0);
        entry.request = request.bytes;
        entry.time = clock_.Wall();
        socket->DeliverError(std::move(entry));
      }
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(2));
  ASSERT_EQ(done_, 1);
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  ASSERT_EQ(opener_.udp.size(), 0u + 2) << "a socket per flow";
  std::vector<std::tuple<uint32_t, uint32_t, v1::Outcome, bool>> seen;
  for (const v1::TracerouteReply& reply : Replies()) {
    seen.emplace_back(reply.flow(), reply.ttl(), reply.result().outcome(),
                      reply.reached());
    EXPECT_EQ(reply.rtt().nanos(), 1'000'000) << reply.ShortDebugString();
  }
  std::sort(seen.begin(), seen.end());
  using T = std::tuple<uint32_t, uint32_t, v1::Outcome, bool>;
  EXPECT_THAT(seen, ::testing::ElementsAre(T{0, 1, v1::OUTCOME_TIME_EXCEEDED, false},
                                           T{0, 2, v1::OUTCOME_TIME_EXCEEDED, false},
                                           T{0, 3, v1::OUTCOME_REFUSED, true},
                                           T{1, 1, v1::OUTCOME_TIME_EXCEEDED, false},
                                           T{1, 2, v1::OUTCOME_TIME_EXCEEDED, false},
                                           T{1, 3, v1::OUTCOME_REFUSED, true}));
  // TTLs per packet, in order: (hop, flow) targets 1/0, 1/1, 2/0, 2/1, ...
  ASSERT_GE(sent.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(sent[i].ttl, static_cast<int>(i / 2 + 1));
}

// TCP (-T) on a scripted SynSocket: routers' time exceeded arrive on the
// error queue quoting the SYN's ports and sequence, the target answers
// SYN-ACK (the port is open). The simulated target behaves as Linux: a SYN
// it answered with SYN-ACK leaves a half-open connection on the flow's
// 4-tuple until our kernel's RST for the SYN-ACK arrives (one RTT after the
// SYN did); a SYN meeting it draws RST and ends it. Every TTL goes at once,
// so TTLs 3, 4 and 5 all reach the target in round 0 (SYN-ACK, RST,
// SYN-ACK); round 1's SYN at TTL 3 must wait until they are answered (the
// gate in TracerouteProbe::MaySend), else it meets TTL 5's half-open
// connection and reads RST for an open port.
TEST_F(TracerouteProbeTest, TcpRoundWaitsForTheFlowsSynsSoAnOpenPortStaysOpen) {
  plan_.method = TraceroutePlan::Method::kTcp;
  plan_.port = 80;
  plan_.max_ttl = 5;
  plan_.probes_per_hop = 2;
  plan_.rate = 100000;  // a round goes out long before its first answer
  constexpr absl::Duration kRtt = absl::Milliseconds(5);
  const SocketAddress target = *SocketAddress::FromLiteral(kTarget, 80);
  std::optional<absl::Time> half_open_until;  // when our RST reaches the target
  std::vector<FakeSynSocket::Syn> sent;
  opener_.on_syn_send = [&](const FakeSynSocket::Syn& syn) {
    sent.push_back(syn);
    if (syn.ttl < 3) {
      ErrorQueueEntry entry;
      entry.kind = ErrorQueueEntry::Kind::kIcmpError;
      entry.icmp_type = 11;
      entry.err = EHOSTUNREACH;
      entry.offender =
          *SocketAddress::FromLiteral(absl::StrCat("198.18.", syn.ttl - 1, ".2"));
      // RFC 792's 8 bytes of the SYN: ports and sequence number.
      entry.request = tcp_segment::BuildSyn(
          *SocketAddress::FromLiteral("198.18.0.1", syn.source_port), target,
          syn.sequence, false);
      entry.request.resize(8);
      loop_->RunAfter(kRtt, [this, entry]() mutable {
        if (done_ != 0) return;  // the probe and its socket are gone
        entry.time = clock_.Wall();
        opener_.syn.at(0)->DeliverError(std::move(entry));
      });
      return 0;
    }
    const absl::Time arrives = clock_.Wall() + kRtt / 2;
    SynSocket::Received answer;
    answer.header.source_port = 80;
    answer.header.destination_port = syn.source_port;
    answer.header.ack = syn.sequence + 1;
    answer.from = target;
    if (half_open_until && arrives < *half_open_until) {
      answer.header.flags = tcp_segment::kRst | tcp_segment::kAck;
      half_open_until.reset();
    } else {
      answer.header.flags = tcp_segment::kSyn | tcp_segment::kAck;
      half_open_until = arrives + kRtt;
    }
    loop_->RunAfter(kRtt, [this, answer]() mutable {
      if (done_ != 0) return;
      answer.kernel_time = clock_.Wall();
      opener_.syn.at(0)->Deliver(answer);
    });
    return 0;
  };
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(3));
  ASSERT_EQ(done_, 1);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();

  using T = std::tuple<uint32_t, uint32_t, v1::Outcome>;
  std::vector<T> seen;
  for (const v1::TracerouteReply& reply : Replies()) {
    seen.emplace_back(reply.probe(), reply.ttl(), reply.result().outcome());
    EXPECT_EQ(reply.flow_id(), 40000u);  // the flow's source port
    EXPECT_EQ(reply.reached(), reply.ttl() == 3) << reply.ShortDebugString();
    EXPECT_EQ(reply.packet_length(), 44u);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_THAT(seen,
              ::testing::ElementsAre(
                  T{0, 1, v1::OUTCOME_TIME_EXCEEDED}, T{0, 2, v1::OUTCOME_TIME_EXCEEDED},
                  T{0, 3, v1::OUTCOME_OK}, T{1, 1, v1::OUTCOME_TIME_EXCEEDED},
                  T{1, 2, v1::OUTCOME_TIME_EXCEEDED}, T{1, 3, v1::OUTCOME_OK}));
  // Round 0 sent TTLs 4 and 5 before the target's answer ended the trace
  // (the case the gate is for); every SYN came from the flow's one port.
  ASSERT_EQ(sent.size(), 8u);
  EXPECT_EQ(sent[3].ttl, 4);
  EXPECT_EQ(sent[4].ttl, 5);
  for (const FakeSynSocket::Syn& syn : sent) EXPECT_EQ(syn.source_port, 40000);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

// One traceroute with max_silent_hops 2: a router at TTL 1 only; TTLs 2 and
// 3 time out (* *), and the trace ends at 3 without waiting for more.
TEST_F(TracerouteProbeTest, ClassicStopsAfterSilentHopsInARow) {
  plan_.max_ttl = 10;
  plan_.max_silent_hops = 2;
  Answer(0, [](int ttl, int, uint8_t*) { return ttl == 1; });
  StartProbe();
  RunFor(*loop_, clock_, absl::Seconds(3));
  ASSERT_EQ(done_, 1);
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  std::set<uint32_t> ttls;
  for (const v1::TracerouteReply& r : Replies()) ttls.insert(r.ttl());
  EXPECT_THAT(ttls, ::testing::ElementsAre(1, 2, 3));
  const auto hops = Of(&v1::TracerouteEvent::has_hop, &v1::TracerouteEvent::hop);
  ASSERT_EQ(hops.size(), 3u);
  EXPECT_EQ(hops[2].loss_percent(), 100);
  const auto summaries =
      Of(&v1::TracerouteEvent::has_summary, &v1::TracerouteEvent::summary);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_TRUE(summaries[0].stopped_silent());
  EXPECT_EQ(summaries[0].sent(), 6u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

// mtr mode, 3 rounds: routers at TTL 1 and 2, the target at 3 (every TTL of
// the first round flies at once; beyond 3 nothing is reported nor sent
// again). TTL 2's second probe is lost; TTL 1 answers from another router
// in the third round: a path change.
TEST_F(TracerouteProbeTest, MtrRoundsLossAndPathChange) {
  plan_.interval = absl::Seconds(1);
  plan_.wait = absl::Seconds(1);
  Answer(3, [](int ttl, int n, uint8_t* router) {
    if (ttl == 1 && n == 2) *router = 9;
    return !(ttl == 2 && n == 1);
  });
  StartMtr(3);
  // 30 hops, 1 flow, the rounds of one wait (2: 1 s at 1 s), a reply and a
  // path change each.
  EXPECT_EQ(MtrProbe::MaxEventsBeyondHighWater(plan_), 2u * 30 * 2 + 1);
  RunFor(*loop_, clock_, absl::Seconds(5));
  ASSERT_EQ(done_, 1);
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();

  std::vector<std::tuple<uint32_t, uint32_t, v1::Outcome>> seen;  // round, ttl
  for (const v1::TracerouteReply& r : Replies()) {
    seen.emplace_back(r.round(), r.ttl(), r.result().outcome());
  }
  std::sort(seen.begin(), seen.end());
  using T = std::tuple<uint32_t, uint32_t, v1::Outcome>;
  EXPECT_THAT(seen, ::testing::ElementsAre(
                        T{0, 1, v1::OUTCOME_TIME_EXCEEDED},
                        T{0, 2, v1::OUTCOME_TIME_EXCEEDED}, T{0, 3, v1::OUTCOME_OK},
                        T{1, 1, v1::OUTCOME_TIME_EXCEEDED}, T{1, 2, v1::OUTCOME_TIMEOUT},
                        T{1, 3, v1::OUTCOME_OK}, T{2, 1, v1::OUTCOME_TIME_EXCEEDED},
                        T{2, 2, v1::OUTCOME_TIME_EXCEEDED}, T{2, 3, v1::OUTCOME_OK}));
  // Later rounds stop at the target's TTL (the first goes on at the rate
  // until the target's answer comes back).
  for (int ttl = 4; ttl <= 30; ++ttl) EXPECT_LE(sends_[ttl], 1) << ttl;
  EXPECT_EQ(sends_[3], 3);

  const auto changes =
      Of(&v1::TracerouteEvent::has_path_change, &v1::TracerouteEvent::path_change);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].ttl(), 1u);
  EXPECT_EQ(changes[0].round(), 2u);
  EXPECT_EQ(changes[0].previous(), "198.18.0.2");
  EXPECT_EQ(changes[0].address(), "198.18.9.2");

  const auto hops = Of(&v1::TracerouteEvent::has_hop, &v1::TracerouteEvent::hop);
  ASSERT_EQ(hops.size(), 3u);
  EXPECT_EQ(hops[0].path_changes(), 1u);
  EXPECT_THAT(hops[0].addresses(), ::testing::ElementsAre("198.18.0.2", "198.18.9.2"));
  EXPECT_EQ(hops[1].sent(), 3u);
  EXPECT_EQ(hops[1].received(), 2u);
  EXPECT_EQ(hops[1].last().nanos(), 1'000'000);
  EXPECT_TRUE(hops[2].reached());
  const auto summaries =
      Of(&v1::TracerouteEvent::has_summary, &v1::TracerouteEvent::summary);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].rounds(), 3u);
  EXPECT_EQ(summaries[0].path_changes(), 1u);
  EXPECT_EQ(summaries[0].reached_ttl(), 3u);
  EXPECT_EQ(summaries[0].sent(), 9u);
  EXPECT_EQ(summaries[0].received(), 8u);
  EXPECT_FALSE(summaries[0].stopped_silent());
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
}

// mtr mode, max_silent_hops 2: only TTL 1 answers; after the first round
// TTLs 2 and 3 are silent and nothing beyond 3 is probed again or reported.
TEST_F(TracerouteProbeTest, MtrStopsProbingAfterSilentHops) {
  plan_.max_ttl = 10;
  plan_.interval = absl::Seconds(2);
  plan_.wait = absl::Seconds(1);
  Answer(0, [](int ttl, int, uint8_t*) { return ttl == 1; });
  probe_.reset();
  plan_.rounds = 3;
  plan_.probes_per_hop = 1;
  plan_.max_silent_hops = 2;
  probe_ =
      std::make_unique<MtrProbe>(plan_, loop_.get(), work_, sink_, [this] { ++done_; });
  probe_->Start();
  loop_->RunOnce();
  RunFor(*loop_, clock_, absl::Seconds(8));
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(sends_[3], 3);
  EXPECT_EQ(sends_[4], 1);
  EXPECT_EQ(sends_[10], 1);
  const auto hops = Of(&v1::TracerouteEvent::has_hop, &v1::TracerouteEvent::hop);
  ASSERT_EQ(hops.size(), 3u);
  EXPECT_EQ(hops[2].ttl(), 3u);
  const auto summaries =
      Of(&v1::TracerouteEvent::has_summary, &v1::TracerouteEvent::summary);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_TRUE(summaries[0].stopped_silent());
  EXPECT_EQ(summaries[0].rounds(), 3u);
  EXPECT_EQ(summaries[0].sent(), 9u);
}

// mtr mode until stopped: a client cancel ends it with nothing more; the
// deadline with the end, the hops (probes in flight uncounted) and the rounds
// completed.
TEST_F(TracerouteProbeTest, MtrUntilStoppedEndsAtTheDeadline) {
  plan_.interval = absl::Seconds(1);
  plan_.wait = absl::Seconds(1);
  Answer(2, [](int, int, uint8_t*) { return true; });
  StartMtr(0);
  RunFor(*loop_, clock_, absl::Milliseconds(4500));
  EXPECT_EQ(done_, 0);
  probe_->Stop(StopReason::kDeadline);
  ASSERT_EQ(done_, 1);
  const auto hops = Of(&v1::TracerouteEvent::has_hop, &v1::TracerouteEvent::hop);
  ASSERT_EQ(hops.size(), 2u);
  EXPECT_EQ(hops[1].sent(), 5u);
  EXPECT_EQ(hops[1].received(), 5u);
  const auto summaries =
      Of(&v1::TracerouteEvent::has_summary, &v1::TracerouteEvent::summary);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].rounds(), 5u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
