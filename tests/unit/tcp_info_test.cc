#include "agent/probes/tcp_info.h"

#include <gtest/gtest.h>
#include <linux/tcp.h>

#include <cstring>

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

// A kernel struct tcp_info as fixed bytes, built field by field.
std::vector<uint8_t> Sample() {
  tcp_info info;
  std::memset(&info, 0, sizeof(info));
  info.tcpi_state = 1;  // ESTABLISHED
  info.tcpi_retransmits = 2;
  info.tcpi_snd_wscale = 7;
  info.tcpi_rcv_wscale = 9;
  info.tcpi_snd_mss = 1448;
  info.tcpi_rcv_mss = 536;
  info.tcpi_lost = 3;
  info.tcpi_pmtu = 1500;
  info.tcpi_rtt = 1234;    // us
  info.tcpi_rttvar = 617;  // us
  info.tcpi_snd_ssthresh = 0x7fffffff;
  info.tcpi_snd_cwnd = 10;
  info.tcpi_total_retrans = 5;
  info.tcpi_bytes_acked = 1000;
  info.tcpi_bytes_received = 2000;
  info.tcpi_min_rtt = 800;
  info.tcpi_delivery_rate = 125000000;
  info.tcpi_busy_time = 42;
  info.tcpi_bytes_sent = 3000;
  std::vector<uint8_t> bytes(sizeof(info));
  std::memcpy(bytes.data(), &info, sizeof(info));
  return bytes;
}

TEST(DecodeTcpInfo, FullStruct) {
  const auto bytes = Sample();
  v1::TcpInfo out;
  DecodeTcpInfo(bytes.data(), bytes.size(), &out);
  EXPECT_EQ(out.state(), "ESTABLISHED");
  EXPECT_EQ(out.retransmits(), 2u);
  EXPECT_EQ(out.snd_wscale(), 7u);
  EXPECT_EQ(out.rcv_wscale(), 9u);
  EXPECT_EQ(out.snd_mss(), 1448u);
  EXPECT_EQ(out.rcv_mss(), 536u);
  EXPECT_EQ(out.lost(), 3u);
  EXPECT_EQ(out.pmtu(), 1500u);
  EXPECT_EQ(out.rtt().nanos(), 1234000);
  EXPECT_EQ(out.rttvar().nanos(), 617000);
  EXPECT_EQ(out.snd_cwnd(), 10u);
  EXPECT_EQ(out.total_retrans(), 5u);
  EXPECT_EQ(out.bytes_acked(), 1000u);
  EXPECT_EQ(out.bytes_received(), 2000u);
  EXPECT_EQ(out.min_rtt().nanos(), 800000);
  EXPECT_EQ(out.delivery_rate(), 125000000u);
  EXPECT_EQ(out.busy_time().nanos(), 42000);
  EXPECT_EQ(out.bytes_sent(), 3000u);
}

TEST(DecodeTcpInfo, ShortStructFromAnOlderKernelSetsOnlyWhatItHolds) {
  const auto bytes = Sample();
  // Up to and including tcpi_total_retrans (the 2.6-era struct is 104 bytes).
  const size_t old_len = offsetof(tcp_info, tcpi_total_retrans) + sizeof(uint32_t);
  v1::TcpInfo out;
  DecodeTcpInfo(bytes.data(), old_len, &out);
  EXPECT_EQ(out.snd_cwnd(), 10u);
  EXPECT_EQ(out.total_retrans(), 5u);
  EXPECT_EQ(out.bytes_acked(), 0u);
  EXPECT_EQ(out.delivery_rate(), 0u);
  EXPECT_FALSE(out.has_min_rtt());
}

TEST(DecodeTcpInfo, TruncatedAndEmptyInputNeverReadPastTheEnd) {
  const auto bytes = Sample();
  for (size_t len = 0; len <= bytes.size(); ++len) {
    // A copy of exactly `len` bytes, so a read past it is a sanitizer error.
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + len);
    v1::TcpInfo out;
    DecodeTcpInfo(prefix.data(), prefix.size(), &out);
    if (len == 0) EXPECT_EQ(out.state(), "");
  }
  // Longer than this build's struct (a newer kernel): the known part decodes.
  std::vector<uint8_t> longer = bytes;
  longer.resize(bytes.size() + 64, 0xee);
  v1::TcpInfo out;
  DecodeTcpInfo(longer.data(), longer.size(), &out);
  EXPECT_EQ(out.snd_mss(), 1448u);
}

// The fields ss -i prints beyond the classic ones, as fixed bytes.
std::vector<uint8_t> SampleWithSsFields() {
  tcp_info info;
  std::memset(&info, 0, sizeof(info));
  info.tcpi_state = 1;
  info.tcpi_backoff = 1;
  info.tcpi_delivery_rate_app_limited = 1;
  info.tcpi_rto = 204000;        // us
  info.tcpi_ato = 40000;         // us
  info.tcpi_last_data_sent = 7;  // ms
  info.tcpi_last_data_recv = 8;
  info.tcpi_last_ack_recv = 9;
  info.tcpi_advmss = 65483;
  info.tcpi_reordering = 3;
  info.tcpi_rcv_rtt = 22;
  info.tcpi_rcv_ssthresh = 65495;
  info.tcpi_pacing_rate = 33416965936;  // bytes/s
  info.tcpi_max_pacing_rate = ~uint64_t{0};
  info.tcpi_segs_out = 6;
  info.tcpi_segs_in = 2;
  info.tcpi_data_segs_out = 4;
  info.tcpi_notsent_bytes = 11;
  info.tcpi_delivery_rate = 2267428571;
  info.tcpi_delivered = 2;
  info.tcpi_bytes_retrans = 34518;
  info.tcpi_sacked = 1;
  info.tcpi_snd_wnd = 95232;
  std::vector<uint8_t> bytes(sizeof(info));
  std::memcpy(bytes.data(), &info, sizeof(info));
  return bytes;
}

TEST(DecodeTcpInfo, SsFields) {
  const auto bytes = SampleWithSsFields();
  v1::TcpInfo out;
  DecodeTcpInfo(bytes.data(), bytes.size(), &out);
  EXPECT_EQ(out.backoff(), 1u);
  EXPECT_EQ(out.rto().nanos(), 204000000);
  EXPECT_EQ(out.ato().nanos(), 40000000);
  EXPECT_EQ(out.last_data_sent().nanos(), 7000000);
  EXPECT_EQ(out.last_data_recv().nanos(), 8000000);
  EXPECT_EQ(out.last_ack_recv().nanos(), 9000000);
  EXPECT_EQ(out.advmss(), 65483u);
  EXPECT_EQ(out.reordering(), 3u);
  EXPECT_EQ(out.rcv_rtt().nanos(), 22000);
  EXPECT_EQ(out.rcv_ssthresh(), 65495u);
  EXPECT_EQ(out.pacing_rate(), 33416965936u);
  EXPECT_FALSE(out.has_max_pacing_rate()) << "~0 is no limit";
  EXPECT_EQ(out.segs_out(), 6u);
  EXPECT_EQ(out.segs_in(), 2u);
  EXPECT_EQ(out.data_segs_out(), 4u);
  EXPECT_EQ(out.data_segs_in(), 0u);
  EXPECT_TRUE(out.has_data_segs_in());
  EXPECT_EQ(out.notsent_bytes(), 11u);
  EXPECT_EQ(out.delivery_rate(), 2267428571u);
  EXPECT_TRUE(out.delivery_rate_app_limited());
  EXPECT_EQ(out.delivered(), 2u);
  EXPECT_EQ(out.bytes_retrans(), 34518u);
  EXPECT_EQ(out.sacked(), 1u);
  EXPECT_EQ(out.snd_wnd(), 95232u);
}

TEST(DecodeTcpInfo, AFieldBeyondTheKernelsLengthIsAbsentNotZero) {
  const auto bytes = SampleWithSsFields();
  // A 4.9-era struct ends with tcpi_delivery_rate: no snd_wnd, no delivered.
  const size_t len = offsetof(tcp_info, tcpi_delivery_rate) + sizeof(uint64_t);
  v1::TcpInfo out;
  DecodeTcpInfo(bytes.data(), len, &out);
  EXPECT_TRUE(out.has_pacing_rate());
  EXPECT_TRUE(out.has_delivery_rate_app_limited());
  EXPECT_FALSE(out.has_snd_wnd());
  EXPECT_FALSE(out.has_delivered());
  EXPECT_FALSE(out.has_bytes_retrans());
  // The end of tcpi_snd_wnd's predecessor: every field but snd_wnd.
  v1::TcpInfo almost;
  DecodeTcpInfo(bytes.data(), offsetof(tcp_info, tcpi_snd_wnd), &almost);
  EXPECT_TRUE(almost.has_bytes_retrans());
  EXPECT_FALSE(almost.has_snd_wnd());
  // Cut in the middle of tcpi_pacing_rate: neither it nor anything after.
  v1::TcpInfo cut;
  DecodeTcpInfo(bytes.data(), offsetof(tcp_info, tcpi_pacing_rate) + 4, &cut);
  EXPECT_TRUE(cut.has_rcv_rtt());
  EXPECT_FALSE(cut.has_pacing_rate());
  EXPECT_FALSE(cut.has_segs_out());
}

TEST(TcpStateName, KnownAndUnknown) {
  EXPECT_EQ(TcpStateName(1), "ESTABLISHED");
  EXPECT_EQ(TcpStateName(2), "SYN_SENT");
  EXPECT_EQ(TcpStateName(10), "LISTEN");
  EXPECT_EQ(TcpStateName(200), "UNKNOWN");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
