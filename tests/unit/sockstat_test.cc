#include "agent/net/sockstat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// Linux 6.1's files, as read.
constexpr char kSockstat[] =
    "sockets: used 10\n"
    "TCP: inuse 4 orphan 1 tw 31 alloc 7 mem 166\n"
    "UDP: inuse 2 mem 0\n"
    "UDPLITE: inuse 0\n"
    "RAW: inuse 1\n"
    "FRAG: inuse 3 memory 4096\n";
constexpr char kSockstat6[] =
    "TCP6: inuse 5\n"
    "UDP6: inuse 6\n"
    "UDPLITE6: inuse 0\n"
    "RAW6: inuse 7\n"
    "FRAG6: inuse 8 memory 0\n";
constexpr char kSnmp[] =
    "Ip: Forwarding DefaultTTL\n"
    "Ip: 1 64\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
    "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 2263 188 2064 93 9 7913 7368 2 0 2156 0\n"
    "Udp: InDatagrams\n"
    "Udp: 5\n";

TEST(ParseSockstat, EveryFigureSsReads) {
  Sockstat s;
  ASSERT_THAT(ParseSockstat(kSockstat, &s), IsOk());
  ASSERT_THAT(ParseSockstat(kSockstat6, &s), IsOk());
  ASSERT_THAT(ParseSnmpTcp(kSnmp, &s), IsOk());
  EXPECT_EQ(s.sockets_used, 10);
  EXPECT_EQ(s.tcp_inuse, 4);
  EXPECT_EQ(s.tcp_orphan, 1);
  EXPECT_EQ(s.tcp_tw, 31);
  EXPECT_EQ(s.tcp_alloc, 7);
  EXPECT_EQ(s.tcp_mem, 166);
  EXPECT_EQ(s.udp_inuse, 2);
  EXPECT_EQ(s.raw_inuse, 1);
  EXPECT_EQ(s.frag_inuse, 3);
  EXPECT_EQ(s.frag_memory, 4096);
  EXPECT_EQ(s.tcp6_inuse, 5);
  EXPECT_EQ(s.udp6_inuse, 6);
  EXPECT_EQ(s.raw6_inuse, 7);
  EXPECT_EQ(s.frag6_inuse, 8);
  EXPECT_EQ(s.tcp_curr_estab, 9);
}

TEST(ParseSockstat, BadInputIsAnErrorNotAZero) {
  Sockstat s;
  EXPECT_THAT(ParseSockstat("TCP: inuse x orphan 0\n", &s),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sockstat: TCP: inuse 'x' is not a number")));
  // A truncated line or an unknown key is no error: what is there counts.
  EXPECT_THAT(ParseSockstat("TCP: inuse\nNEW: inuse 3\n", &s), IsOk());
  EXPECT_THAT(ParseSnmpTcp("Tcp: CurrEstab\n", &s),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("snmp: no Tcp:")));
  EXPECT_THAT(ParseSnmpTcp("Tcp: A B\nTcp: 1 2\n", &s),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no CurrEstab")));
  EXPECT_THAT(
      ParseSnmpTcp("Tcp: CurrEstab\nTcp: z\n", &s),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'z' is not a number")));
}

TEST(ReadSockstat, ThisHostsFilesAndAMissingDirectory) {
  auto real = ReadSockstat();
  ASSERT_THAT(real, IsOk());
  EXPECT_GT(real->sockets_used, 0);
  EXPECT_THAT(
      ReadSockstat("/nonexistent-netprobe"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-netprobe/sockstat")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
