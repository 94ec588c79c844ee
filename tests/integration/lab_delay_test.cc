// The lab's delayed, shaped path (Lab::CreateDelayed, Lab::ShapeEgress) checked
// with foreign tools: ping's RTT is twice the delay line's one-way delay;
// through 20 ms of RTT and a 20 Mbit/s token bucket iperf3 gets most of the
// rate with default socket buffers and far less with 4 KiB ones (the window
// limits TCP to window / RTT); 50 Mbit/s of UDP into it loses about 60 %.
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;
using ::testing::Lt;

constexpr char kIperf3[] = "/usr/bin/iperf3";
// A fresh namespace: nothing else listens there.
constexpr char kPort[] = "5201";

// min/avg/max of `ping -q` in milliseconds.
struct Rtt {
  double min = -1, avg = -1, max = -1;
};

absl::StatusOr<Rtt> Ping(const Lab& lab, const std::string& target) {
  // One ping first: address resolution crosses the line too.
  auto warm = lab.Exec(0, {"ping", "-n", "-c", "1", "-W", "2", target});
  if (!warm.ok()) return warm.status();
  auto result = lab.Exec(0, {"ping", "-n", "-q", "-c", "10", "-i", "0.05", target});
  if (!result.ok()) return result.status();
  std::smatch match;
  static const std::regex kSummary(R"(= ([0-9.]+)/([0-9.]+)/([0-9.]+)/)");
  Rtt rtt;
  if (result->exit_code != 0 || !std::regex_search(result->out, match, kSummary) ||
      !absl::SimpleAtod(match[1].str(), &rtt.min) ||
      !absl::SimpleAtod(match[2].str(), &rtt.avg) ||
      !absl::SimpleAtod(match[3].str(), &rtt.max)) {
    return absl::InternalError(absl::StrCat("ping: ", result->out, result->err));
  }
  return rtt;
}

// One iperf3 test from host 0 to `iperf3 -s -1` in host 1; its -J report.
absl::StatusOr<google::protobuf::Struct> Iperf3(const Lab& lab,
                                                const std::vector<std::string>& args) {
  auto server = lab.Spawn(1, {kIperf3, "-s", "-1", "-p", kPort, "--forceflush"});
  if (!server.ok()) return server.status();
  auto listening = server->WaitForStdout("Server listening", absl::Seconds(10));
  if (!listening.ok()) return listening.status();
  std::vector<std::string> argv = {kIperf3, "-c", lab.host(1).ipv4, "-p", kPort, "-J"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = lab.Exec(0, argv);
  if (!result.ok()) return result.status();
  google::protobuf::Struct report;
  if (result->exit_code != 0 ||
      !google::protobuf::util::JsonStringToMessage(result->out, &report).ok()) {
    return absl::InternalError(absl::StrCat("iperf3 -c: ", result->out, result->err));
  }
  server->Wait(absl::Seconds(5)).IgnoreError();
  return report;
}

// report["end"][sum][field]
double End(const google::protobuf::Struct& report, const std::string& sum,
           const std::string& field) {
  const auto& end = report.fields().at("end").struct_value();
  return end.fields().at(sum).struct_value().fields().at(field).number_value();
}

TEST(LabDelayTest, PingRttIsTwiceTheOneWayDelay) {
  auto lab = Lab::CreateDelayed(absl::Milliseconds(10));
  ASSERT_THAT(lab, IsOk());
  for (const std::string& target : {(*lab)->host(1).ipv4, (*lab)->host(1).ipv6}) {
    auto rtt = Ping(**lab, target);
    ASSERT_THAT(rtt, IsOk());
    RecordProperty(absl::StrCat("rtt_ms ", target),
                   absl::StrCat(rtt->min, "/", rtt->avg, "/", rtt->max));
    EXPECT_THAT(rtt->min, Ge(20.0)) << target;
    EXPECT_THAT(rtt->max, Le(30.0)) << target;
  }
}

// Without the delay line (Create's bridge, RTT well under 1 ms) TCP fills
// the bucket: 1448 bytes of goodput per 1514-byte frame, 95.6 Mbit/s at
// 100 Mbit/s.
TEST(LabDelayTest, ShapedLinkCarriesTcpAtTheRate) {
  auto lab = Lab::Create(2);
  ASSERT_THAT(lab, IsOk());
  ASSERT_THAT((*lab)->ShapeEgress(0, 100'000'000), IsOk());
  auto report = Iperf3(**lab, {"-t", "2"});
  ASSERT_THAT(report, IsOk());
  const double bps = End(*report, "sum_received", "bits_per_second");
  RecordProperty("receiver_bps", absl::StrCat(bps));
  EXPECT_THAT(bps, AllOf(Ge(90e6), Le(96e6)));
}

class ShapedDelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = Lab::CreateDelayed(absl::Milliseconds(10));
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    ASSERT_THAT(lab_->ShapeEgress(0, 20'000'000), IsOk());
  }
  std::unique_ptr<Lab> lab_;
};

TEST_F(ShapedDelayTest, SmallSocketBuffersLimitTcpToWindowPerRtt) {
  auto wide = Iperf3(*lab_, {"-t", "2"});
  ASSERT_THAT(wide, IsOk());
  const double default_bps = End(*wide, "sum_received", "bits_per_second");
  // 20 Mbit/s at most 19.1 of goodput; slow start over 20 ms takes a little.
  EXPECT_THAT(default_bps, AllOf(Ge(15e6), Le(20e6)));
  // 4 KiB buffers (the kernel doubles them): a few KiB per 20 ms.
  auto narrow = Iperf3(*lab_, {"-t", "2", "-w", "4K"});
  ASSERT_THAT(narrow, IsOk());
  const double narrow_bps = End(*narrow, "sum_received", "bits_per_second");
  RecordProperty("receiver_bps", absl::StrCat(default_bps, " -w 4K: ", narrow_bps));
  EXPECT_THAT(narrow_bps, Lt(default_bps / 2));
}

TEST_F(ShapedDelayTest, UdpBeyondTheRateIsLost) {
  auto report = Iperf3(*lab_, {"-t", "2", "-u", "-b", "50M"});
  ASSERT_THAT(report, IsOk());
  // 20 of 50 Mbit/s get through (a little less: the bucket counts Ethernet
  // headers, iperf3's rate does not).
  const double lost = End(*report, "sum", "lost_percent");
  RecordProperty("lost_percent", absl::StrCat(lost));
  EXPECT_THAT(lost, AllOf(Ge(50.0), Le(70.0)));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
