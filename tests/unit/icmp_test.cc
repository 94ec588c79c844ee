// ICMP build and parse on fixed byte arrays, malformed ones included.
#include "agent/net/icmp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe::icmp {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;

// An IPv4 header (20 bytes + `options`) for `payload`, protocol ICMP.
Bytes Ipv4(const Bytes& payload, uint8_t ttl = 64, Bytes src = {198, 18, 1, 10},
           Bytes dst = {198, 18, 0, 10}, size_t options = 0) {
  const size_t ihl = 20 + options;
  Bytes p(ihl, 0);
  p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
  const size_t total = ihl + payload.size();
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = ttl;
  p[9] = 1;
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  for (size_t i = 20; i < ihl; ++i) p[i] = 1;  // NOP options
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

// An ICMPv4 message: `type`, `code`, the checksum, then `body` (what follows
// the checksum: identifier and sequence, or the unused word and the quote).
Bytes Icmp4(uint8_t type, uint8_t code, const Bytes& body) {
  Bytes m = {type, code, 0, 0};
  m.insert(m.end(), body.begin(), body.end());
  const uint16_t sum = Checksum(m);
  m[2] = sum >> 8;
  m[3] = sum & 0xff;
  return m;
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: the sum of these bytes is 0xddf2, the checksum 0x220d.
  EXPECT_EQ(Checksum(Bytes{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}), 0x220d);
  EXPECT_EQ(Checksum(Bytes{}), 0xffff);
  EXPECT_EQ(Checksum(Bytes{0xff}), 0x00ff);  // odd length pads with zero
}

TEST(BuildEchoRequest, V4HeaderPayloadAndChecksum) {
  const Bytes m = BuildEchoRequest(false, 0x1234, 0x00010002, 0xcafef00d, 56);
  ASSERT_EQ(m.size(), 64u);
  EXPECT_EQ(m[0], 8);
  EXPECT_EQ(m[1], 0);
  EXPECT_EQ(m[4] << 8 | m[5], 0x1234);
  EXPECT_EQ(m[6] << 8 | m[7], 0x0002);  // low 16 bits of the sequence
  EXPECT_EQ(Checksum(m), 0);            // a valid checksum sums to zero
  const PayloadHeader header = ParsePayload(absl::MakeConstSpan(m).subspan(8));
  EXPECT_EQ(header.token, 0xcafef00du);
  EXPECT_EQ(header.sequence, 0x00010002u);
  EXPECT_TRUE(header.pattern_intact);
}

// Paris traceroute over ICMP: one flow's echo requests differ only in their
// sequence, and the compensating payload word keeps the checksum (what
// routers balancing ICMP hash with the type and code) the same for all.
TEST(BuildConstantChecksumEchoRequest, ChecksumIsTheSameForEverySequenceOfAFlow) {
  const auto first =
      BuildConstantChecksumEchoRequest(false, 0x1234, 0, 0xcafef00d, 3, 32);
  ASSERT_THAT(first.status(), IsOk());
  const uint16_t checksum = static_cast<uint16_t>((*first)[2] << 8 | (*first)[3]);
  for (uint32_t sequence : {1u, 2u, 255u, 256u, 0x7fffu, 0x8000u, 0xfffeu, 0xffffu}) {
    SCOPED_TRACE(sequence);
    const auto m =
        BuildConstantChecksumEchoRequest(false, 0x1234, sequence, 0xcafef00d, 3, 32);
    ASSERT_THAT(m.status(), IsOk());
    ASSERT_EQ(m->size(), 40u);
    EXPECT_EQ((*m)[2] << 8 | (*m)[3], checksum);
    EXPECT_EQ((*m)[6] << 8 | (*m)[7], static_cast<int>(sequence));
    EXPECT_EQ(Checksum(*m), 0);  // and it is a valid checksum
    const PayloadHeader header = ParsePayload(absl::MakeConstSpan(*m).subspan(8));
    EXPECT_EQ(header.token, 0xcafef00du);
    EXPECT_EQ(header.sequence, (3u << 16) | (0xffffu - sequence));
    EXPECT_TRUE(header.pattern_intact);
  }
  // Another flow: another checksum, equally constant.
  const auto other =
      BuildConstantChecksumEchoRequest(false, 0x1234, 9, 0xcafef00d, 4, 32);
  ASSERT_THAT(other.status(), IsOk());
  EXPECT_NE((*other)[2] << 8 | (*other)[3], checksum);
  // v6: the ICMPv6 sum over the message (the kernel adds the constant
  // pseudo-header) is constant too.
  const auto a = BuildConstantChecksumEchoRequest(true, 1, 5, 7, 0, 12);
  const auto b = BuildConstantChecksumEchoRequest(true, 1, 60000, 7, 0, 12);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ((*a)[2], 0);
  EXPECT_EQ(Checksum(*a), Checksum(*b));
  EXPECT_THAT(BuildConstantChecksumEchoRequest(false, 1, 1, 1, 0, 11).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("11 bytes")));
}

// A router's time exceeded quoting a traceroute echo request (IPv4, fixed
// bytes): the parser finds the id, the 16-bit sequence and our token; a
// quote cut inside our header, or with a bad IHL, is not ours.
TEST(ParseIcmpV4, TimeExceededQuotingAConstantChecksumEchoRequest) {
  const auto probe =
      BuildConstantChecksumEchoRequest(false, 0xbeef, 0x0102, 0xcafef00d, 0, 32);
  ASSERT_THAT(probe.status(), IsOk());
  Bytes quoted = Ipv4(*probe, 1, {198, 18, 0, 10}, {198, 18, 9, 10});
  const auto parsed =
      ParseIcmpV4(Ipv4(Icmp4(11, 0,
                             [&] {
                               Bytes body = {0, 0, 0, 0};
                               body.insert(body.end(), quoted.begin(), quoted.end());
                               return body;
                             }()),
                       63, {198, 18, 1, 1}));
  ASSERT_THAT(parsed.status(), IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kError);
  EXPECT_EQ(parsed->error.type, 11);
  EXPECT_EQ(parsed->error.id, 0xbeef);
  EXPECT_EQ(parsed->error.sequence16, 0x0102);
  EXPECT_EQ(parsed->error.payload.token, 0xcafef00du);
  EXPECT_EQ(parsed->error.quoted_destination, (Bytes{198, 18, 9, 10}));
  // RFC 792's minimum quote: the IP header and 8 bytes: id and sequence, no
  // token (the probe matches by id and sequence alone).
  Bytes short_quote(quoted.begin(), quoted.begin() + 28);
  Bytes body = {0, 0, 0, 0};
  body.insert(body.end(), short_quote.begin(), short_quote.end());
  const auto minimal = ParseIcmpV4(Ipv4(Icmp4(11, 0, body), 63, {198, 18, 1, 1}));
  ASSERT_THAT(minimal.status(), IsOk());
  ASSERT_EQ(minimal->kind, ParsedIcmp::Kind::kError);
  EXPECT_EQ(minimal->error.sequence16, 0x0102);
  EXPECT_FALSE(minimal->error.payload.token.has_value());
  // The quoted header claims IHL 15 (60 bytes) but 28 bytes are quoted.
  Bytes lying = short_quote;
  lying[0] = 0x4f;
  Bytes body2 = {0, 0, 0, 0};
  body2.insert(body2.end(), lying.begin(), lying.end());
  const auto bad = ParseIcmpV4(Ipv4(Icmp4(11, 0, body2), 63, {198, 18, 1, 1}));
  ASSERT_THAT(bad.status(), IsOk());
  EXPECT_EQ(bad->kind, ParsedIcmp::Kind::kOther);
}

// What a traceroute's UDP probe carries and reads back from an error queue
// entry (the payload as far as the router quoted it).
TEST(BuildPayload, RoundTripsAndCutQuotesCarryWhatFits) {
  const Bytes p = BuildPayload(0x01020304, 0x0a0b0c0d, 32);
  ASSERT_EQ(p.size(), 32u);
  EXPECT_EQ(ParsePayload(p).token, 0x01020304u);
  EXPECT_EQ(ParsePayload(p).sequence, 0x0a0b0c0du);
  EXPECT_FALSE(ParsePayload(Bytes(p.begin(), p.begin() + 11)).sequence.has_value());
  EXPECT_FALSE(ParsePayload(Bytes{}).token.has_value());
  Bytes wrong = p;
  wrong[0] ^= 1;  // not our magic
  EXPECT_FALSE(ParsePayload(wrong).token.has_value());
}

TEST(BuildEchoRequest, V6LeavesTheChecksumToTheKernelAndSmallSizesCarryLess) {
  const Bytes m = BuildEchoRequest(true, 1, 7, 9, 6);
  ASSERT_EQ(m.size(), 14u);
  EXPECT_EQ(m[0], 128);
  EXPECT_EQ(m[2], 0);
  EXPECT_EQ(m[3], 0);
  const PayloadHeader header = ParsePayload(absl::MakeConstSpan(m).subspan(8));
  EXPECT_FALSE(header.token.has_value());  // 6 bytes: magic and half a token
  EXPECT_FALSE(header.sequence.has_value());
  EXPECT_EQ(BuildEchoRequest(false, 1, 2, 3, 0).size(), 8u);
}

TEST(ParsePayload, DetectsCorruptionAfterTheHeader) {
  Bytes m = BuildEchoRequest(false, 1, 2, 3, 56);
  Bytes payload(m.begin() + 8, m.end());
  EXPECT_TRUE(ParsePayload(payload).pattern_intact);
  payload[40] ^= 0x01;
  EXPECT_FALSE(ParsePayload(payload).pattern_intact);
  payload[0] = 'X';  // not our magic: nothing is claimed
  EXPECT_FALSE(ParsePayload(payload).token.has_value());
}

TEST(ParseIcmpV4, EchoReply) {
  Bytes request = BuildEchoRequest(false, 0x4242, 77, 5, 56);
  Bytes body(request.begin() + 4, request.end());
  const Bytes packet = Ipv4(Icmp4(0, 0, body), 63);
  auto parsed = ParseIcmpV4(packet);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kEchoReply);
  EXPECT_EQ(parsed->reply.id, 0x4242);
  EXPECT_EQ(parsed->reply.sequence16, 77);
  EXPECT_EQ(parsed->reply.ttl, 63);
  EXPECT_EQ(parsed->reply.payload_size, 56u);
  EXPECT_EQ(parsed->reply.payload.sequence, 77u);
  EXPECT_EQ(parsed->reply.payload.token, 5u);
}

TEST(ParseIcmpV4, MalformedHeadersAreRejectedNeverRead) {
  const Bytes good = Ipv4(Icmp4(0, 0, {0, 1, 0, 2}));
  EXPECT_THAT(
      ParseIcmpV4(Bytes(good.begin(), good.begin() + 19)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shorter than an IPv4")));
  for (uint8_t ihl : {0, 4}) {
    Bytes bad = good;
    bad[0] = 0x40 | ihl;
    EXPECT_THAT(ParseIcmpV4(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IHL below 5")))
        << int{ihl};
  }
  Bytes beyond = good;
  beyond[0] = 0x4f;  // 60-byte header in a 32-byte packet
  EXPECT_THAT(ParseIcmpV4(beyond),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("beyond")));
  Bytes v6 = good;
  v6[0] = 0x65;
  EXPECT_THAT(ParseIcmpV4(v6),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not IPv4")));
  Bytes short_total = good;
  short_total[2] = 0;
  short_total[3] = 10;
  EXPECT_THAT(ParseIcmpV4(short_total),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("total length")));
  Bytes tcp = good;
  tcp[9] = 6;
  EXPECT_THAT(ParseIcmpV4(tcp),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not ICMP")));
  Bytes bad_sum = good;
  bad_sum.back() ^= 0xff;
  EXPECT_THAT(ParseIcmpV4(bad_sum),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("checksum")));
  const Bytes tiny = Ipv4({0, 0, 0xff, 0xff});
  EXPECT_THAT(ParseIcmpV4(tiny), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("shorter than an ICMP")));
}

TEST(ParseIcmpV4, TruncatedReadUsesOnlyTheBytesThatArrived) {
  Bytes request = BuildEchoRequest(false, 1, 2, 3, 56);
  Bytes packet = Ipv4(Icmp4(0, 0, Bytes(request.begin() + 4, request.end())));
  packet[2] = 0xff;  // claims 65535 bytes; the checksum then covers what came
  packet[3] = 0xff;
  auto parsed = ParseIcmpV4(packet);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->reply.payload_size, 56u);
}

// The quoted request inside an error: an IPv4 header (with `options` bytes of
// options) and the first `keep` bytes of our echo request.
Bytes Quote(size_t options, size_t keep, uint16_t id = 0x4242, uint32_t seq = 9) {
  Bytes request = BuildEchoRequest(false, id, seq, 5, 56);
  request.resize(std::min(keep, request.size()));
  return Ipv4(request, 1, {198, 18, 0, 10}, {198, 18, 1, 10}, options);
}

TEST(ParseIcmpV4, TimeExceededQuotingOurRequest) {
  const Bytes packet = Ipv4(Icmp4(11, 0,
                                  [] {
                                    Bytes b = {0, 0, 0, 0};
                                    Bytes q = Quote(0, 64);
                                    b.insert(b.end(), q.begin(), q.end());
                                    return b;
                                  }()),
                            64, {198, 18, 0, 1});
  auto parsed = ParseIcmpV4(packet);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kError);
  EXPECT_EQ(parsed->error.type, 11);
  EXPECT_EQ(parsed->error.id, 0x4242);
  EXPECT_EQ(parsed->error.sequence16, 9);
  EXPECT_EQ(parsed->error.quoted_destination, (Bytes{198, 18, 1, 10}));
  EXPECT_EQ(parsed->error.payload.sequence, 9u);
}

// FreeBSD ping CVE-2022-23093: IP options in the quoted header made the quote
// longer than the code assumed. Here: quoted IHL 15 (40 bytes of options).
TEST(ParseIcmpV4, QuotedHeaderWithOptionsIsHandledByItsIhl) {
  Bytes body = {0, 0, 0, 0};
  const Bytes q = Quote(40, 8);  // full 60-byte header, then our 8-byte ICMP header
  body.insert(body.end(), q.begin(), q.end());
  auto parsed = ParseIcmpV4(Ipv4(Icmp4(3, 1, body)));
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kError);
  EXPECT_EQ(parsed->error.sequence16, 9);
  EXPECT_FALSE(parsed->error.payload.sequence.has_value());  // not quoted that far
}

TEST(ParseIcmpV4, ShortOrOddQuotesAreNotOursAndNeverOverread) {
  struct Case {
    const char* name;
    Bytes quote;
  };
  std::vector<Case> cases;
  Bytes truncated = Quote(40, 8);
  truncated.resize(28);  // IHL says 60 bytes; only 28 quoted
  cases.push_back({"IHL 15, quote truncated", truncated});
  for (uint8_t ihl : {0, 4}) {
    Bytes q = Quote(0, 8);
    q[0] = 0x40 | ihl;
    cases.push_back({"quoted IHL below 5", q});
  }
  Bytes no_icmp = Quote(0, 4);  // only half an ICMP header quoted
  cases.push_back({"quoted ICMP header cut", no_icmp});
  Bytes udp = Quote(0, 8);
  udp[9] = 17;
  cases.push_back({"quotes UDP", udp});
  Bytes reply = Quote(0, 8);
  reply[20] = 0;  // quotes an echo reply, not a request
  cases.push_back({"quotes a reply", reply});
  cases.push_back({"empty quote", Bytes{}});
  for (const Case& c : cases) {
    Bytes body = {0, 0, 0, 0};
    body.insert(body.end(), c.quote.begin(), c.quote.end());
    // Exactly the bytes of the packet: a read past them is a sanitizer error.
    const Bytes packet = Ipv4(Icmp4(3, 3, body));
    auto parsed = ParseIcmpV4(packet);
    ASSERT_THAT(parsed, IsOk()) << c.name;
    EXPECT_EQ(parsed->kind, ParsedIcmp::Kind::kOther) << c.name;
  }
}

TEST(ParseIcmpV4, OtherTypesAreNotOurs) {
  auto parsed = ParseIcmpV4(Ipv4(Icmp4(8, 0, {0, 1, 0, 1})));  // someone's request
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->kind, ParsedIcmp::Kind::kOther);
}

Bytes Ipv6Quote(uint8_t next_header, size_t keep) {
  Bytes q(40, 0);
  q[0] = 0x60;
  q[6] = next_header;
  q[7] = 1;
  for (int i = 0; i < 16; ++i) q[24 + i] = static_cast<uint8_t>(0x20 + i);
  Bytes request = BuildEchoRequest(true, 0x77, 3, 5, 56);
  request.resize(std::min(keep, request.size()));
  q.insert(q.end(), request.begin(), request.end());
  return q;
}

TEST(ParseIcmpV6, EchoReplyAndErrors) {
  Bytes reply = BuildEchoRequest(true, 0x77, 3, 5, 16);
  reply[0] = 129;
  auto parsed = ParseIcmpV6(reply);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kEchoReply);
  EXPECT_EQ(parsed->reply.id, 0x77);
  EXPECT_EQ(parsed->reply.payload.sequence, 3u);

  Bytes error = {3, 0, 0, 0, 0, 0, 0, 0};
  const Bytes q = Ipv6Quote(58, 64);
  error.insert(error.end(), q.begin(), q.end());
  parsed = ParseIcmpV6(error);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->kind, ParsedIcmp::Kind::kError);
  EXPECT_EQ(parsed->error.type, 3);
  EXPECT_EQ(parsed->error.sequence16, 3);
  EXPECT_EQ(parsed->error.quoted_destination.size(), 16u);
  EXPECT_EQ(parsed->error.quoted_destination[0], 0x20);
}

TEST(ParseIcmpV6, OddQuotesAreNotOurs) {
  for (auto [next_header, keep] :
       {std::pair{uint8_t{0}, size_t{64}},     // hop-by-hop first
        std::pair{uint8_t{58}, size_t{4}}}) {  // cut ICMP header
    Bytes error = {1, 4, 0, 0, 0, 0, 0, 0};
    const Bytes q = Ipv6Quote(next_header, keep);
    error.insert(error.end(), q.begin(), q.end());
    auto parsed = ParseIcmpV6(error);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(parsed->kind, ParsedIcmp::Kind::kOther);
  }
  Bytes short_quote = {1, 0, 0, 0, 0, 0, 0, 0, 0x60};
  EXPECT_EQ(ParseIcmpV6(short_quote)->kind, ParsedIcmp::Kind::kOther);
  EXPECT_THAT(ParseIcmpV6(Bytes{129, 0, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shorter")));
}

TEST(ParseDatagramEchoReply, NoIpHeader) {
  Bytes reply = BuildEchoRequest(false, 9, 1, 2, 20);
  reply[0] = 0;
  auto parsed = ParseDatagramEchoReply(false, reply);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->kind, ParsedIcmp::Kind::kEchoReply);
  EXPECT_EQ(parsed->reply.payload.sequence, 1u);
  EXPECT_EQ(ParseDatagramEchoReply(true, reply)->kind, ParsedIcmp::Kind::kOther);
  EXPECT_FALSE(ParseDatagramEchoReply(false, Bytes{0, 0}).ok());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::icmp
