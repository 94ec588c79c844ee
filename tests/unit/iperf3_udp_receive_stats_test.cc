#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

#include "agent/iperf3/udp_receive_stats.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

absl::Time At(int64_t micros) { return absl::UnixEpoch() + absl::Microseconds(micros); }

// Datagrams sent 1 ms apart from t = 100 s of the sender's clock, each
// arriving 10 ms later: no jitter.
void Receive(UdpReceiveStats* stats, std::initializer_list<uint64_t> sequences) {
  for (uint64_t seq : sequences) {
    const int64_t sent_us = 100'000'000 + static_cast<int64_t>(seq) * 1000;
    UdpHeader h{.seconds = static_cast<uint32_t>(sent_us / 1'000'000),
                .microseconds = static_cast<uint32_t>(sent_us % 1'000'000),
                .sequence = seq};
    stats->OnDatagram(h, At(sent_us + 10'000));
  }
}

TEST(UdpReceiveStats, InOrder) {
  UdpReceiveStats stats;
  Receive(&stats, {1, 2, 3, 4, 5});
  EXPECT_EQ(stats.packet_count(), 5u);
  EXPECT_EQ(stats.errors(), 0);
  EXPECT_EQ(stats.out_of_order(), 0);
  EXPECT_EQ(stats.datagrams(), 5u);
  EXPECT_EQ(stats.jitter_seconds(), 0);
}

TEST(UdpReceiveStats, GapCountsAsLoss) {
  UdpReceiveStats stats;
  Receive(&stats, {1, 2, 5, 6, 10});
  EXPECT_EQ(stats.packet_count(), 10u);
  EXPECT_EQ(stats.errors(), 2 + 3);
  EXPECT_EQ(stats.out_of_order(), 0);
}

TEST(UdpReceiveStats, FirstDatagramsLost) {
  UdpReceiveStats stats;
  Receive(&stats, {4});
  EXPECT_EQ(stats.packet_count(), 4u);
  EXPECT_EQ(stats.errors(), 3);
}

TEST(UdpReceiveStats, ReorderTakesBackALoss) {
  UdpReceiveStats stats;
  Receive(&stats, {1, 3});
  EXPECT_EQ(stats.errors(), 1);
  Receive(&stats, {2});
  EXPECT_EQ(stats.packet_count(), 3u);
  EXPECT_EQ(stats.errors(), 0);
  EXPECT_EQ(stats.out_of_order(), 1);
  // A very late one: 4 counted lost at 10, then arrives.
  Receive(&stats, {10, 4});
  EXPECT_EQ(stats.packet_count(), 10u);
  EXPECT_EQ(stats.errors(), 6 - 1);
  EXPECT_EQ(stats.out_of_order(), 2);
}

TEST(UdpReceiveStats, DuplicatesAreOutOfOrderAndNeverMakeErrorsNegative) {
  UdpReceiveStats stats;
  Receive(&stats, {1, 2, 2, 2});
  EXPECT_EQ(stats.packet_count(), 2u);
  EXPECT_EQ(stats.errors(), 0);
  EXPECT_EQ(stats.out_of_order(), 2);
  EXPECT_EQ(stats.datagrams(), 4u);
}

TEST(UdpReceiveStats, DuplicateAfterAGapHidesALossAsInIperf3) {
  // iperf3 cannot tell a duplicate from a late datagram: 2 stays lost but
  // the duplicate of 3 takes its loss back.
  UdpReceiveStats stats;
  Receive(&stats, {1, 3, 3});
  EXPECT_EQ(stats.errors(), 0);
  EXPECT_EQ(stats.out_of_order(), 1);
}

TEST(UdpReceiveStats, SequenceZeroIsOutOfOrder) {
  // iperf3's first sequence number is 1; 0 never moves forward.
  UdpReceiveStats stats;
  Receive(&stats, {0});
  EXPECT_EQ(stats.packet_count(), 0u);
  EXPECT_EQ(stats.out_of_order(), 1);
  EXPECT_EQ(stats.errors(), 0);
}

TEST(UdpReceiveStats, SixtyFourBitSequences) {
  UdpReceiveStats stats;
  const uint64_t big = uint64_t{1} << 33;
  Receive(&stats, {big, big + 1});
  EXPECT_EQ(stats.packet_count(), big + 1);
  EXPECT_EQ(stats.errors(), static_cast<int64_t>(big - 1));
}

TEST(UdpReceiveStats, JitterOnAKnownSequence) {
  // Sent 1 ms apart; transits 10, 10.5, 10, 12 ms.
  UdpReceiveStats stats;
  const int64_t transit_us[] = {10'000, 10'500, 10'000, 12'000};
  for (int i = 0; i < 4; ++i) {
    const int64_t sent_us = 5'000'000 + i * 1000;
    UdpHeader h{.seconds = 5,
                .microseconds = static_cast<uint32_t>(i * 1000),
                .sequence = static_cast<uint64_t>(i + 1)};
    stats.OnDatagram(h, At(sent_us + transit_us[i]));
  }
  // J1 = 0.0005/16; J2 = J1 + (0.0005 - J1)/16; J3 = J2 + (0.002 - J2)/16.
  EXPECT_NEAR(stats.jitter_seconds(), 0.0001817626953125, 1e-15);
  EXPECT_EQ(stats.errors(), 0);
}

TEST(UdpReceiveStats, JitterIgnoresClockOffsetEitherWay) {
  // The sender's clock far behind (iperf3 sends CLOCK_MONOTONIC) and far
  // ahead of ours: transits differ, their differences do not.
  for (int64_t offset_us : {int64_t{1'700'000'000} * 1'000'000, int64_t{-50'000'000}}) {
    UdpReceiveStats stats;
    const int64_t transit_us[] = {10'000, 10'500, 10'000, 12'000};
    for (int i = 0; i < 4; ++i) {
      const int64_t sent_us = 100'000'000 + i * 1000;
      UdpHeader h{.seconds = 100,
                  .microseconds = static_cast<uint32_t>(i * 1000),
                  .sequence = static_cast<uint64_t>(i + 1)};
      stats.OnDatagram(h, At(offset_us + sent_us + transit_us[i]));
    }
    EXPECT_NEAR(stats.jitter_seconds(), 0.0001817626953125, 1e-15) << offset_us;
  }
}

TEST(UdpReceiveStats, ArrivalIsTakenToTheMicrosecond) {
  UdpReceiveStats stats;
  UdpHeader h{.seconds = 1, .microseconds = 0, .sequence = 1};
  stats.OnDatagram(h, absl::UnixEpoch() + absl::Seconds(2));
  h.sequence = 2;
  stats.OnDatagram(h, absl::UnixEpoch() + absl::Seconds(2) + absl::Nanoseconds(900));
  EXPECT_EQ(stats.jitter_seconds(), 0);
}

TEST(UdpReceiveStats, ResetAtTheEndOfOmittedSeconds) {
  UdpReceiveStats stats;
  Receive(&stats, {1, 2, 4});  // one lost
  UdpHeader late{.seconds = 100, .microseconds = 0, .sequence = 3};
  stats.OnDatagram(late, At(100'000'000 + 50'000));  // out of order, big transit
  EXPECT_GT(stats.jitter_seconds(), 0);
  EXPECT_EQ(stats.errors(), 0);
  EXPECT_EQ(stats.out_of_order(), 1);

  stats.Reset();
  EXPECT_EQ(stats.jitter_seconds(), 0);
  EXPECT_EQ(stats.packets_since_reset(), 0u);
  EXPECT_EQ(stats.errors_since_reset(), 0);
  EXPECT_EQ(stats.out_of_order_since_reset(), 0);

  // The first datagram after Reset only sets the previous transit, whatever
  // the last one before it was (50 ms then, 10 ms now).
  Receive(&stats, {5});
  EXPECT_EQ(stats.jitter_seconds(), 0);
  Receive(&stats, {6, 8});
  // Counters go on; iperf3 sends them whole and subtracts the omitted part.
  EXPECT_EQ(stats.packet_count(), 8u);
  EXPECT_EQ(stats.errors(), 1);
  EXPECT_EQ(stats.out_of_order(), 1);
  EXPECT_EQ(stats.packets_since_reset(), 4u);
  EXPECT_EQ(stats.errors_since_reset(), 1);
  EXPECT_EQ(stats.out_of_order_since_reset(), 0);
  EXPECT_EQ(stats.jitter_seconds(), 0);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
