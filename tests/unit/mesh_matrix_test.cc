// `netprobe mesh` pure pieces on fixed inputs: the median, the text matrix,
// the JSON cell, the probe address (literal host or GetInfo) and chunking.
#include "client/output/mesh_matrix.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/commands/mesh_plan.h"
#include "google/protobuf/text_format.h"
#include "netprobe/v1/agent.pb.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

absl::Duration Us(int us) { return absl::Microseconds(us); }

TEST(MeshMedian, OddEvenAndEmpty) {
  EXPECT_EQ(MedianRtt({}), std::nullopt);
  EXPECT_THAT(MedianRtt({Us(30)}), Optional(Us(30)));
  EXPECT_THAT(MedianRtt({Us(90), Us(10), Us(40)}), Optional(Us(40)));
  EXPECT_THAT(MedianRtt({Us(40), Us(10), Us(20), Us(900)}), Optional(Us(30)));
}

MeshCell Cell(std::string s, std::string d, std::optional<double> loss,
              std::optional<absl::Duration> rtt, std::string error = "") {
  MeshCell c;
  c.source = std::move(s);
  c.destination = std::move(d);
  c.address = "198.18.0.1";
  c.sent = 3;
  c.received = loss && *loss == 0 ? 3 : 0;
  c.loss_percent = loss;
  c.rtt_median = rtt;
  c.error = std::move(error);
  return c;
}

TEST(MeshMatrixText, TwoTablesDiagonalErrorsAndNoAnswer) {
  const std::vector<MeshCell> cells = {
      Cell("a", "bb", 0, Us(45)),
      Cell("a", "c", 100, std::nullopt, "destination has no probe address"),
      Cell("bb", "a", 0, Us(1234)),
      Cell("bb", "c", 100, std::nullopt, "destination has no probe address"),
      Cell("c", "a", std::nullopt, std::nullopt, "source GetInfo: agent unreachable"),
      Cell("c", "bb", std::nullopt, std::nullopt, "source GetInfo: agent unreachable"),
  };
  EXPECT_EQ(FormatMeshMatrix({"a", "bb", "c"}, cells),
            "--- mesh loss % (row: source, column: destination) ---\n"
            "      a   bb     c\n"
            "a     -   0%  100%\n"
            "bb   0%    -  100%\n"
            "c   err  err     -\n"
            "\n"
            "--- mesh median RTT ms (*: no answer) ---\n"
            "        a     bb  c\n"
            "a       -  0.045  *\n"
            "bb  1.234      -  *\n"
            "c     err    err  -\n");
}

TEST(MeshMatrixText, MissingPairIsAQuestionMark) {
  EXPECT_THAT(FormatMeshMatrix({"a", "b"}, {Cell("a", "b", 0, Us(1))}),
              HasSubstr("\nb  ?   -\n"));
}

TEST(MeshMatrixJson, EveryFieldNullsWhenUnmeasured) {
  EXPECT_EQ(
      FormatMeshCellJson(Cell("a", "b", 0, Us(45))),
      "{\"source\":\"a\",\"destination\":\"b\",\"address\":\"198.18.0.1\","
      "\"sent\":3,\"received\":3,\"loss\":0,\"rtt_median_ms\":0.045,\"error\":\"\"}");
  MeshCell partial = Cell("a", "b", 33.3333333, Us(2500));
  partial.received = 2;
  EXPECT_THAT(FormatMeshCellJson(partial),
              HasSubstr("\"received\":2,\"loss\":33.3333,\"rtt_median_ms\":2.500,"));
  EXPECT_THAT(FormatMeshCellJson(Cell("a", "b", std::nullopt, std::nullopt, "x\"y")),
              HasSubstr("\"loss\":null,\"rtt_median_ms\":null,\"error\":\"x\\\"y\"}"));
}

TEST(MeshPlan, LiteralHostOfTheFamily) {
  using v1::ADDRESS_FAMILY_IPV4;
  using v1::ADDRESS_FAMILY_IPV6;
  using v1::ADDRESS_FAMILY_UNSPECIFIED;
  EXPECT_THAT(IpLiteralHost("198.18.0.10:7431", ADDRESS_FAMILY_UNSPECIFIED),
              Optional(std::string("198.18.0.10")));
  EXPECT_THAT(IpLiteralHost("ipv4:198.18.0.10:7431", ADDRESS_FAMILY_IPV4),
              Optional(std::string("198.18.0.10")));
  EXPECT_THAT(IpLiteralHost("[2001:2::a]:7431", ADDRESS_FAMILY_UNSPECIFIED),
              Optional(std::string("2001:2::a")));
  EXPECT_THAT(IpLiteralHost("ipv6:[2001:2::a]:7431", ADDRESS_FAMILY_IPV6),
              Optional(std::string("2001:2::a")));
  EXPECT_EQ(IpLiteralHost("198.18.0.10:7431", ADDRESS_FAMILY_IPV6), std::nullopt);
  EXPECT_EQ(IpLiteralHost("[2001:2::a]:7431", ADDRESS_FAMILY_IPV4), std::nullopt);
  EXPECT_EQ(IpLiteralHost("unix:/run/netprobe/agent.sock", ADDRESS_FAMILY_IPV4),
            std::nullopt);
  EXPECT_EQ(IpLiteralHost("unix-abstract:np", ADDRESS_FAMILY_IPV4), std::nullopt);
  EXPECT_EQ(IpLiteralHost("agent.lab:7431", ADDRESS_FAMILY_UNSPECIFIED), std::nullopt);
}

v1::AgentInfo Info(const std::string& text) {
  v1::AgentInfo info;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &info)) << text;
  return info;
}

TEST(MeshPlan, FirstGlobalAddressOfAnInterfaceThatIsUp) {
  const v1::AgentInfo info = Info(R"pb(
    hostname: "h1"
    interfaces {
      name: "lo"
      flags: "up"
      flags: "loopback"
      ipv4 { address: "127.0.0.1" }
      ipv6 { address: "::1" }
    }
    interfaces {
      name: "down0"
      flags: "broadcast"
      ipv4 { address: "10.9.9.9" }
    }
    interfaces {
      name: "eth0"
      flags: "up"
      flags: "running"
      ipv4 { address: "169.254.3.4" }
      ipv4 { address: "198.18.0.11" }
      ipv6 { address: "fe80::1" }
      ipv6 { address: "2001:2::b" }
    }
  )pb");
  for (auto [family, want] : {std::pair{v1::ADDRESS_FAMILY_UNSPECIFIED, "198.18.0.11"},
                              std::pair{v1::ADDRESS_FAMILY_IPV4, "198.18.0.11"},
                              std::pair{v1::ADDRESS_FAMILY_IPV6, "2001:2::b"}}) {
    auto got = ProbeAddressFromInfo(info, family);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(*got, want);
  }
  EXPECT_THAT(
      ProbeAddressFromInfo(Info(R"pb(hostname: "h2"
                                     interfaces {
                                       name: "eth0"
                                       flags: "up"
                                       ipv6 { address: "fe80::2" }
                                     })pb"),
                           v1::ADDRESS_FAMILY_IPV6),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("h2 has no global IPv6 address")));
}

TEST(MeshPlan, ChunksKeepOrderAndBound) {
  const std::vector<std::string> t = {"a", "b", "c", "d", "e"};
  EXPECT_THAT(ChunkTargets(t, 2), ElementsAre(ElementsAre("a", "b"),
                                              ElementsAre("c", "d"), ElementsAre("e")));
  EXPECT_THAT(ChunkTargets(t, 4096), ElementsAre(t));
  EXPECT_THAT(ChunkTargets({}, 3), ElementsAre());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
