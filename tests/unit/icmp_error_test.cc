// ICMP error parsing for traceroute on fixed byte arrays: quotes of UDP, TCP
// and echo probes, MTUs, RFC 4884 / 4950 MPLS extensions, and every truncation.
#include "agent/net/icmp_error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe::icmp {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;
using Bytes = std::vector<uint8_t>;

const Bytes kProbeSource = {198, 18, 0, 10}, kTarget = {198, 18, 9, 9};
const Bytes kRouter = {198, 18, 1, 1};

void PutBe16(Bytes& b, size_t at, uint16_t v) {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}
void PutBe32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An IPv4 header for `payload` (20 bytes, no options).
Bytes Ipv4(uint8_t protocol, const Bytes& payload, uint8_t ttl, const Bytes& src,
           const Bytes& dst, uint16_t id = 0) {
  Bytes p(20, 0);
  p[0] = 0x45;
  PutBe16(p, 2, static_cast<uint16_t>(20 + payload.size()));
  PutBe16(p, 4, id);
  p[8] = ttl;
  p[9] = protocol;
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  return Concat(p, payload);
}

// An IPv6 header for `payload`.
Bytes Ipv6(uint8_t next_header, const Bytes& payload, uint8_t hop_limit,
           uint32_t flow_label) {
  Bytes p(40, 0);
  PutBe32(p, 0, 6u << 28 | flow_label);
  PutBe16(p, 4, static_cast<uint16_t>(payload.size()));
  p[6] = next_header;
  p[7] = hop_limit;
  p[8] = 0x20;  // 2001:db8::1 -> 2001:db8::9
  p[9] = 0x01;
  p[10] = 0x0d;
  p[11] = 0xb8;
  p[23] = 1;
  std::copy(p.begin() + 8, p.begin() + 23, p.begin() + 24);
  p[39] = 9;
  return Concat(p, payload);
}

Bytes Pattern(size_t size) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(0xa0 + i);
  return b;
}

Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes u(8, 0);
  PutBe16(u, 0, sport);
  PutBe16(u, 2, dport);
  PutBe16(u, 4, static_cast<uint16_t>(8 + payload.size()));
  PutBe16(u, 6, 0xbeef);
  return Concat(u, payload);
}

// An ICMP (v4, with checksum) or ICMPv6 (checksum 0: the kernel checks it)
// message: type, code, checksum, the 4-byte `rest`, then `body`.
Bytes IcmpMessage(bool v6, uint8_t type, uint8_t code, const Bytes& rest,
                  const Bytes& body) {
  Bytes m = Concat({type, code, 0, 0}, rest);
  m = Concat(m, body);
  if (!v6) PutBe16(m, 2, Checksum(m));
  return m;
}

// An RFC 4950 MPLS object: label, exp, bottom-of-stack, ttl per entry.
Bytes MplsObject(const std::vector<MplsEntry>& entries) {
  Bytes o(4, 0);
  PutBe16(o, 0, static_cast<uint16_t>(4 + 4 * entries.size()));
  o[2] = 1;  // class-num: MPLS label stack
  o[3] = 1;  // c-type: incoming stack
  for (const MplsEntry& e : entries) {
    Bytes w(4);
    PutBe32(w, 0,
            e.label << 12 | uint32_t{e.traffic_class} << 9 |
                uint32_t{e.bottom_of_stack} << 8 | e.ttl);
    o = Concat(o, w);
  }
  return o;
}

// An RFC 4884 extension structure (version 2) around `objects`, with a
// correct checksum unless `break_checksum`.
Bytes Extension(const Bytes& objects, bool break_checksum = false) {
  Bytes x = Concat({0x20, 0, 0, 0}, objects);
  uint16_t sum = Checksum(x);
  if (break_checksum) sum ^= 0x5555;
  PutBe16(x, 2, sum);
  return x;
}

// `quote` padded with zeros to 128 bytes (RFC 4884's original datagram).
Bytes Pad128(Bytes quote) {
  if (quote.size() < 128) quote.resize(128, 0);
  return quote;
}

const std::vector<MplsEntry> kTwoLabels = {
    {.label = 16001, .traffic_class = 5, .bottom_of_stack = false, .ttl = 1},
    {.label = 24005, .traffic_class = 0, .bottom_of_stack = true, .ttl = 255}};

// A TTL-expired UDP probe (from kProbeSource:33434 to kTarget:33435).
Bytes QuotedUdpProbe(size_t payload = 12) {
  return Ipv4(17, Udp(33434, 33435, Pattern(payload)), 1, kProbeSource, kTarget, 0x4242);
}

// A v4 error as a raw socket reads it: kRouter's header (TTL 250) + ICMP.
Bytes V4Error(uint8_t type, uint8_t code, const Bytes& rest, const Bytes& body) {
  return Ipv4(1, IcmpMessage(false, type, code, rest, body), 250, kRouter, kProbeSource);
}

IcmpError ParseV4OrDie(const Bytes& packet) {
  absl::StatusOr<std::optional<IcmpError>> parsed = ParseIcmpErrorV4(packet);
  EXPECT_THAT(parsed.status(), IsOk());
  if (!parsed.ok() || !parsed->has_value()) {
    ADD_FAILURE() << "not an error";
    return {};
  }
  return **parsed;
}

IcmpError ParseV6OrDie(const Bytes& message) {
  absl::StatusOr<std::optional<IcmpError>> parsed = ParseIcmpErrorV6(message);
  EXPECT_THAT(parsed.status(), IsOk());
  if (!parsed.ok() || !parsed->has_value()) {
    ADD_FAILURE() << "not an error";
    return {};
  }
  return **parsed;
}

TEST(IcmpErrorV4, TimeExceededQuotingUdp) {
  const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, 0, 0, 0}, QuotedUdpProbe()));
  EXPECT_EQ(e.type, 11);
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.reply_ttl, 250);
  EXPECT_EQ(e.responder, kRouter);
  EXPECT_EQ(e.next_hop_mtu, 0u);
  EXPECT_FALSE(e.has_extensions);
  EXPECT_EQ(e.quote.ip_version, 4);
  EXPECT_EQ(e.quote.source, kProbeSource);
  EXPECT_EQ(e.quote.destination, kTarget);
  EXPECT_EQ(e.quote.protocol, 17);
  EXPECT_EQ(e.quote.ttl, 1);
  EXPECT_EQ(e.quote.ip_id, 0x4242);
  EXPECT_EQ(e.quote.total_length, 20u + 8 + 12);
  EXPECT_EQ(e.quote.transport.size(), 20u);
  const std::optional<QuotedUdp> udp = QuotedUdpOf(e.quote);
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->source_port, 33434);
  EXPECT_EQ(udp->destination_port, 33435);
  EXPECT_EQ(udp->length, 20);
  EXPECT_EQ(udp->checksum, 0xbeef);
  EXPECT_EQ(Bytes(udp->payload.begin(), udp->payload.end()), Pattern(12));
  EXPECT_FALSE(QuotedTcpOf(e.quote).has_value());
  EXPECT_FALSE(QuotedEchoOf(e.quote).has_value());
}

TEST(IcmpErrorV4, TimeExceededQuotingTcpReadsTheFirstEightBytes) {
  Bytes tcp = {0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78};  // 40000 -> 80, seq
  const IcmpError e =
      ParseV4OrDie(V4Error(11, 0, {0, 0, 0, 0}, Ipv4(6, tcp, 1, kProbeSource, kTarget)));
  const std::optional<QuotedTcp> parsed = QuotedTcpOf(e.quote);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->source_port, 40000);
  EXPECT_EQ(parsed->destination_port, 80);
  EXPECT_EQ(parsed->sequence, 0x12345678u);
  EXPECT_FALSE(QuotedUdpOf(e.quote).has_value());
}

TEST(IcmpErrorV4, TimeExceededQuotingEcho) {
  const Bytes echo = BuildEchoRequest(false, 0x1234, 7, 0xcafef00d, 20);
  const IcmpError e =
      ParseV4OrDie(V4Error(11, 0, {0, 0, 0, 0}, Ipv4(1, echo, 1, kProbeSource, kTarget)));
  const std::optional<QuotedEcho> parsed = QuotedEchoOf(e.quote);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->type, 8);
  EXPECT_EQ(parsed->code, 0);
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_EQ(parsed->sequence, 7);
  EXPECT_EQ(parsed->payload.size(), 20u);
  EXPECT_EQ(ParsePayload(parsed->payload).sequence, 7u);
}

TEST(IcmpErrorV4, FragmentationNeededCarriesTheMtu) {
  const IcmpError e = ParseV4OrDie(V4Error(3, 4, {0, 0, 0x05, 0xdc}, QuotedUdpProbe()));
  EXPECT_EQ(e.type, 3);
  EXPECT_EQ(e.code, 4);
  EXPECT_EQ(e.next_hop_mtu, 1500u);
  // Other unreachable codes leave it 0 whatever bytes 6-7 hold.
  EXPECT_EQ(
      ParseV4OrDie(V4Error(3, 3, {0, 0, 0x05, 0xdc}, QuotedUdpProbe())).next_hop_mtu, 0u);
}

TEST(IcmpErrorV4, NonErrorTypesAreNotErrors) {
  const Bytes echo =
      Ipv4(1, BuildEchoRequest(false, 1, 1, 1, 8), 64, kTarget, kProbeSource);
  absl::StatusOr<std::optional<IcmpError>> parsed = ParseIcmpErrorV4(echo);
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_FALSE(parsed->has_value());
}

TEST(IcmpErrorV4, RejectsBadChecksumAndLengths) {
  Bytes p = V4Error(11, 0, {0, 0, 0, 0}, QuotedUdpProbe());
  Bytes bad_sum = p;
  bad_sum[30] ^= 1;
  EXPECT_THAT(ParseIcmpErrorV4(bad_sum).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Bytes bad_ihl = p;
  bad_ihl[0] = 0x44;
  EXPECT_THAT(ParseIcmpErrorV4(bad_ihl).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Bytes long_total = p;
  PutBe16(long_total, 2, static_cast<uint16_t>(p.size() + 1));
  EXPECT_THAT(ParseIcmpErrorV4(long_total).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The quoted header claims IHL 15 (60 bytes) but 40 are quoted.
  Bytes quote = QuotedUdpProbe();
  quote[0] = 0x4f;
  EXPECT_THAT(ParseIcmpErrorV4(V4Error(11, 0, {0, 0, 0, 0}, quote)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  quote[0] = 0x43;  // IHL 3
  EXPECT_THAT(ParseIcmpErrorV4(V4Error(11, 0, {0, 0, 0, 0}, quote)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IcmpErrorV4, Rfc4884LengthAndTwoMplsLabels) {
  // Length 32 words = 128 bytes of original datagram, then the extension.
  const Bytes body = Concat(Pad128(QuotedUdpProbe()), Extension(MplsObject(kTwoLabels)));
  const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, 32, 0, 0}, body));
  EXPECT_TRUE(e.has_extensions);
  EXPECT_THAT(e.mpls, ElementsAre(kTwoLabels[0], kTwoLabels[1]));
  EXPECT_EQ(e.mpls[0].label, 16001u);
  EXPECT_EQ(e.mpls[0].traffic_class, 5);
  EXPECT_FALSE(e.mpls[0].bottom_of_stack);
  EXPECT_EQ(e.mpls[0].ttl, 1);
  EXPECT_TRUE(e.mpls[1].bottom_of_stack);
  EXPECT_EQ(e.mpls[1].ttl, 255);
  // The quote stops at the quoted total length, not at the padding.
  EXPECT_EQ(e.quote.transport.size(), 20u);
}

TEST(IcmpErrorV4, CompatibilityRuleFindsMplsAtByte128WithLengthZero) {
  const Bytes body = Concat(Pad128(QuotedUdpProbe()), Extension(MplsObject(kTwoLabels)));
  const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, 0, 0, 0}, body));
  EXPECT_TRUE(e.has_extensions);
  EXPECT_THAT(e.mpls, ElementsAre(kTwoLabels[0], kTwoLabels[1]));
}

TEST(IcmpErrorV4, BadExtensionChecksumIsIgnored) {
  const Bytes body = Concat(Pad128(QuotedUdpProbe()),
                            Extension(MplsObject(kTwoLabels), /*break_checksum=*/true));
  for (uint8_t length : {0, 32}) {
    const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, length, 0, 0}, body));
    EXPECT_FALSE(e.has_extensions) << int{length};
    EXPECT_TRUE(e.mpls.empty());
    EXPECT_TRUE(QuotedUdpOf(e.quote).has_value());
  }
}

TEST(IcmpErrorV4, OtherObjectsAreCountedAndSkipped) {
  Bytes other = {0, 8, 2, 1, 1, 2, 3, 4};  // class 2 (interface information)
  const Bytes body = Concat(Pad128(QuotedUdpProbe()),
                            Extension(Concat(other, MplsObject({kTwoLabels[1]}))));
  const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, 32, 0, 0}, body));
  EXPECT_TRUE(e.has_extensions);
  EXPECT_EQ(e.other_extension_objects, 1u);
  EXPECT_THAT(e.mpls, ElementsAre(kTwoLabels[1]));
}

TEST(IcmpErrorV4, LengthBeyondTheBodyAnnouncesNothing) {
  const Bytes body = Concat(Pad128(QuotedUdpProbe()), Extension(MplsObject(kTwoLabels)));
  const IcmpError e = ParseV4OrDie(V4Error(11, 0, {0, 255, 0, 0}, body));
  EXPECT_FALSE(e.has_extensions);
  EXPECT_TRUE(QuotedUdpOf(e.quote).has_value());
}

TEST(IcmpErrorV4, ParameterProblemHasItsLengthInByteFive) {
  const Bytes body =
      Concat(Pad128(QuotedUdpProbe()), Extension(MplsObject({kTwoLabels[1]})));
  const IcmpError e = ParseV4OrDie(V4Error(12, 0, {20, 32, 0, 0}, body));  // pointer 20
  EXPECT_EQ(e.type, 12);
  EXPECT_THAT(e.mpls, ElementsAre(kTwoLabels[1]));
}

// The checks a parsed error must pass whatever it was parsed from.
void ExpectConsistent(const IcmpError& e, size_t bytes) {
  EXPECT_LE(e.quote.transport.size(), bytes);
  if (const auto udp = QuotedUdpOf(e.quote)) {
    EXPECT_LE(udp->payload.size() + 8, e.quote.transport.size());
  }
  if (const auto echo = QuotedEchoOf(e.quote)) {
    EXPECT_EQ(echo->payload.size() + 8, e.quote.transport.size());
  }
  if (e.quote.transport.size() < 8) {
    EXPECT_FALSE(QuotedUdpOf(e.quote).has_value());
    EXPECT_FALSE(QuotedTcpOf(e.quote).has_value());
    EXPECT_FALSE(QuotedEchoOf(e.quote).has_value());
  }
  for (const MplsEntry& m : e.mpls) EXPECT_LT(m.label, 1u << 20);
}

TEST(IcmpErrorV4, EveryPrefixIsAnErrorOrConsistent) {
  const Bytes body =
      Concat(Pad128(QuotedUdpProbe(40)), Extension(MplsObject(kTwoLabels)));
  for (uint8_t length : {0, 32}) {
    const Bytes full = V4Error(11, 0, {0, length, 0, 0}, body);
    for (size_t n = 0; n <= full.size(); ++n) {
      const Bytes prefix(full.begin(), full.begin() + n);
      absl::StatusOr<std::optional<IcmpError>> raw = ParseIcmpErrorV4(prefix);
      // A cut packet no longer matches its total length: always rejected.
      if (n < full.size()) {
        EXPECT_FALSE(raw.ok()) << n;
      }
    }
    // The same cuts made by a router: the ICMP body truncated, lengths and
    // checksum right. Valid once the quote holds the 20-byte IPv4 header.
    for (size_t n = 0; n <= body.size(); ++n) {
      const Bytes cut(body.begin(), body.begin() + n);
      absl::StatusOr<std::optional<IcmpError>> parsed =
          ParseIcmpErrorV4(V4Error(11, 0, {0, length, 0, 0}, cut));
      if (n < 20) {
        EXPECT_FALSE(parsed.ok()) << n;
        continue;
      }
      ASSERT_THAT(parsed.status(), IsOk()) << n;
      ASSERT_TRUE(parsed->has_value());
      ExpectConsistent(**parsed, cut.size());
      EXPECT_EQ((*parsed)->has_extensions, n == body.size()) << n;
    }
  }
}

Bytes QuotedUdpProbeV6(size_t payload = 12) {
  return Ipv6(17, Udp(33434, 33435, Pattern(payload)), 1, 0xabcde);
}

TEST(IcmpErrorV6, TimeExceededQuotingUdpWithFlowLabel) {
  const IcmpError e =
      ParseV6OrDie(IcmpMessage(true, 3, 0, {0, 0, 0, 0}, QuotedUdpProbeV6()));
  EXPECT_EQ(e.type, 3);
  EXPECT_EQ(e.reply_ttl, 0);
  EXPECT_TRUE(e.responder.empty());
  EXPECT_EQ(e.quote.ip_version, 6);
  EXPECT_EQ(e.quote.flow_label, 0xabcdeu);
  EXPECT_EQ(e.quote.protocol, 17);
  EXPECT_EQ(e.quote.ttl, 1);
  EXPECT_EQ(e.quote.total_length, 40u + 20);
  ASSERT_EQ(e.quote.destination.size(), 16u);
  EXPECT_EQ(e.quote.destination[15], 9);
  EXPECT_EQ(e.quote.source[15], 1);
  const std::optional<QuotedUdp> udp = QuotedUdpOf(e.quote);
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(udp->destination_port, 33435);
  EXPECT_EQ(udp->payload.size(), 12u);
}

TEST(IcmpErrorV6, ExtensionHeaderIsReportedNotParsed) {
  Bytes hop_by_hop = {17, 0, 1, 4, 0, 0, 0, 0};
  const IcmpError e = ParseV6OrDie(IcmpMessage(
      true, 3, 0, {0, 0, 0, 0}, Ipv6(0, Concat(hop_by_hop, Udp(1, 2, {})), 1, 0)));
  EXPECT_EQ(e.quote.protocol, 0);
  EXPECT_FALSE(QuotedUdpOf(e.quote).has_value());
}

TEST(IcmpErrorV6, PacketTooBig) {
  const IcmpError e =
      ParseV6OrDie(IcmpMessage(true, 2, 0, {0, 0, 0x05, 0x00}, QuotedUdpProbeV6()));
  EXPECT_EQ(e.type, 2);
  EXPECT_EQ(e.next_hop_mtu, 1280u);
  EXPECT_FALSE(e.has_extensions);
}

TEST(IcmpErrorV6, MplsWithLengthAndByCompatibility) {
  const Bytes body =
      Concat(Pad128(QuotedUdpProbeV6()), Extension(MplsObject(kTwoLabels)));
  for (uint8_t length : {0, 16}) {  // 16 x 8 bytes = 128
    const IcmpError e = ParseV6OrDie(IcmpMessage(true, 3, 0, {length, 0, 0, 0}, body));
    EXPECT_TRUE(e.has_extensions) << int{length};
    EXPECT_THAT(e.mpls, ElementsAre(kTwoLabels[0], kTwoLabels[1]));
    EXPECT_EQ(e.quote.transport.size(), 20u);
  }
}

TEST(IcmpErrorV6, ParameterProblemPointerIsNotALength) {
  // Pointer 16 in bytes 4-7 would read as 16 words (128 bytes) of length;
  // RFC 4884 extends only types 1 and 3.
  const Bytes body =
      Concat(Pad128(QuotedUdpProbeV6()), Extension(MplsObject(kTwoLabels)));
  const IcmpError e = ParseV6OrDie(IcmpMessage(true, 4, 0, {16, 0, 0, 0}, body));
  EXPECT_EQ(e.type, 4);
  EXPECT_FALSE(e.has_extensions);
  EXPECT_TRUE(QuotedUdpOf(e.quote).has_value());
}

TEST(IcmpErrorV6, NonErrorsAndMalformed) {
  absl::StatusOr<std::optional<IcmpError>> echo =
      ParseIcmpErrorV6(BuildEchoRequest(true, 1, 1, 1, 8));
  ASSERT_THAT(echo.status(), IsOk());
  EXPECT_FALSE(echo->has_value());
  EXPECT_THAT(ParseIcmpErrorV6(Bytes{3, 0, 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Bytes quote = QuotedUdpProbeV6();
  quote[0] = 0x45;
  EXPECT_THAT(ParseIcmpErrorV6(IcmpMessage(true, 3, 0, {0, 0, 0, 0}, quote)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IcmpErrorV6, EveryPrefixIsAnErrorOrConsistent) {
  const Bytes full = IcmpMessage(
      true, 3, 0, {16, 0, 0, 0},
      Concat(Pad128(QuotedUdpProbeV6(60)), Extension(MplsObject(kTwoLabels))));
  for (size_t n = 0; n <= full.size(); ++n) {
    const Bytes prefix(full.begin(), full.begin() + n);
    absl::StatusOr<std::optional<IcmpError>> parsed = ParseIcmpErrorV6(prefix);
    if (n < 8 + 40) {
      EXPECT_FALSE(parsed.ok()) << n;
      continue;
    }
    ASSERT_THAT(parsed.status(), IsOk()) << n;
    ASSERT_TRUE(parsed->has_value());
    ExpectConsistent(**parsed, n - 8);
    EXPECT_EQ((*parsed)->has_extensions, n == full.size()) << n;
  }
}

TEST(IcmpExtensions, RejectsBadVersionAndObjectLengths) {
  EXPECT_THAT(ParseIcmpExtensions(Bytes{0x20, 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseIcmpExtensions(Bytes{0x10, 0, 0, 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Checksum 0: not checked.
  EXPECT_THAT(ParseIcmpExtensions(Bytes{0x20, 0, 0, 0, 0, 4, 9, 9}), IsOk());
  for (const Bytes& object :
       {Bytes{0, 0, 1, 1}, Bytes{0, 3, 1, 1, 0, 0, 0, 0}, Bytes{0, 6, 1, 1, 0, 0, 0, 0},
        Bytes{0, 12, 1, 1, 0, 0, 0, 0}, Bytes{0, 4, 1}}) {
    EXPECT_THAT(ParseIcmpExtensions(Extension(object)).status(),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST(IcmpExtensions, ErrorQueueDataFromKernelOffsetOrCompatibility) {
  // The error queue's data starts at the quoted UDP payload.
  const Bytes v4_data = Concat(Pattern(100), Extension(MplsObject(kTwoLabels)));
  std::optional<IcmpExtensions> by_rule = ErrorQueueExtensions(v4_data, 0, 28);
  ASSERT_TRUE(by_rule.has_value());
  EXPECT_THAT(by_rule->mpls, ElementsAre(kTwoLabels[0], kTwoLabels[1]));
  std::optional<IcmpExtensions> by_kernel = ErrorQueueExtensions(v4_data, 100, 28);
  ASSERT_TRUE(by_kernel.has_value());
  EXPECT_EQ(by_kernel->mpls.size(), 2u);
  const Bytes v6_data = Concat(Pattern(80), Extension(MplsObject(kTwoLabels)));
  EXPECT_TRUE(ErrorQueueExtensions(v6_data, 0, 48).has_value());
  EXPECT_FALSE(ErrorQueueExtensions(Pattern(100), 0, 28).has_value());
  EXPECT_FALSE(ErrorQueueExtensions(v4_data, 400, 28).has_value());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::icmp
