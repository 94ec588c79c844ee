#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/metrics/process_metrics.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// A real line of /proc/<pid>/stat (52 fields) with a command name holding
// spaces and parentheses, as prctl(PR_SET_NAME) allows.
constexpr char kStat[] =
    "4242 (np (x) y) z) S 1 4242 4242 0 -1 4194560 1200 0 0 0 "
    "150 75 0 0 20 0 9 0 123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 "
    "4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(ParseProcStat, CountsFieldsFromTheLastParenthesis) {
  absl::StatusOr<ProcStat> stat = ParseProcStat(kStat);
  ASSERT_THAT(stat, IsOk());
  EXPECT_EQ(stat->utime_ticks, 150u);
  EXPECT_EQ(stat->stime_ticks, 75u);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->vsize_bytes, 987654321u);
  EXPECT_EQ(stat->rss_pages, 2048u);
}

TEST(ParseProcStat, RejectsMalformed) {
  EXPECT_THAT(ParseProcStat("4242 no parenthesis S 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("')'")));
  EXPECT_THAT(ParseProcStat("4242 (short) S 1 2 3"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fields")));
  EXPECT_THAT(ParseProcStat("1 (a) S 1 1 1 0 -1 0 0 0 0 0 x 75 0 0 20 0 9 0 1 2 3"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseStatusThreads, FindsTheLine) {
  constexpr char kStatus[] =
      "Name:\tnetprobe-agent\nUmask:\t0022\nState:\tS (sleeping)\n"
      "Tgid:\t4242\nVmRSS:\t    8192 kB\nThreads:\t7\nSigQ:\t0/63229\n";
  absl::StatusOr<uint64_t> threads = ParseStatusThreads(kStatus);
  ASSERT_THAT(threads, IsOk());
  EXPECT_EQ(*threads, 7u);
  EXPECT_THAT(ParseStatusThreads("Name:\tx\n"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ParseStatusThreads("Threads:\tmany\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseBootTime, FindsBtime) {
  constexpr char kProcStat[] =
      "cpu  10 20 30 40 0 0 0 0 0 0\ncpu0 10 20 30 40 0 0 0 0 0 0\n"
      "intr 1 2 3\nctxt 999\nbtime 1700000000\nprocesses 4242\n";
  absl::StatusOr<uint64_t> boot = ParseBootTime(kProcStat);
  ASSERT_THAT(boot, IsOk());
  EXPECT_EQ(*boot, 1700000000u);
  EXPECT_THAT(ParseBootTime("cpu 1 2 3\n"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ReadSmallFile, ReadsAndReportsErrors) {
  absl::StatusOr<std::string> text = ReadSmallFile("/proc/self/status");
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr("Threads:"));
  EXPECT_THAT(ReadSmallFile("/nonexistent/netprobe"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/netprobe")));
  EXPECT_THAT(ReadSmallFile("/proc/self/status", 8),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ProcessMetricsCollector, WritesEveryMetricOfThisProcess) {
  ExpositionWriter out;
  ProcessMetricsCollector()(out);
  const std::string text = out.Take();
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds", "netprobe_threads"}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("\nnetprobe_threads 1\n"));  // gtest runs on one thread
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
