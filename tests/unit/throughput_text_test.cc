// `netprobe throughput`: iperf3 -c's flags into a ThroughputRequest, and its
// text from fixed events, line for line as iperf3 3.12 prints the same
// numbers (the expected lines were checked against real iperf3 -c output).
#include "client/output/throughput_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/commands/throughput_command.h"
#include "common/proto_time.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kMiB = 1024.0 * 1024;

v1::ThroughputStarted Started(std::vector<std::pair<uint32_t, bool>> streams) {
  v1::ThroughputStarted started;
  started.mutable_target()->set_host("lab.far");
  started.mutable_target()->set_address("198.18.0.2");
  started.mutable_target()->set_port(5201);
  started.set_local_address("198.18.0.1");
  started.set_congestion("cubic");
  uint32_t port = 40000;
  for (const auto& [id, sender] : streams) {
    v1::ThroughputStream* stream = started.add_streams();
    stream->set_id(id);
    stream->set_sender(sender);
    stream->set_local_port(port++);
  }
  return started;
}

v1::ThroughputInterval Interval(uint32_t id, bool sender, double start, double end,
                                double bytes, double bits_per_second) {
  v1::ThroughputInterval interval;
  interval.set_stream_id(id);
  interval.set_sender(sender);
  interval.set_start(start);
  interval.set_end(end);
  interval.set_bytes(static_cast<uint64_t>(bytes));
  interval.set_bits_per_second(bits_per_second);
  return interval;
}

v1::ThroughputInterval TcpSent(uint32_t id, double start, double end, double bytes,
                               double bps, uint32_t retransmits, uint32_t cwnd_kib) {
  v1::ThroughputInterval interval = Interval(id, true, start, end, bytes, bps);
  interval.set_retransmits(retransmits);
  interval.mutable_tcp_info()->set_snd_cwnd(cwnd_kib);
  interval.mutable_tcp_info()->set_snd_mss(1024);
  return interval;
}

v1::ThroughputTotals Totals(uint32_t id, bool agent_sends, double seconds, double sent,
                            double sent_bps, double received, double received_bps,
                            int64_t retransmits = -1) {
  v1::ThroughputTotals totals;
  totals.set_stream_id(id);
  totals.set_agent_sends(agent_sends);
  totals.set_seconds(seconds);
  totals.set_sender_bytes(static_cast<uint64_t>(sent));
  totals.set_sender_bits_per_second(sent_bps);
  totals.set_receiver_bytes(static_cast<uint64_t>(received));
  totals.set_receiver_bits_per_second(received_bps);
  totals.set_retransmits(retransmits);
  return totals;
}

v1::ThroughputSummary Summary(std::vector<v1::ThroughputTotals> totals) {
  v1::ThroughputSummary summary;
  for (auto& t : totals) *summary.add_totals() = std::move(t);
  summary.set_remote_results(true);
  summary.set_local_cpu_total(34.5);
  summary.set_local_cpu_user(0.1);
  summary.set_local_cpu_system(34.4);
  summary.set_remote_cpu_total(44.0);
  summary.set_remote_cpu_user(0.8);
  summary.set_remote_cpu_system(43.2);
  summary.set_remote_congestion("bbr");
  return summary;
}

TEST(ThroughputText, UnitsAsIperf3UnitSnprintf) {
  EXPECT_EQ(IperfBytes(0), "0.00 Byte");
  EXPECT_EQ(IperfBytes(1.92 * kGiB), "1.92 GByte");
  EXPECT_EQ(IperfBytes(482 * kMiB), " 482 MByte");
  EXPECT_EQ(IperfBytes(895 * 1024), " 895 KByte");
  EXPECT_EQ(IperfBytes(1000 * 1024), "1000 KByte");
  EXPECT_EQ(IperfBytes(11.9 * kMiB), "11.9 MByte");
  EXPECT_EQ(IperfBits(16.5e9), "16.5 Gbit");
  EXPECT_EQ(IperfBits(100e6), " 100 Mbit");
  EXPECT_EQ(IperfBits(99.9e6), "99.9 Mbit");
  EXPECT_EQ(IperfBits(9.996e6), "10.0 Mbit") << "9.995 rounds up: one decimal";
  EXPECT_EQ(IperfBits(1.05e6), "1.05 Mbit");
  EXPECT_EQ(IperfBits(999), " 999 bit");
}

TEST(ThroughputText, TcpSenderAsIperf3) {
  ThroughputText text(/*udp=*/false);
  EXPECT_EQ(text.Started(Started({{5, true}})),
            "Connecting to host lab.far, port 5201\n"
            "[  5] local 198.18.0.1 port 40000 connected to 198.18.0.2 port 5201\n");
  EXPECT_EQ(
      text.Add(TcpSent(5, 0, 1, 1.92 * kGiB, 16.5e9, 13, 895)),
      "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n"
      "[  5]   0.00-1.00   sec  1.92 GBytes  16.5 Gbits/sec   13    895 KBytes       \n");
  EXPECT_EQ(
      text.Add(TcpSent(5, 1, 2, 1.65 * kGiB, 14.2e9, 11, 895)),
      "[  5]   1.00-2.00   sec  1.65 GBytes  14.2 Gbits/sec   11    895 KBytes       \n");
  EXPECT_EQ(
      text.Summary(
          Summary({Totals(5, true, 2, 3.57 * kGiB, 15.3e9, 3.57 * kGiB, 15.3e9, 24)})),
      "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
      "[ ID] Interval           Transfer     Bitrate         Retr\n"
      "[  5]   0.00-2.00   sec  3.57 GBytes  15.3 Gbits/sec   24             sender\n"
      "[  5]   0.00-2.00   sec  3.57 GBytes  15.3 Gbits/sec                  receiver\n"
      "CPU Utilization: local/sender 34.5% (0.1%u/34.4%s), remote/receiver 44.0% "
      "(0.8%u/43.2%s)\n"
      "snd_tcp_congestion cubic\n"
      "rcv_tcp_congestion bbr\n");
}

TEST(ThroughputText, ReverseTcpHasNoRetrOrCwndInIntervals) {
  ThroughputText text(false);
  EXPECT_EQ(text.Started(Started({{5, false}})),
            "Connecting to host lab.far, port 5201\n"
            "Reverse mode, remote host lab.far is sending\n"
            "[  5] local 198.18.0.1 port 40000 connected to 198.18.0.2 port 5201\n");
  EXPECT_EQ(text.Add(Interval(5, false, 0, 1, 1.15 * kGiB, 9.85e9)),
            "[ ID] Interval           Transfer     Bitrate\n"
            "[  5]   0.00-1.00   sec  1.15 GBytes  9.85 Gbits/sec                  \n");
  v1::ThroughputSummary summary =
      Summary({Totals(5, false, 2, 2.24 * kGiB, 9.6e9, 2.24 * kGiB, 9.6e9, 60)});
  const std::string out = text.Summary(summary);
  EXPECT_THAT(out,
              HasSubstr("[ ID] Interval           Transfer     Bitrate         Retr\n"
                        "[  5]   0.00-2.00   sec  2.24 GBytes  9.60 Gbits/sec   60  "
                        "           sender\n"
                        "[  5]   0.00-2.00   sec  2.24 GBytes  9.60 Gbits/sec        "
                        "          receiver\n"));
  EXPECT_THAT(out, HasSubstr("CPU Utilization: local/receiver 34.5% (0.1%u/34.4%s), "
                             "remote/sender 44.0% (0.8%u/43.2%s)\n"
                             "snd_tcp_congestion bbr\nrcv_tcp_congestion cubic\n"));
}

TEST(ThroughputText, UdpSenderAndReceiverLines) {
  ThroughputText text(/*udp=*/true);
  text.Started(Started({{5, true}}));
  v1::ThroughputInterval sent = Interval(5, true, 0, 1, 11.9 * kMiB, 100e6);
  sent.set_datagrams(382);
  EXPECT_EQ(text.Add(sent),
            "[ ID] Interval           Transfer     Bitrate         Total Datagrams\n"
            "[  5]   0.00-1.00   sec  11.9 MBytes   100 Mbits/sec  382  \n");
  v1::ThroughputTotals totals =
      Totals(5, true, 1.01, 82.4 * kMiB, 685e6, 47.6 * kMiB, 395e6);
  totals.set_datagrams(61704);
  totals.set_lost(26077);
  totals.set_loss_percent(42.26);
  ToProto(absl::Microseconds(5), totals.mutable_jitter());
  v1::ThroughputSummary summary = Summary({totals});
  summary.set_remote_congestion("");
  EXPECT_EQ(
      text.Summary(summary),
      "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
      "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total "
      "Datagrams\n"
      "[  5]   0.00-1.01   sec  82.4 MBytes   685 Mbits/sec  0.000 ms  0/61704 (0%)  "
      "sender\n"
      "[  5]   0.00-1.01   sec  47.6 MBytes   395 Mbits/sec  0.005 ms  26077/61704 "
      "(42%)  receiver\n"
      "CPU Utilization: local/sender 34.5% (0.1%u/34.4%s), remote/receiver 44.0% "
      "(0.8%u/43.2%s)\n");

  // The receiving side (-u -R): jitter and loss per interval; iperf3's
  // Total is what the receiver expected, received and lost.
  ThroughputText reverse(true);
  reverse.Started(Started({{5, false}}));
  v1::ThroughputInterval received = Interval(5, false, 0, 1, 160 * 1024, 1.31e6);
  received.set_datagrams(4);
  received.set_lost(1);
  ToProto(absl::Microseconds(201), received.mutable_jitter());
  EXPECT_EQ(
      reverse.Add(received),
      "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total "
      "Datagrams\n"
      "[  5]   0.00-1.00   sec   160 KBytes  1.31 Mbits/sec  0.201 ms  1/5 (20%)  \n");
}

TEST(ThroughputText, RefusedUdpSendsAreSaid) {
  ThroughputText text(/*udp=*/true);
  text.Started(Started({{1, true}}));
  v1::ThroughputTotals stream = Totals(1, true, 1, kMiB, 8e6, kMiB, 8e6);
  v1::ThroughputTotals sum = stream;
  sum.set_stream_id(0);
  sum.set_not_sent(12);
  EXPECT_THAT(text.Summary(Summary({stream, sum})),
              ::testing::HasSubstr("Socket buffer full: the agent's kernel refused 12 "
                                   "sends, which waited: the sender fell behind its "
                                   "bitrate\n"));
}

TEST(ThroughputText, ParallelStreamsGetSumLinesAndSeparators) {
  ThroughputText text(false);
  text.Started(Started({{5, true}, {7, true}}));
  // Omitted seconds first: marked, then the clock restarts as iperf3's does.
  v1::ThroughputInterval a = TcpSent(5, 0, 1, 482 * kMiB, 4.03e9, 7, 1280);
  v1::ThroughputInterval b = TcpSent(7, 0, 1, 475 * kMiB, 3.96e9, 2, 1280);
  a.set_omitted(true);
  b.set_omitted(true);
  EXPECT_EQ(text.Add(b), "") << "waits for every stream's line";
  v1::ThroughputInterval agent_sum = Interval(0, true, 0, 1, 957 * kMiB, 8e9);
  EXPECT_EQ(text.Add(agent_sum), "") << "the agent's sums are summed here";
  EXPECT_EQ(
      text.Add(a),
      "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n"
      "[  5]   0.00-1.00   sec   482 MBytes  4.03 Gbits/sec    7   1.25 MBytes       "
      "(omitted)\n"
      "[  7]   0.00-1.00   sec   475 MBytes  3.96 Gbits/sec    2   1.25 MBytes       "
      "(omitted)\n"
      "[SUM]   0.00-1.00   sec   957 MBytes  8.03 Gbits/sec    9             "
      "(omitted)\n");
  text.Add(TcpSent(5, 1, 2, 660 * kMiB, 5.51e9, 8, 767));
  EXPECT_EQ(
      text.Add(TcpSent(7, 1, 2, 654 * kMiB, 5.46e9, 1, 767)),
      "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
      "[  5]   0.00-1.00   sec   660 MBytes  5.51 Gbits/sec    8    767 KBytes       \n"
      "[  7]   0.00-1.00   sec   654 MBytes  5.46 Gbits/sec    1    767 KBytes       \n"
      "[SUM]   0.00-1.00   sec  1.28 GBytes  11.0 Gbits/sec    9             \n");
  // The summary adds the streams up when the agent sent no sum.
  v1::ThroughputSummary summary =
      Summary({Totals(5, true, 2, 1.37 * kGiB, 5.89e9, 1.37 * kGiB, 5.86e9, 12),
               Totals(7, true, 2, 1.35 * kGiB, 5.81e9, 1.35 * kGiB, 5.79e9, 1)});
  EXPECT_THAT(text.Summary(summary),
              HasSubstr("[  5]   0.00-2.00   sec  1.37 GBytes  5.89 Gbits/sec   12  "
                        "           sender\n"
                        "[  5]   0.00-2.00   sec  1.37 GBytes  5.86 Gbits/sec        "
                        "          receiver\n"
                        "[  7]   0.00-2.00   sec  1.35 GBytes  5.81 Gbits/sec    1  "
                        "           sender\n"
                        "[  7]   0.00-2.00   sec  1.35 GBytes  5.79 Gbits/sec        "
                        "          receiver\n"
                        "[SUM]   0.00-2.00   sec  2.72 GBytes  11.7 Gbits/sec   13  "
                        "           sender\n"
                        "[SUM]   0.00-2.00   sec  2.72 GBytes  11.7 Gbits/sec        "
                        "          receiver\n"));
}

TEST(ThroughputText, BidirTagsRolesSendersFirst) {
  ThroughputText text(false);
  EXPECT_THAT(text.Started(Started({{5, true}, {7, false}})),
              ::testing::Not(HasSubstr("Reverse")));
  // The receiving stream's line may come first: printed after the sender's.
  EXPECT_EQ(text.Add(Interval(7, false, 0, 1, 635 * kMiB, 5.32e9)), "");
  EXPECT_EQ(
      text.Add(TcpSent(5, 0, 1, 722 * kMiB, 6.05e9, 4, 767)),
      "[ ID][Role] Interval           Transfer     Bitrate         Retr  Cwnd\n"
      "[  5][TX-C]   0.00-1.00   sec   722 MBytes  6.05 Gbits/sec    4    767 KBytes"
      "       \n"
      "[  7][RX-C]   0.00-1.00   sec   635 MBytes  5.32 Gbits/sec                  \n");
  text.Add(TcpSent(5, 1, 2, 976 * kMiB, 8.19e9, 0, 767));
  EXPECT_EQ(
      text.Add(Interval(7, false, 1, 2, 1.04 * kGiB, 8.97e9)),
      "[  5][TX-C]   1.00-2.00   sec   976 MBytes  8.19 Gbits/sec    0    767 KBytes"
      "       \n"
      "[  7][RX-C]   1.00-2.00   sec  1.04 GBytes  8.97 Gbits/sec                  \n")
      << "one stream per direction: no separator, as iperf3 -P 1";
  EXPECT_THAT(
      text.Summary(
          Summary({Totals(5, true, 2, 1.66 * kGiB, 7.12e9, 1.66 * kGiB, 7.12e9, 4),
                   Totals(7, false, 2, 1.67 * kGiB, 7.19e9, 1.66 * kGiB, 7.15e9, 6)})),
      HasSubstr(
          "[ ID][Role] Interval           Transfer     Bitrate         Retr\n"
          "[  5][TX-C]   0.00-2.00   sec  1.66 GBytes  7.12 Gbits/sec    4             "
          "sender\n"
          "[  5][TX-C]   0.00-2.00   sec  1.66 GBytes  7.12 Gbits/sec                  "
          "receiver\n"
          "[  7][RX-C]   0.00-2.00   sec  1.67 GBytes  7.19 Gbits/sec    6             "
          "sender\n"
          "[  7][RX-C]   0.00-2.00   sec  1.66 GBytes  7.15 Gbits/sec                  "
          "receiver\n"
          "CPU Utilization: local/sender 34.5% (0.1%u/34.4%s), remote/receiver 44.0% "
          "(0.8%u/43.2%s)\n"
          "CPU Utilization: local/receiver 34.5% (0.1%u/34.4%s), remote/sender 44.0% "
          "(0.8%u/43.2%s)\n"));
}

TEST(ThroughputText, BidirUdpSenderLinesLeaveTheJitterColumnEmpty) {
  ThroughputText text(true);
  text.Started(Started({{5, true}, {9, false}}));
  v1::ThroughputInterval sent = Interval(5, true, 0, 1, 128 * 1024, 1.05e6);
  sent.set_datagrams(4);
  v1::ThroughputInterval received = Interval(9, false, 0, 1, 160 * 1024, 1.31e6);
  received.set_datagrams(5);
  ToProto(absl::Microseconds(13), received.mutable_jitter());
  text.Add(sent);
  EXPECT_EQ(text.Add(received),
            "[ ID][Role] Interval           Transfer     Bitrate         Jitter    "
            "Lost/Total Datagrams\n"
            "[  5][TX-C]   0.00-1.00   sec   128 KBytes  1.05 Mbits/sec            4  \n"
            "[  9][RX-C]   0.00-1.00   sec   160 KBytes  1.31 Mbits/sec  0.013 ms  0/5 "
            "(0%)  \n");
}

TEST(ThroughputText, LimitLineFromTcpInfoShares) {
  ThroughputText text(false);
  v1::ThroughputTotals totals = Totals(1, true, 10, 5 * kMiB, 4.2e6, 5 * kMiB, 4.2e6, 0);
  ToProto(absl::Milliseconds(7300), totals.mutable_sndbuf_limited());
  ToProto(absl::Milliseconds(10), totals.mutable_rwnd_limited());
  ToProto(absl::Milliseconds(9990), totals.mutable_busy_time());
  v1::ThroughputSummary summary = Summary({totals});
  summary.set_limited_by(v1::THROUGHPUT_LIMIT_SEND_BUFFER);
  summary.set_limit_detail("the 4 KiB send buffer held the transfer back; try -w 1M");
  EXPECT_THAT(text.Summary(summary),
              HasSubstr("Limited by: send buffer (SO_SNDBUF) 73% of the time (receive "
                        "window 0%, busy 100%)\n"
                        "  the 4 KiB send buffer held the transfer back; try -w 1M\n"));
  summary.set_limited_by(v1::THROUGHPUT_LIMIT_NETWORK);
  summary.clear_limit_detail();
  ThroughputText again(false);
  EXPECT_THAT(again.Summary(summary),
              HasSubstr("Limited by: network (congestion window), busy 100% of the time "
                        "(send buffer 73%, receive window 0%)\n"));
}

TEST(ThroughputText, ErrorsAndMissingRemoteResults) {
  v1::ThroughputSummary refused;
  refused.set_error("the server is busy (ACCESS_DENIED)");
  ThroughputText text(false);
  EXPECT_EQ(text.Summary(refused), "") << "nothing ran: no summary block";
  EXPECT_EQ(FormatThroughputError(refused),
            "netprobe throughput: error - the server is busy (ACCESS_DENIED)\n");
  EXPECT_EQ(FormatThroughputError(v1::ThroughputSummary()), "");

  // The far end went silent mid-test: this end's count only.
  ThroughputText cut(false);
  cut.Started(Started({{1, true}}));
  v1::ThroughputSummary silent =
      Summary({Totals(1, true, 4, 40 * kMiB, 83.9e6, 0, 0, 2)});
  silent.set_remote_results(false);
  silent.clear_remote_congestion();
  silent.set_error("the server stopped answering after 5 s");
  EXPECT_EQ(
      cut.Summary(silent),
      "- - - - - - - - - - - - - - - - - - - - - - - - -\n"
      "[ ID] Interval           Transfer     Bitrate         Retr\n"
      "[  1]   0.00-4.00   sec  40.0 MBytes  83.9 Mbits/sec    2             sender\n"
      "[  1] (receiver statistics not available)\n"
      "CPU Utilization: local/sender 34.5% (0.1%u/34.4%s)\n"
      "snd_tcp_congestion cubic\n");
}

TEST(ThroughputText, StreamsTimedApartShareTheirBlock) {
  ThroughputText text(false);
  text.Started(Started({{1, true}, {3, true}}));
  EXPECT_EQ(text.Add(TcpSent(1, 0, 1.0004, kMiB, 8.4e6, 0, 10)), "");
  EXPECT_THAT(text.Add(TcpSent(3, 0.0002, 1.0007, kMiB, 8.4e6, 0, 10)),
              HasSubstr("[SUM]"));
  // Without ThroughputStarted the next interval (or the same stream again)
  // closes the block.
  ThroughputText blind(false);
  EXPECT_EQ(blind.Add(TcpSent(1, 0, 1, kMiB, 8.4e6, 0, 10)), "");
  EXPECT_EQ(blind.Add(TcpSent(3, 0, 1, kMiB, 8.4e6, 0, 10)), "");
  const std::string first = blind.Add(TcpSent(1, 1, 2, kMiB, 8.4e6, 0, 10));
  EXPECT_THAT(first, HasSubstr("[  3]   0.00-1.00"));
  EXPECT_THAT(first, HasSubstr("[SUM]   0.00-1.00"));
  EXPECT_THAT(blind.Add(TcpSent(1, 2, 3, kMiB, 8.4e6, 0, 10)),
              HasSubstr("[  1]   1.00-2.00"));
}

TEST(ThroughputText, AnIntervalCutShortIsFlushed) {
  ThroughputText text(false);
  text.Started(Started({{1, true}, {3, true}}));
  EXPECT_EQ(text.Add(TcpSent(1, 0, 1, kMiB, 8.4e6, 0, 10)), "");
  EXPECT_THAT(text.Flush(),
              HasSubstr("[  1]   0.00-1.00   sec  1.00 MBytes  8.40 Mbits/sec"));
  EXPECT_EQ(text.Flush(), "");
}

absl::StatusOr<v1::ThroughputRequest> Build(const std::vector<std::string>& args) {
  auto parsed = OptionParser(ThroughputOptions()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  return BuildThroughputRequest(*parsed);
}

TEST(BuildThroughputRequest, Iperf3FlagsAndSuffixes) {
  auto request =
      Build({"-t",    "5",    "-P",   "4",   "-u", "-b",       "50M", "-l",     "1K",
             "-w",    "256K", "-C",   "bbr", "-M", "1400",     "-O",  "2",      "-i",
             "500ms", "-S",   "0x10", "-N",  "-4", "--sndbuf", "4K",  "lab.far"});
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->target(), "lab.far");
  EXPECT_EQ(absl::ToInt64Seconds(FromProto(request->duration())), 5);
  EXPECT_EQ(request->parallel(), 4u);
  EXPECT_EQ(request->protocol(), v1::ThroughputRequest::PROTOCOL_UDP);
  EXPECT_EQ(request->bitrate(), 50'000'000u) << "bits/s: 1000-based";
  EXPECT_EQ(request->length(), 1024u) << "bytes: 1024-based";
  EXPECT_EQ(request->window(), 262144u);
  EXPECT_EQ(request->congestion(), "bbr");
  EXPECT_EQ(request->mss(), 1400u);
  EXPECT_EQ(absl::ToInt64Seconds(FromProto(request->omit())), 2);
  EXPECT_EQ(absl::ToInt64Milliseconds(FromProto(request->interval())), 500);
  EXPECT_EQ(request->options().tos(), 16u);
  EXPECT_TRUE(request->options().tcp_nodelay());
  EXPECT_EQ(request->options().send_buffer(), 4096u);
  EXPECT_EQ(request->family(), v1::ADDRESS_FAMILY_IPV4);
  EXPECT_EQ(request->direction(), v1::ThroughputRequest::DIRECTION_SEND);

  auto bytes = Build({"-n", "1.5G", "-R", "-p", "5202", "2001:db8::2"});
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(bytes->bytes(), 1610612736u);
  EXPECT_EQ(bytes->target(), "[2001:db8::2]:5202");
  EXPECT_EQ(bytes->direction(), v1::ThroughputRequest::DIRECTION_RECEIVE);
  EXPECT_EQ(bytes->protocol(), v1::ThroughputRequest::PROTOCOL_TCP);
  EXPECT_FALSE(bytes->has_duration()) << "the agent's default (10 s)";
  auto bidir =
      Build({"--bidir", "-p", "5202", "-B", "198.18.0.1", "--cport", "6000", "lab.far"});
  ASSERT_THAT(bidir, IsOk());
  EXPECT_EQ(bidir->direction(), v1::ThroughputRequest::DIRECTION_BOTH);
  EXPECT_EQ(bidir->target(), "lab.far:5202");
  EXPECT_EQ(bidir->options().source_address(), "198.18.0.1");
  EXPECT_EQ(bidir->options().source_port(), 6000u);
  auto port_in_target = Build({"lab.far:5300"});
  ASSERT_THAT(port_in_target, IsOk());
  EXPECT_EQ(port_in_target->target(), "lab.far:5300");
}

TEST(BuildThroughputRequest, BadValuesNameTheFlag) {
  EXPECT_THAT(Build({"-b", "fast", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-b/--bitrate: 'fast' is not a number with an optional "
                                 "K, M, G or T suffix")));
  EXPECT_THAT(Build({"-n", "10X", "h"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("-n/--bytes: '10X'")));
  EXPECT_THAT(Build({"-l", "-5", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-l/--length")));
  EXPECT_THAT(Build({"-w", "8G", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-w/--window: '8G' is too large")));
  EXPECT_THAT(Build({"-t", "soon", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-t/--time")));
  EXPECT_THAT(Build({"-P", "many", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-P/--parallel")));
  EXPECT_THAT(Build({"-R", "--bidir", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exclude")));
  EXPECT_THAT(Build({"-t", "5", "-n", "1M", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exclude")));
  EXPECT_THAT(Build({"-p", "5202", "h:5201"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-p/--port")));
  EXPECT_THAT(Build({"-p", "70000", "h"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-p/--port")));
  EXPECT_THAT(Build({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("give one HOST[:PORT]")));
  // Ranges are the agent's: -P 17 and -t 0 go through.
  EXPECT_THAT(Build({"-P", "17", "-t", "0", "h"}), IsOk());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
