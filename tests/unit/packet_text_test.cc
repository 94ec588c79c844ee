// The packet decoder on fixed byte arrays: packets captured with tcpdump on a
// veth pair (the expected text is what `tcpdump -n -S` printed for them),
// hand-made ones for the rarer cases, and malformed ones.
#include "client/output/packet_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/output/capture_totals.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::AnyOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Bytes = std::vector<uint8_t>;

Bytes Hex(absl::string_view hex) {
  const std::string bytes = absl::HexStringToBytes(hex);
  return Bytes(bytes.begin(), bytes.end());
}

std::string Describe(uint32_t link_type, const Bytes& packet) {
  return DescribePacket(link_type, static_cast<uint32_t>(packet.size()), packet);
}

// Ethernet destination and source (02:00:00:00:00:0b < 02:00:00:00:00:0a).
constexpr absl::string_view kMacs = "02000000000b02000000000a";

// 198.18.0.10.40000 > 198.18.0.11.5000, 11 bytes "hello world" (captured).
constexpr absl::string_view kIpv4Udp =
    "45000027a953400040110539c612000ac612000b9c40138800138c5e68656c6c6f20776f726c64";
// 2001:2::a.40000 > 2001:2::b.5000, 11 bytes (captured).
constexpr absl::string_view kIpv6Udp =
    "600cc27f001311402001000200000000000000000000000a2001000200000000000000000000000b"
    "9c4013880013403f68656c6c6f20776f726c64";

Bytes Ether(absl::string_view type, absl::string_view payload) {
  return Hex(absl::StrCat(kMacs, type, payload));
}

TEST(DescribePacket, EthernetIpv4Udp) {
  EXPECT_EQ(Describe(kDltEthernet, Ether("0800", kIpv4Udp)),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
}

TEST(DescribePacket, EthernetIpv6Udp) {
  EXPECT_EQ(Describe(kDltEthernet, Ether("86dd", kIpv6Udp)),
            "IP6 2001:2::a.40000 > 2001:2::b.5000: UDP, length 11");
}

TEST(DescribePacket, TcpHandshakeWithOptions) {
  const Bytes syn = Hex(
      "2eaa568571277e8e355698e708004500003cdf2040004006cf61c612000ac612000b9c4100500bde"
      "02cf00000000a002faf08c680000020405b40402080afa842ee3000000000103030a");
  EXPECT_EQ(Describe(kDltEthernet, syn),
            "IP 198.18.0.10.40001 > 198.18.0.11.80: Flags [S], seq 199099087, win 64240, "
            "options [mss 1460,sackOK,TS val 4202966755 ecr 0,nop,wscale 10], length 0");
  const Bytes syn_ack = Hex(
      "7e8e355698e72eaa5685712708004500003c000040004006ae82c612000bc612000a00509c418897"
      "22e00bde02d0a012fe888c680000020405b40402080a68c26c50fa842ee30103030a");
  EXPECT_EQ(Describe(kDltEthernet, syn_ack),
            "IP 198.18.0.11.80 > 198.18.0.10.40001: Flags [S.], seq 2291606240, ack "
            "199099088, win 65160, options [mss 1460,sackOK,TS val 1757572176 ecr "
            "4202966755,nop,wscale 10], length 0");
  const Bytes rst_ack = Hex(
      "7e8e355698e72eaa56857127080045000028000040004006ae96c612000bc612000a00519c420000"
      "0000f7fb0cc850140000823f0000");
  EXPECT_EQ(
      Describe(kDltEthernet, rst_ack),
      "IP 198.18.0.11.81 > 198.18.0.10.40002: Flags [R.], seq 0, ack 4160425160, win "
      "0, length 0");
}

// A TCP segment 198.18.0.10.40001 > 198.18.0.11.8080, seq 1000, ack 2000,
// window 512, with `flags` and `payload`.
Bytes TcpSegment(uint8_t flags, absl::string_view payload_hex = "") {
  const size_t total = 40 + payload_hex.size() / 2;
  return Hex(absl::StrCat(kMacs, "0800", "4500", absl::Hex(total, absl::kZeroPad4),
                          "0001000040060000c612000ac612000b"
                          "9c411f90000003e8000007d050",
                          absl::Hex(flags, absl::kZeroPad2), "020000000000",
                          payload_hex));
}

TEST(DescribePacket, TcpFlagsSequenceAndPayload) {
  const std::string ends = "IP 198.18.0.10.40001 > 198.18.0.11.8080: ";
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0x18, "68656c6c6f")),
            ends + "Flags [P.], seq 1000:1005, ack 2000, win 512, length 5");
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0x10)),
            ends + "Flags [.], ack 2000, win 512, length 0");
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0x11)),
            ends + "Flags [F.], seq 1000, ack 2000, win 512, length 0");
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0x04)),
            ends + "Flags [R], seq 1000, win 512, length 0");
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0x00)),
            ends + "Flags [none], win 512, length 0");
  EXPECT_EQ(Describe(kDltEthernet, TcpSegment(0xff)),
            ends + "Flags [FSRP.UEW], seq 1000, ack 2000, win 512, urg 0, length 0");
}

TEST(DescribePacket, IcmpEchoAndErrors) {
  const Bytes echo = Hex(
      "2eaa568571277e8e355698e7080045000054e28e40004001cbe0c612000ac612000b0800d28a0dd7"
      "0001402d0d6b0000000000320b0000000000101112131415161718191a1b1c1d1e1f202122232425"
      "262728292a2b2c2d2e2f3031323334353637");
  EXPECT_EQ(Describe(kDltEthernet, echo),
            "IP 198.18.0.10 > 198.18.0.11: ICMP echo request, id 3543, seq 1, length 64");
  const Bytes port_unreachable = Hex(
      "7e8e355698e72eaa56857127080045c000437ddf000040016fe1c612000bc612000a03032ef30000"
      "000045000027cc5240004011e239c612000ac612000b9c40138900138c5e68656c6c6f20776f726c"
      "64");
  EXPECT_EQ(Describe(kDltEthernet, port_unreachable),
            "IP 198.18.0.11 > 198.18.0.10: ICMP 198.18.0.11 udp port 5001 unreachable, "
            "length 47");
}

// An ICMP error from 198.18.0.1 quoting a UDP datagram to 198.18.0.11.
Bytes IcmpError(uint8_t type, uint8_t code, absl::string_view rest = "00000000") {
  return Ether("0800", absl::StrCat("4500003d0001000040010000c6120001c612000a",
                                    absl::Hex(type, absl::kZeroPad2),
                                    absl::Hex(code, absl::kZeroPad2), "0000", rest,
                                    "450000210001000040110000c612000ac612000b"
                                    "9c401389000d000068656c6c6f"));
}

TEST(DescribePacket, IcmpErrorTexts) {
  const std::string ends = "IP 198.18.0.1 > 198.18.0.10: ICMP ";
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 0)),
            ends + "net 198.18.0.11 unreachable, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 1)),
            ends + "host 198.18.0.11 unreachable, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 2)),
            ends + "198.18.0.11 protocol 17 unreachable, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 4, "000005dc")),
            ends + "198.18.0.11 unreachable - need to frag (mtu 1500), length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 13)),
            ends + "host 198.18.0.11 unreachable - admin prohibited filter, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(3, 99)),
            ends + "198.18.0.11 unreachable - #99, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(11, 0)),
            ends + "time exceeded in-transit, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(11, 1)),
            ends + "ip reassembly time exceeded, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(5, 1, "c61200fe")),
            ends + "redirect 198.18.0.11 to host 198.18.0.254, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(12, 0, "05000000")),
            ends + "parameter problem - octet 5, length 41");
  EXPECT_EQ(Describe(kDltEthernet, IcmpError(42, 0)), ends + "type-#42, length 41");
}

TEST(DescribePacket, Icmp6) {
  const Bytes echo = Hex(
      "2eaa568571277e8e355698e786dd600127f700403a402001000200000000000000000000000a2001"
      "000200000000000000000000000b8000e7ad0de30001412d0d6b000000002e6d0e00000000001011"
      "12131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");
  EXPECT_EQ(Describe(kDltEthernet, echo),
            "IP6 2001:2::a > 2001:2::b: ICMP6, echo request, id 3555, seq 1, length 64");
  const Bytes solicitation = Hex(
      "3333ff00000b7e8e355698e786dd6000000000203aff2001000200000000000000000000000aff02"
      "00000000000000000001ff00000b8700ecac000000002001000200000000000000000000000b0101"
      "7e8e355698e7");
  EXPECT_EQ(Describe(kDltEthernet, solicitation),
            "IP6 2001:2::a > ff02::1:ff00:b: ICMP6, neighbor solicitation, who has "
            "2001:2::b, length 32");
  const Bytes advertisement = Hex(
      "7e8e355698e72eaa5685712786dd6000000000203aff2001000200000000000000000000000b2001"
      "000200000000000000000000000a8800bf23600000002001000200000000000000000000000b0201"
      "2eaa56857127");
  EXPECT_EQ(Describe(kDltEthernet, advertisement),
            "IP6 2001:2::b > 2001:2::a: ICMP6, neighbor advertisement, tgt is 2001:2::b, "
            "length 32");
  const Bytes router_solicitation = Hex(
      "3333000000022eaa5685712786dd6000000000103afffe800000000000002caa56fffe857127ff02"
      "0000000000000000000000000002850092800000000001012eaa56857127");
  EXPECT_EQ(
      Describe(kDltEthernet, router_solicitation),
      "IP6 fe80::2caa:56ff:fe85:7127 > ff02::2: ICMP6, router solicitation, length 16");
  const Bytes port_unreachable = Hex(
      "7e8e355698e72eaa5685712786dd6008231700433a402001000200000000000000000000000b2001"
      "000200000000000000000000000a0104c87f00000000600cc27f001311402001000200000000000000"
      "000000000a2001000200000000000000000000000b9c4013880013403f68656c6c6f20776f726c64");
  EXPECT_EQ(
      Describe(kDltEthernet, port_unreachable),
      "IP6 2001:2::b > 2001:2::a: ICMP6, destination unreachable, unreachable port, "
      "2001:2::b udp port 5000, length 67");
}

// An ICMPv6 message 2001:2::a > 2001:2::b; `body` follows the checksum.
Bytes Icmp6(absl::string_view type_code, absl::string_view body) {
  const size_t length = 4 + body.size() / 2;
  return Ether("86dd",
               absl::StrCat("60000000", absl::Hex(length, absl::kZeroPad4), "3a40",
                            "2001000200000000000000000000000a",
                            "2001000200000000000000000000000b", type_code, "0000", body));
}

TEST(DescribePacket, Icmp6Errors) {
  const std::string quoted = absl::StrCat("00000000", kIpv6Udp.substr(0, 80));
  const std::string ends = "IP6 2001:2::a > 2001:2::b: ICMP6, ";
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("0100", quoted)),
            ends + "destination unreachable, unreachable route 2001:2::b, length 48");
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("0300", quoted)),
            ends + "time exceeded in-transit for 2001:2::b, length 48");
  EXPECT_EQ(
      Describe(kDltEthernet, Icmp6("0200", absl::StrCat("00000500", quoted.substr(8)))),
      ends + "packet too big, mtu 1280, length 48");
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("8100", "007b0001")),
            ends + "echo reply, id 123, seq 1, length 8");
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("8500", "00000000")),
            ends + "router solicitation, length 8");
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("8600", "40000708000000000000000000")),
            ends + "router advertisement, length 17");
  EXPECT_EQ(Describe(kDltEthernet, Icmp6("6400", "00000000")),
            ends + "unknown icmp6 type (100), length 8");
}

TEST(DescribePacket, Ipv6ExtensionHeaders) {
  // Hop-by-hop (router alert) before an MLDv2 report, as the kernel sends.
  const Bytes mld = Ether(
      "86dd",
      "6000000000240001fe800000000000000000000000000001ff020000000000000000000000000016"
      "3a000502000001008f0000000000000104000000ff0200000000000000000000000000fb");
  EXPECT_EQ(Describe(kDltEthernet, mld),
            "IP6 fe80::1 > ff02::16: HBH ICMP6, multicast listener report v2, 1 group "
            "record(s), length 28");
  // First and later fragments of a UDP datagram.
  const std::string addresses =
      "2001000200000000000000000000000a2001000200000000000000000000000b";
  EXPECT_EQ(Describe(kDltEthernet,
                     Ether("86dd",
                           absl::StrCat("6000000000182c40", addresses, "1100000100000009",
                                        "9c40138800140000", "68656c6c6f20776f"))),
            "IP6 2001:2::a > 2001:2::b: frag (0|16) 40000 > 5000: UDP, length 12");
  EXPECT_EQ(
      Describe(kDltEthernet, Ether("86dd", absl::StrCat("60000000000c2c40", addresses,
                                                        "1100001000000009", "726c6421"))),
      "IP6 2001:2::a > 2001:2::b: frag (16|4)");
  EXPECT_EQ(Describe(kDltEthernet,
                     Ether("86dd",
                           absl::StrCat("6000000000183c40", addresses, "1100010400000000",
                                        "9c40138800100000", "68656c6c6f212121"))),
            "IP6 2001:2::a > 2001:2::b: DSTOPT 40000 > 5000: UDP, length 8");
  EXPECT_EQ(
      Describe(kDltEthernet, Ether("86dd", absl::StrCat("6000000000003b40", addresses))),
      "IP6 2001:2::a > 2001:2::b: no next header");
}

TEST(DescribePacket, Ipv4Fragments) {
  // The first fragment of a 3000-byte ping, cut by a 64-byte snap length.
  const Bytes first = Hex(
      "2eaa568571277e8e355698e70800450005dce37220004001e574c612000ac612000b0800bb670dfb"
      "0001422d0d6b00000000ff55000000000000101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(
      DescribePacket(kDltEthernet, 1514, first),
      "IP 198.18.0.10 > 198.18.0.11: ICMP echo request, id 3579, seq 1, length 1480 "
      "(frag 58226:1480@0+)");
  const Bytes last = Hex(
      "2eaa568571277e8e355698e7080045000044e37201724001099bc612000ac612000b88898a8b8c8d"
      "8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5"
      "b6b7");
  EXPECT_EQ(Describe(kDltEthernet, last),
            "IP 198.18.0.10 > 198.18.0.11: ip-proto-1 (frag 58226:48@2960)");
}

TEST(DescribePacket, Arp) {
  EXPECT_EQ(
      Describe(kDltEthernet,
               Hex("ffffffffffff7e8e355698e7080600010800060400017e8e355698e7c612000a"
                   "000000000000c612000b")),
      "ARP, Request who-has 198.18.0.11 tell 198.18.0.10, length 28");
  EXPECT_EQ(
      Describe(kDltEthernet,
               Hex("7e8e355698e72eaa56857127080600010800060400022eaa56857127c612000b"
                   "7e8e355698e7c612000a")),
      "ARP, Reply 198.18.0.11 is-at 2e:aa:56:85:71:27, length 28");
  // Padded to Ethernet's minimum, with the target's address filled in.
  EXPECT_EQ(
      Describe(kDltEthernet,
               Ether("0806", absl::StrCat("0001080006040001", "02000000000ac612000a",
                                          "02000000000bc612000b", std::string(36, '0')))),
      "ARP, Request who-has 198.18.0.11 (02:00:00:00:00:0b) tell 198.18.0.10, "
      "length 46");
  EXPECT_EQ(Describe(kDltEthernet, Ether("0806", absl::StrCat("000186dd06100001",
                                                              std::string(88, '0')))),
            "ARP, Ethernet (len 6), IPv6 (len 16), length 52");
}

TEST(DescribePacket, VlanTags) {
  EXPECT_EQ(Describe(kDltEthernet, Ether("8100", absl::StrCat("00640800", kIpv4Udp))),
            "vlan 100, IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
  EXPECT_EQ(Describe(kDltEthernet,
                     Ether("88a8", absl::StrCat("00c88100", "2064", "86dd", kIpv6Udp))),
            "vlan 200, vlan 100, IP6 2001:2::a.40000 > 2001:2::b.5000: UDP, length 11");
  EXPECT_EQ(Describe(kDltEthernet, Ether("8100", "0064")), "[|vlan]");
  // Tags nested without end stop at a bound.
  std::string tags;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&tags, "00018100");
  EXPECT_THAT(Describe(kDltEthernet, Ether("8100", tags)),
              HasSubstr("vlan tags nested too deep"));
}

TEST(DescribePacket, OtherEtherTypesAndLlc) {
  EXPECT_EQ(Describe(kDltEthernet, Ether("88cc", std::string(92, '0'))),
            "02:00:00:00:00:0a > 02:00:00:00:00:0b, ethertype LLDP (0x88cc), length 60");
  EXPECT_EQ(
      Describe(kDltEthernet, Ether("88b5", "00")),
      "02:00:00:00:00:0a > 02:00:00:00:00:0b, ethertype Unknown (0x88b5), length 15");
  EXPECT_EQ(
      Describe(kDltEthernet, Ether("0026", absl::StrCat("424203", std::string(70, '0')))),
      "LLC, dsap 0x42, ssap 0x42, ctrl 0x03, length 38");
  EXPECT_EQ(Describe(kDltEthernet,
                     Ether("0033", absl::StrCat("aaaa03000000", "0800", kIpv4Udp))),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
}

TEST(DescribePacket, LinuxCooked) {
  // SLL v1: packet type, ARPHRD, address length, address, protocol.
  EXPECT_EQ(Describe(kDltLinuxSll, Hex(absl::StrCat("000400010006", "02000000000a0000",
                                                    "0800", kIpv4Udp))),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
  // SLL v2 as libpcap wrote it for `tcpdump -i any`: interface 2, outgoing.
  const Bytes arp = Hex(
      "0806000000000002000104067e8e355698e7000000010800060400017e8e355698e7c612000a0000"
      "00000000c612000b");
  EXPECT_EQ(Describe(kDltLinuxSll2, arp),
            "ifindex 2 Out ARP, Request who-has 198.18.0.11 tell 198.18.0.10, length 28");
  const InterfaceNames names = {{1, "lo"}, {2, "eth0"}};
  EXPECT_EQ(DescribePacket(kDltLinuxSll2, static_cast<uint32_t>(arp.size()), arp, &names),
            "eth0  Out ARP, Request who-has 198.18.0.11 tell 198.18.0.10, length 28");
  const Bytes in =
      Hex(absl::StrCat("86dd00000000000100010006", "02000000000a0000", kIpv6Udp));
  EXPECT_EQ(DescribePacket(kDltLinuxSll2, static_cast<uint32_t>(in.size()), in, &names),
            "lo    In  IP6 2001:2::a.40000 > 2001:2::b.5000: UDP, length 11");
}

TEST(DescribePacket, RawIpLinkTypes) {
  for (uint32_t link_type : {kDltRaw, kDltRawOpenBsd, kLinktypeRaw, kDltIpv4, kDltIpv6}) {
    SCOPED_TRACE(link_type);
    EXPECT_EQ(Describe(link_type, Hex(kIpv4Udp)),
              "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
    EXPECT_EQ(Describe(link_type, Hex(kIpv6Udp)),
              "IP6 2001:2::a.40000 > 2001:2::b.5000: UDP, length 11");
    EXPECT_EQ(Describe(link_type, Hex("50")), "unknown ip 5");
  }
}

TEST(DescribePacket, LoopbackFamiliesInEitherByteOrder) {
  const std::string v4 = "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11";
  const std::string v6 = "IP6 2001:2::a.40000 > 2001:2::b.5000: UDP, length 11";
  for (uint32_t link_type : {kDltNull, kDltLoop}) {
    SCOPED_TRACE(link_type);
    EXPECT_EQ(Describe(link_type, Hex(absl::StrCat("02000000", kIpv4Udp))), v4);
    EXPECT_EQ(Describe(link_type, Hex(absl::StrCat("00000002", kIpv4Udp))), v4);
    EXPECT_EQ(Describe(link_type, Hex(absl::StrCat("0a000000", kIpv6Udp))), v6);
    EXPECT_EQ(Describe(link_type, Hex(absl::StrCat("0000001e", kIpv6Udp))), v6);
    EXPECT_EQ(Describe(link_type, Hex("07000000ff")), "AF 7, length 5");
  }
}

TEST(DescribePacket, UnknownLinkType) {
  EXPECT_EQ(Describe(147, Hex(kIpv4Udp)), "unsupported link-type 147, length 39");
}

// `inner` in an IPv4 header from 198.18.0.1 to 10.0.0.2, protocol IP in IP.
std::string IpInIp(const std::string& inner_hex) {
  return absl::StrCat("4500", absl::Hex(20 + inner_hex.size() / 2, absl::kZeroPad4),
                      "0001000040040000c61200010a000002", inner_hex);
}

TEST(DescribePacket, IpIpTunnelNestsBoundedly) {
  EXPECT_EQ(Describe(kDltIpv4, Hex(IpInIp(std::string(kIpv4Udp)))),
            "IP 198.18.0.1 > 10.0.0.2: IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, "
            "length 11");
  std::string nested(kIpv4Udp);
  for (int i = 0; i < 10; ++i) nested = IpInIp(nested);
  EXPECT_THAT(Describe(kDltIpv4, Hex(nested)),
              EndsWith("IP 198.18.0.1 > 10.0.0.2: ip-proto-4 159"));
}

TEST(DescribePacket, BadIpv4Headers) {
  // IHL 0, 4 and 15 (60 bytes, more than the total length says).
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat("40", kIpv4Udp.substr(2)))),
            "IP bad-hlen 0");
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat("44", kIpv4Udp.substr(2)))),
            "IP bad-hlen 16");
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat("4f", kIpv4Udp.substr(2)))),
            "IP bad-len 39");
  // A total length beyond the bytes on the wire.
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat("450000c8", kIpv4Udp.substr(8)))),
            "IP truncated-ip - 161 bytes missing! 198.18.0.10.40000 > 198.18.0.11.5000: "
            "UDP, length 11");
  // A UDP length beyond the IP payload, and one below the UDP header.
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat(kIpv4Udp.substr(0, 48), "0064",
                                                kIpv4Udp.substr(52)))),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, bad length 92 > 11");
  EXPECT_EQ(Describe(kDltIpv4, Hex(absl::StrCat(kIpv4Udp.substr(0, 48), "0004",
                                                kIpv4Udp.substr(52)))),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: truncated-udplength 4");
  EXPECT_EQ(Describe(kDltEthernet, Ether("0800", absl::StrCat("65", kIpv4Udp.substr(2)))),
            "IP6, wrong link-layer encapsulation");
}

TEST(DescribePacket, BadTcpHeaders) {
  Bytes short_offset = TcpSegment(0x10);
  short_offset[14 + 20 + 12] = 0x40;  // 16 bytes
  EXPECT_THAT(Describe(kDltEthernet, short_offset),
              EndsWith("8080: tcp 4 [bad hdr length 16 - too short, < 20]"));
  Bytes long_offset = TcpSegment(0x10);
  long_offset[14 + 20 + 12] = 0xf0;  // 60 bytes
  EXPECT_THAT(Describe(kDltEthernet, long_offset),
              EndsWith("8080: Flags [.] [bad hdr length 60 - too long, > 20]"));
  Bytes bad_option = TcpSegment(0x10);
  bad_option[14 + 20 + 12] = 0x60;
  bad_option[14 + 3] = static_cast<uint8_t>(bad_option[14 + 3] + 4);
  for (uint8_t b : {0x02, 0x09, 0x05, 0xb4}) bad_option.push_back(b);
  EXPECT_THAT(Describe(kDltEthernet, bad_option),
              HasSubstr("options [[bad opt]], length 0"));
}

// Every prefix of a valid packet must decode without reading past it, and
// say that it was cut wherever the full packet said more.
void ExpectEveryPrefixIsSafe(uint32_t link_type, const Bytes& packet) {
  const std::string full = Describe(link_type, packet);
  for (size_t n = 0; n < packet.size(); ++n) {
    SCOPED_TRACE(absl::StrCat("first ", n, " of ", packet.size(), " bytes"));
    const Bytes cut(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(n));
    // As cut by a snap length: the wire had all of it.
    const std::string snapped =
        DescribePacket(link_type, static_cast<uint32_t>(packet.size()), cut);
    EXPECT_THAT(snapped, AnyOf(HasSubstr("[|"), full));
    // As if the packet itself were that short.
    const std::string shortened = Describe(link_type, cut);
    EXPECT_THAT(shortened,
                AnyOf(HasSubstr("[|"), HasSubstr("truncated"), HasSubstr("bad"),
                      HasSubstr("length"), HasSubstr("invalid")));
  }
}

TEST(DescribePacket, TruncatedAtEveryLayer) {
  ExpectEveryPrefixIsSafe(kDltEthernet, Ether("0800", kIpv4Udp));
  ExpectEveryPrefixIsSafe(kDltEthernet, Ether("86dd", kIpv6Udp));
  ExpectEveryPrefixIsSafe(kDltEthernet, TcpSegment(0x18, "68656c6c6f"));
  ExpectEveryPrefixIsSafe(kDltEthernet, IcmpError(3, 3));
  ExpectEveryPrefixIsSafe(kDltEthernet,
                          Ether("8100", absl::StrCat("00640800", kIpv4Udp)));
  ExpectEveryPrefixIsSafe(kDltLinuxSll2, Hex(absl::StrCat("86dd00000000000100010006",
                                                          "02000000000a0000", kIpv6Udp)));
  ExpectEveryPrefixIsSafe(
      kDltEthernet, Hex("ffffffffffff7e8e355698e7080600010800060400017e8e355698e7c612"
                        "000a000000000000c612000b"));
}

TEST(DescribePacket, CutHeadersSayWhere) {
  const Bytes udp = Ether("0800", kIpv4Udp);
  auto cut = [](const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + n); };
  EXPECT_EQ(DescribePacket(kDltEthernet, 53, cut(udp, 10)), "[|ether]");
  EXPECT_EQ(DescribePacket(kDltEthernet, 53, cut(udp, 20)), "IP [|ip]");
  EXPECT_EQ(DescribePacket(kDltEthernet, 53, cut(udp, 36)),
            "IP 198.18.0.10 > 198.18.0.11: [|udp]");
  EXPECT_EQ(DescribePacket(kDltEthernet, 53, cut(udp, 38)),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: [|udp]");
  // The UDP header is all the line needs.
  EXPECT_EQ(DescribePacket(kDltEthernet, 53, cut(udp, 42)),
            "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11");
  EXPECT_EQ(DescribePacket(kDltEthernet, 74, cut(TcpSegment(0x02), 50)),
            "IP 198.18.0.10.40001 > 198.18.0.11.8080: [|tcp]");
  EXPECT_EQ(DescribePacket(kDltEthernet, 75, cut(IcmpError(3, 3), 40)),
            "IP 198.18.0.1 > 198.18.0.10: [|icmp]");
}

TEST(DescribePacket, EmptyPacketOfEveryLinkType) {
  for (uint32_t link_type :
       {kDltNull, kDltEthernet, kDltRaw, kDltRawOpenBsd, kLinktypeRaw, kDltLoop,
        kDltLinuxSll, kDltIpv4, kDltIpv6, kDltLinuxSll2}) {
    SCOPED_TRACE(link_type);
    EXPECT_THAT(Describe(link_type, {}), StartsWith("[|"));
  }
}

TEST(FormatPacketLine, TcpdumpTimeAndNewline) {
  // 2023-11-14 22:13:20.123456789 UTC: tcpdump shows microseconds, truncated.
  const absl::Time time = absl::FromUnixNanos(1700000000123456789);
  EXPECT_EQ(FormatPacketLine(kDltEthernet, time, 53, Ether("0800", kIpv4Udp),
                             absl::UTCTimeZone()),
            "22:13:20.123456 IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 11\n");
  EXPECT_THAT(FormatPacketLine(kDltEthernet, time, 53, Ether("0800", kIpv4Udp),
                               absl::FixedTimeZone(3600)),
              StartsWith("23:13:20.123456 IP "));
}

TEST(FormatCaptureTotals, TcpdumpClosingLines) {
  v1::CaptureStats stats;
  stats.set_received(5);
  stats.set_kernel_dropped(0);
  stats.set_agent_dropped(1);
  EXPECT_EQ(FormatCaptureTotals(3, stats),
            "3 packets captured\n"
            "5 packets received by filter\n"
            "0 packets dropped by kernel\n"
            "1 packet dropped by agent (client read too slowly)\n");
  stats.set_interface_dropped(2);
  stats.set_received(1);
  EXPECT_EQ(FormatCaptureTotals(1, stats),
            "1 packet captured\n"
            "1 packet received by filter\n"
            "0 packets dropped by kernel\n"
            "2 packets dropped by interface\n"
            "1 packet dropped by agent (client read too slowly)\n");
}

// tcpdump's relative numbers (print-tcp.c): the SYN (no ACK) and the first
// packet with ACK (the SYN-ACK) print as they are and set the bases; after
// them both directions count from 1.
TEST(TcpSequenceNumbers, RelativeToTheConversationsFirstAckedPacket) {
  TcpSequenceNumbers table;
  const std::string client = "198.18.0.11", server = "198.18.0.10";
  uint32_t seq = 1000, ack = 0;
  table.Relativize(client, 40000, server, 80, /*syn=*/true, /*ack_set=*/false, &seq,
                   &ack);
  EXPECT_EQ(seq, 1000u) << "a SYN without ACK stays absolute";
  seq = 5000, ack = 1001;  // SYN-ACK
  table.Relativize(server, 80, client, 40000, true, true, &seq, &ack);
  EXPECT_EQ(seq, 5000u);
  EXPECT_EQ(ack, 1001u);
  seq = 1001, ack = 5001;  // the client's ACK, then data both ways
  table.Relativize(client, 40000, server, 80, false, true, &seq, &ack);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(ack, 1u);
  seq = 5001, ack = 1101;
  table.Relativize(server, 80, client, 40000, false, true, &seq, &ack);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(ack, 101u);
  // Another conversation keeps its own bases.
  seq = 77, ack = 88;
  table.Relativize(client, 40001, server, 80, false, true, &seq, &ack);
  EXPECT_EQ(seq, 77u);
  seq = 78, ack = 89;
  table.Relativize(client, 40001, server, 80, false, true, &seq, &ack);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(ack, 2u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
