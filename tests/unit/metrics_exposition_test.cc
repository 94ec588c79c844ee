#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "agent/metrics/exposition.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

TEST(ValidNames, MetricNames) {
  for (const char* good :
       {"a", "a_b:c", ":x", "_x", "x9", "netprobe_probe_rtt_seconds"}) {
    EXPECT_TRUE(ValidMetricName(good)) << good;
  }
  for (const char* bad : {"", "1a", "a-b", "a b", "__x", "é", "a\n"}) {
    EXPECT_FALSE(ValidMetricName(bad)) << bad;
  }
}

TEST(ValidNames, LabelNames) {
  for (const char* good : {"a", "_a", "probe", "le", "a9_b"}) {
    EXPECT_TRUE(ValidLabelName(good)) << good;
  }
  for (const char* bad : {"", ":a", "a:b", "__name__", "1a", "a-b"}) {
    EXPECT_FALSE(ValidLabelName(bad)) << bad;
  }
}

TEST(FormatValue, SpecialValues) {
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(FormatValue, IntegersWithoutExponent) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatValue(9007199254740992.0), "9007199254740992");  // 2^53
  EXPECT_EQ(FormatValue(1.7e9), "1700000000");
}

TEST(FormatValue, FractionsShortestRoundTrip) {
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatValue(1e20), "1e+20");  // beyond 2^53: exponent
  for (double v :
       {0.1, 1.0 / 3, 123456.789, 1e-300, 1.7976931348623157e308, -2.5e-5, 4.9e-324}) {
    std::string text = FormatValue(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(Escape, Help) {
  EXPECT_EQ(EscapeHelp("a\\b\nc\"d"), "a\\\\b\\nc\"d");  // quotes stay
  EXPECT_EQ(EscapeHelp("plain"), "plain");
}

TEST(Escape, LabelValue) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue(""), "");
  EXPECT_EQ(EscapeLabelValue("tab\there"), "tab\there");  // only \ " and newline
}

TEST(Escape, Utf8KeptInvalidReplaced) {
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(EscapeLabelValue("a\xFF"
                             "b"),
            "a" + replacement + "b");
  EXPECT_EQ(EscapeLabelValue("\xC3"), replacement);                    // truncated
  EXPECT_EQ(EscapeLabelValue("\xC0\xAF"), replacement + replacement);  // overlong
  EXPECT_EQ(EscapeLabelValue("\xED\xA0\x80"),                          // surrogate
            replacement + replacement + replacement);
  EXPECT_EQ(EscapeHelp("x\xFE"), "x" + replacement);
  EXPECT_EQ(EscapeLabelValue(std::string("nul\0byte", 8)), std::string("nul\0byte", 8));
}

TEST(ExpositionWriter, FamiliesAndSamples) {
  ExpositionWriter out;
  out.Family("up_total", MetricType::kCounter, "Ups.\nWith \\ and \"quotes\"");
  out.Sample("up_total", {}, 3);
  out.Sample("up_total", {{"probe", "dns \"a\""}, {"target", "x\\y\nz"}}, 0.5);
  out.Family("rtt_seconds", MetricType::kHistogram, "RTT.");
  out.Sample("rtt_seconds_bucket", {{"probe", "p"}}, "le", "+Inf", 2);
  out.Sample("rtt_seconds_bucket", {}, "le", "0.1", 1);
  out.Family("g", MetricType::kGauge, "");
  out.Family("s", MetricType::kSummary, "S.");
  EXPECT_EQ(out.Take(),
            "# HELP up_total Ups.\\nWith \\\\ and \"quotes\"\n"
            "# TYPE up_total counter\n"
            "up_total 3\n"
            "up_total{probe=\"dns \\\"a\\\"\",target=\"x\\\\y\\nz\"} 0.5\n"
            "# HELP rtt_seconds RTT.\n"
            "# TYPE rtt_seconds histogram\n"
            "rtt_seconds_bucket{probe=\"p\",le=\"+Inf\"} 2\n"
            "rtt_seconds_bucket{le=\"0.1\"} 1\n"
            "# HELP g \n"
            "# TYPE g gauge\n"
            "# HELP s S.\n"
            "# TYPE s summary\n");
  EXPECT_EQ(out.Take(), "");  // Take() empties it
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
