// `netprobe mesh` over 20 lab agents reached on their unix sockets (probe
// addresses from GetInfo): the 20 x 20 matrix in under 2 s, every
// off-diagonal cell 0% loss, 380 JSON cells; then one agent stopped: its row
// is errors, its column 100% loss (no probe address), exit 6.
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

constexpr int kAgents = 20, kStopped = 7;

std::string Name(int i) { return absl::StrCat("h", i); }

TEST(MeshCliLabTest, TwentyAgentsMatrixUnderTwoSecondsThenOneStoppedIsARowOfErrors) {
  auto lab = Lab::Create(kAgents);
  ASSERT_THAT(lab, IsOk());
  std::vector<LabAgent> agents;
  std::string file_text = "# the mesh lab\n";
  for (int i = 0; i < kAgents; ++i) {
    auto agent = LabAgent::Start(**lab, i);
    ASSERT_THAT(agent, IsOk());
    absl::StrAppend(&file_text, Name(i), "=", agent->address(), "\n");
    agents.push_back(*std::move(agent));
  }
  const std::string file = absl::StrCat((*lab)->dir(), "/agents.txt");
  std::ofstream(file) << file_text;
  auto mesh = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agents", file, "mesh"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, absl::Seconds(30));
  };

  // Text: two 20 x 20 tables, measured on the client's wall clock.
  const absl::Time start = absl::Now();
  auto text = mesh({});
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 0) << text->err;
  EXPECT_LT(took, absl::Seconds(2)) << text->out;
  std::printf("netprobe mesh over %d agents took %s\n", kAgents,
              absl::FormatDuration(took).c_str());
  const std::vector<std::string> lines = absl::StrSplit(text->out, '\n');
  // Title, header, 20 rows, blank, title, header, 20 rows, final newline.
  ASSERT_EQ(lines.size(), 2u * (kAgents + 2) + 2) << text->out;
  for (int r = 0; r < kAgents; ++r) {
    const std::vector<std::string> loss =
        absl::StrSplit(lines[2 + r], ' ', absl::SkipEmpty());
    const std::vector<std::string> rtt =
        absl::StrSplit(lines[kAgents + 5 + r], ' ', absl::SkipEmpty());
    ASSERT_EQ(loss.size(), kAgents + 1u) << lines[2 + r];
    ASSERT_EQ(rtt.size(), kAgents + 1u) << lines[kAgents + 5 + r];
    EXPECT_EQ(loss[0], Name(r));
    for (int c = 0; c < kAgents; ++c) {
      EXPECT_EQ(loss[1 + c], r == c ? "-" : "0%") << lines[2 + r];
      if (r != c)
        EXPECT_TRUE(std::regex_match(rtt[1 + c], std::regex("[0-9]+\\.[0-9]{3}")));
    }
  }

  // JSON: 380 cells, each 2/2 and an address of the lab; 19 destinations in
  // Ping calls of at most 7 (three per source).
  auto json = mesh({"--json", "-c", "2", "-i", "50ms", "--targets-per-request", "7"});
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(json->exit_code, 0) << json->err;
  const std::vector<std::string> cells =
      absl::StrSplit(json->out, '\n', absl::SkipEmpty());
  ASSERT_EQ(cells.size(), size_t{kAgents * (kAgents - 1)});
  for (const std::string& line : cells) {
    google::protobuf::Struct cell;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &cell).ok()) << line;
    const auto& f = cell.fields();
    EXPECT_EQ(f.at("sent").number_value(), 2) << line;
    EXPECT_EQ(f.at("received").number_value(), 2) << line;
    EXPECT_EQ(f.at("loss").number_value(), 0) << line;
    EXPECT_GT(f.at("rtt_median_ms").number_value(), 0) << line;
    EXPECT_EQ(f.at("error").string_value(), "") << line;
    EXPECT_TRUE(absl::StartsWith(f.at("address").string_value(), "198.18.")) << line;
    EXPECT_NE(f.at("source").string_value(), f.at("destination").string_value());
  }

  // One agent stopped: its socket stays, nobody listens.
  agents[kStopped].process().Signal(SIGKILL);
  ASSERT_THAT(agents[kStopped].process().Wait(absl::Seconds(10)), IsOk());
  auto partial = mesh({"--json", "-c", "1"});
  ASSERT_THAT(partial, IsOk());
  EXPECT_EQ(partial->exit_code, 6) << partial->err;
  EXPECT_THAT(partial->err, HasSubstr(absl::StrCat(
                                "netprobe mesh: 1 of 20 agents failed, their rows are "
                                "errors: ",
                                Name(kStopped), " (exit 3, GetInfo: agent unreachable")));
  int row = 0, column = 0;
  const std::vector<std::string> partial_cells =
      absl::StrSplit(partial->out, '\n', absl::SkipEmpty());
  EXPECT_EQ(partial_cells.size(), size_t{kAgents * (kAgents - 1)});
  for (const std::string& line : partial_cells) {
    google::protobuf::Struct cell;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &cell).ok()) << line;
    const auto& f = cell.fields();
    if (f.at("source").string_value() == Name(kStopped)) {
      ++row;
      EXPECT_TRUE(f.at("loss").has_null_value()) << line;
      EXPECT_THAT(f.at("error").string_value(), HasSubstr("source GetInfo")) << line;
    } else if (f.at("destination").string_value() == Name(kStopped)) {
      ++column;
      EXPECT_EQ(f.at("loss").number_value(), 100) << line;
      EXPECT_THAT(f.at("error").string_value(), HasSubstr("no probe address")) << line;
    } else {
      EXPECT_EQ(f.at("loss").number_value(), 0) << line;
    }
  }
  EXPECT_EQ(row, kAgents - 1);
  EXPECT_EQ(column, kAgents - 1);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
