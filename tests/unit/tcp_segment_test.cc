// traceroute -T's segments on fixed bytes: the SYN we build (checksums
// computed independently, and accepted by a real kernel), the answers we
// match (captured from a Linux target) and the TCP header ICMP errors quote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "agent/net/raw_tcp_socket.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::ElementsAreArray;

SocketAddress Address(const char* ip, uint16_t port) {
  return *SocketAddress::FromLiteral(ip, port);
}

TEST(TcpSegment, SynV4CarriesPortsSequenceMssAndThePseudoHeaderChecksum) {
  const std::vector<uint8_t> syn =
      tcp_segment::BuildSyn(Address("198.18.0.1", 40000), Address("198.18.3.2", 80),
                            0x01020304, /*checksum=*/true);
  const uint8_t want[] = {
      0x9c, 0x40, 0x00, 0x50,  // ports 40000 -> 80
      0x01, 0x02, 0x03, 0x04,  // sequence: the probe's wire number
      0x00, 0x00, 0x00, 0x00,  // ack
      0x60, 0x02,              // 6 words, SYN
      0xfa, 0xf0,              // window 64240
      0x6d, 0x77,              // checksum
      0x00, 0x00,              // urgent pointer
      0x02, 0x04, 0x05, 0xb4,  // MSS 1460
  };
  EXPECT_THAT(syn, ElementsAreArray(want));
}

TEST(TcpSegment, SynV6ChecksumUsesTheIpv6PseudoHeaderOrIsLeftToTheKernel) {
  const SocketAddress from = Address("2001:2::1", 40000);
  const SocketAddress to = Address("2001:2:0:3::2", 443);
  const std::vector<uint8_t> with = tcp_segment::BuildSyn(from, to, 0xfffffffe, true);
  const std::vector<uint8_t> without = tcp_segment::BuildSyn(from, to, 0xfffffffe, false);
  const uint8_t want[] = {0x9c, 0x40, 0x01, 0xbb, 0xff, 0xff, 0xff, 0xfe,
                          0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xfa, 0xf0,
                          0xbf, 0x2f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
  EXPECT_THAT(with, ElementsAreArray(want));
  std::vector<uint8_t> zeroed(std::begin(want), std::end(want));
  zeroed[16] = zeroed[17] = 0;
  EXPECT_EQ(without, zeroed);
  // A segment with its checksum in place sums to zero.
  EXPECT_EQ(tcp_segment::Checksum(from, to, with), 0);
}

TEST(TcpSegment, SynsOfOneFlowDifferOnlyInSequenceAndChecksum) {
  const SocketAddress from = Address("198.18.0.1", 51000);
  const SocketAddress to = Address("198.18.3.2", 80);
  const std::vector<uint8_t> a = tcp_segment::BuildSyn(from, to, 1, true);
  const std::vector<uint8_t> b = tcp_segment::BuildSyn(from, to, 77, true);
  ASSERT_EQ(a.size(), tcp_segment::kSynLength);
  for (size_t i = 0; i < a.size(); ++i) {
    if ((i >= 4 && i < 8) || i == 16 || i == 17) continue;
    EXPECT_EQ(a[i], b[i]) << "byte " << i;
  }
}

// A Linux target's RST for our SYN (sequence 2222 from port 50203 to port 9),
// as an IPv4 raw socket reads it: the IP header (TTL 63) first.
constexpr uint8_t kResetV4[] = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x06, 0xae, 0xa8, 0xc6, 0x12,
    0x01, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x09, 0xc4, 0x1b, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x08, 0xaf, 0x50, 0x14, 0x00, 0x00, 0x55, 0xd5, 0x00, 0x00};

TEST(TcpSegment, ResetV4WithIpHeaderAnswersTheSynItAcknowledges) {
  const auto header = tcp_segment::Parse(kResetV4, /*ip_header=*/true);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->ttl, 63);
  EXPECT_TRUE(header->reset());
  const auto answer = tcp_segment::MatchSynAnswer(*header, 9);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->kind, tcp_segment::SynAnswer::Kind::kReset);
  EXPECT_EQ(answer->local_port, 50203);
  EXPECT_EQ(answer->sequence, 2222u);
  // From another port: not an answer to our SYN.
  EXPECT_FALSE(tcp_segment::MatchSynAnswer(*header, 80).has_value());
}

TEST(TcpSegment, SynAckV6WithoutIpHeaderAnswersTheSynItAcknowledges) {
  // SYN-ACK from port 443 to 40000, sequence 0x11223344, ack 0xffffffff.
  const uint8_t syn_ack[] = {0x01, 0xbb, 0x9c, 0x40, 0x11, 0x22, 0x33, 0x44,
                             0xff, 0xff, 0xff, 0xff, 0x60, 0x12, 0xfa, 0xf0,
                             0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0};
  const auto header = tcp_segment::Parse(syn_ack, /*ip_header=*/false);
  ASSERT_TRUE(header.has_value());
  EXPECT_TRUE(header->syn_ack());
  EXPECT_EQ(header->ttl, 0);
  const auto answer = tcp_segment::MatchSynAnswer(*header, 443);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->kind, tcp_segment::SynAnswer::Kind::kSynAck);
  EXPECT_EQ(answer->local_port, 40000);
  EXPECT_EQ(answer->sequence, 0xfffffffeu);
}

TEST(TcpSegment, OtherSegmentsAnswerNoSyn) {
  tcp_segment::Header header{.source_port = 80, .destination_port = 40000, .ack = 5};
  header.flags = tcp_segment::kSyn;  // a SYN (a simultaneous open), no ACK
  EXPECT_FALSE(tcp_segment::MatchSynAnswer(header, 80).has_value());
  header.flags = tcp_segment::kAck;  // data or a pure ACK
  EXPECT_FALSE(tcp_segment::MatchSynAnswer(header, 80).has_value());
  header.flags = tcp_segment::kRst;  // RST without ACK: answers no SYN
  EXPECT_FALSE(tcp_segment::MatchSynAnswer(header, 80).has_value());
}

TEST(TcpSegment, MalformedOrShortPacketsDoNotParse) {
  std::vector<uint8_t> packet(std::begin(kResetV4), std::end(kResetV4));
  EXPECT_FALSE(tcp_segment::Parse(absl::MakeConstSpan(packet).first(39), true));
  std::vector<uint8_t> bad = packet;
  bad[0] = 0x44;  // IHL 4 < 5
  EXPECT_FALSE(tcp_segment::Parse(bad, true));
  bad = packet;
  bad[0] = 0x4f;  // IHL 15: 60 bytes of IP header, more than was received
  EXPECT_FALSE(tcp_segment::Parse(bad, true));
  bad = packet;
  bad[9] = 17;  // UDP
  EXPECT_FALSE(tcp_segment::Parse(bad, true));
  bad = packet;
  bad[0] = 0x65;  // version 6
  EXPECT_FALSE(tcp_segment::Parse(bad, true));
  EXPECT_FALSE(tcp_segment::Parse(absl::MakeConstSpan(packet).subspan(20, 19), false));
}

TEST(TcpSegment, QuotedHeaderOfAnIcmpErrorGivesPortsAndSequence) {
  // What a raw TCP socket's error queue held for a time exceeded (the kernel
  // hands back our SYN from its TCP header on).
  const uint8_t quoted[] = {0xc4, 0x1b, 0x00, 0x09, 0x00, 0x00, 0x04, 0x57,
                            0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xfa, 0xf0,
                            0x47, 0x92, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
  const auto header = tcp_segment::ParseQuoted(quoted);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->source_port, 50203);
  EXPECT_EQ(header->destination_port, 9);
  EXPECT_EQ(header->sequence, 1111u);
  // RFC 792's minimum quote: 8 bytes are enough, 7 are not.
  EXPECT_TRUE(tcp_segment::ParseQuoted(absl::MakeConstSpan(quoted).first(8)));
  EXPECT_FALSE(tcp_segment::ParseQuoted(absl::MakeConstSpan(quoted).first(7)));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
