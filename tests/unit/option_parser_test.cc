#include "common/option_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

OptionParser MakeParser() {
  return OptionParser({
      {'c', "count", "N", "attempts per target", false},
      {'i', "interval", "DURATION", "time between attempts", false},
      {'v', "verbose", "", "say more", false},
      {0, "json", "", "JSON lines output", false},
      {'H', "header", "NAME=VALUE", "extra metadata; repeatable", true},
      {0, "timeout", "DURATION", "per-attempt timeout", false},
  });
}

ParsedOptions ParseOk(const std::vector<std::string>& args) {
  auto parsed = MakeParser().Parse(args);
  EXPECT_THAT(parsed, IsOk());
  return parsed.ok() ? *std::move(parsed) : ParsedOptions();
}

TEST(OptionParserTest, ValueFormsAllGiveTheSameValue) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-c", "5"}, {"-c5"}, {"--count", "5"}, {"--count=5"}}) {
    SCOPED_TRACE(args[0]);
    ParsedOptions parsed = ParseOk(args);
    EXPECT_TRUE(parsed.Has("count"));
    EXPECT_EQ(parsed.Get("count"), "5");
    EXPECT_THAT(parsed.positional(), IsEmpty());
  }
}

TEST(OptionParserTest, ValueMayLookLikeAnOptionOrBeEmpty) {
  ParsedOptions parsed = ParseOk({"-c", "-5", "--header=", "--timeout", "--json"});
  EXPECT_EQ(parsed.Get("count"), "-5");
  EXPECT_TRUE(parsed.Has("header"));
  EXPECT_THAT(parsed.GetAll("header"), ElementsAre(""));
  EXPECT_EQ(parsed.Get("timeout"), "--json");  // taken as the value
  EXPECT_FALSE(parsed.Has("json"));
}

TEST(OptionParserTest, LongValueMayContainEqualsSigns) {
  ParsedOptions parsed = ParseOk({"--header=a=b", "-Hc=d"});
  EXPECT_THAT(parsed.GetAll("header"), ElementsAre("a=b", "c=d"));
}

TEST(OptionParserTest, SwitchesAndPositionalsInterleave) {
  ParsedOptions parsed = ParseOk({"host1", "-v", "host2", "--json", "-c", "3", "host3"});
  EXPECT_TRUE(parsed.Has("verbose"));
  EXPECT_TRUE(parsed.Has("json"));
  EXPECT_EQ(parsed.Get("count"), "3");
  EXPECT_THAT(parsed.positional(), ElementsAre("host1", "host2", "host3"));
}

TEST(OptionParserTest, AbsentOptionsUseTheFallback) {
  ParsedOptions parsed = ParseOk({});
  EXPECT_FALSE(parsed.Has("count"));
  EXPECT_EQ(parsed.Get("count"), "");
  EXPECT_EQ(parsed.Get("count", "7"), "7");
  EXPECT_THAT(parsed.GetAll("header"), IsEmpty());
  EXPECT_FALSE(parsed.Has("no-such-option"));
}

TEST(OptionParserTest, LastValueWinsForNonRepeatable) {
  ParsedOptions parsed = ParseOk({"-c", "1", "--count=2", "-c3"});
  EXPECT_EQ(parsed.Get("count"), "3");
  EXPECT_THAT(parsed.GetAll("count"), ElementsAre("3"));
}

TEST(OptionParserTest, RepeatableOptionKeepsAllValuesInOrder) {
  ParsedOptions parsed =
      ParseOk({"-H", "a=1", "--header", "b=2", "-Hc=3", "--header=d=4"});
  EXPECT_THAT(parsed.GetAll("header"), ElementsAre("a=1", "b=2", "c=3", "d=4"));
  EXPECT_EQ(parsed.Get("header"), "d=4");
}

TEST(OptionParserTest, DoubleDashEndsOptions) {
  ParsedOptions parsed = ParseOk({"-v", "--", "-c", "5", "--json", "-"});
  EXPECT_TRUE(parsed.Has("verbose"));
  EXPECT_FALSE(parsed.Has("count"));
  EXPECT_FALSE(parsed.Has("json"));
  EXPECT_THAT(parsed.positional(), ElementsAre("-c", "5", "--json", "-"));
}

TEST(OptionParserTest, DoubleDashAsAValueIsAValue) {
  ParsedOptions parsed = ParseOk({"--header", "--", "x"});
  EXPECT_THAT(parsed.GetAll("header"), ElementsAre("--"));
  EXPECT_THAT(parsed.positional(), ElementsAre("x"));
}

TEST(OptionParserTest, SingleDashIsPositional) {
  ParsedOptions parsed = ParseOk({"-", "-v"});
  EXPECT_THAT(parsed.positional(), ElementsAre("-"));
  EXPECT_TRUE(parsed.Has("verbose"));
}

TEST(OptionParserTest, UnknownOptionErrorNamesIt) {
  OptionParser parser = MakeParser();
  EXPECT_THAT(parser.Parse({"--bogus"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--bogus")));
  EXPECT_THAT(parser.Parse({"--bogus=3"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--bogus"), ::testing::Not(HasSubstr("=3")))));
  EXPECT_THAT(parser.Parse({"-x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-x")));
  EXPECT_THAT(parser.Parse({"-x5"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("unknown option -x")));
}

TEST(OptionParserTest, MissingValueError) {
  OptionParser parser = MakeParser();
  EXPECT_THAT(
      parser.Parse({"-c"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("-c"), HasSubstr("needs a value"), HasSubstr("N"))));
  EXPECT_THAT(parser.Parse({"host", "--interval"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--interval"), HasSubstr("DURATION"))));
}

TEST(OptionParserTest, SwitchGivenAValueError) {
  OptionParser parser = MakeParser();
  EXPECT_THAT(parser.Parse({"--json=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--json"), HasSubstr("takes no value"))));
  // After a short switch the rest is more short options (getopt's bundles).
  EXPECT_THAT(parser.Parse({"-vx"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("unknown option -x")));
  // A switch followed by a separate word leaves the word positional.
  ParsedOptions parsed = ParseOk({"--json", "yes"});
  EXPECT_TRUE(parsed.Has("json"));
  EXPECT_THAT(parsed.positional(), ElementsAre("yes"));
}

TEST(OptionParserTest, ShortSwitchesBundleLikeGetopt) {
  ParsedOptions parsed = ParseOk({"-vc5", "host"});
  EXPECT_TRUE(parsed.Has("verbose"));
  EXPECT_EQ(parsed.Get("count"), "5");
  EXPECT_THAT(parsed.positional(), ElementsAre("host"));
  // The option that takes a value may end the bundle and take the next word.
  parsed = ParseOk({"-vc", "7", "-vi1s"});
  EXPECT_EQ(parsed.Get("count"), "7");
  EXPECT_EQ(parsed.Get("interval"), "1s");
  // A value taken inline is the whole rest, never more switches.
  parsed = ParseOk({"-c5v"});
  EXPECT_EQ(parsed.Get("count"), "5v");
  EXPECT_FALSE(parsed.Has("verbose"));
}

TEST(OptionParserTest, GetUintParsesAndChecksRange) {
  ParsedOptions parsed = ParseOk({"-c", "5"});
  EXPECT_THAT(parsed.GetUint("count", 1, 100), IsOk());
  EXPECT_THAT(*parsed.GetUint("count", 1, 100), Optional(5u));
  EXPECT_THAT(*parsed.GetUint("count", 5, 5), Optional(5u));

  auto absent = ParseOk({}).GetUint("count", 1, 100);
  ASSERT_THAT(absent, IsOk());
  EXPECT_EQ(*absent, std::nullopt);

  auto big = ParseOk({"--count=18446744073709551615"}).GetUint("count", 0, UINT64_MAX);
  ASSERT_THAT(big, IsOk());
  EXPECT_THAT(*big, Optional(UINT64_MAX));
}

TEST(OptionParserTest, GetUintErrorsNameTheOptionLabelAndLimits) {
  for (const char* bad :
       {"0", "101", "abc", "-1", "5x", "", "1.5", "18446744073709551616"}) {
    SCOPED_TRACE(bad);
    ParsedOptions parsed = ParseOk({std::string("--count=") + bad});
    EXPECT_THAT(
        parsed.GetUint("count", 1, 100),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("-c/--count"), HasSubstr("1"), HasSubstr("100"))));
  }
  // An option without a short name is labelled by its long name alone.
  ParsedOptions parsed = ParseOk({"--timeout", "x"});
  auto status = parsed.GetUint("timeout", 1, 2).status();
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--timeout")));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("-/")));
}

TEST(OptionParserTest, GetUintMessageShowsUnsignedLimits) {
  ParsedOptions parsed = ParseOk({"-c", "abc"});
  EXPECT_THAT(parsed.GetUint("count", 0, UINT64_MAX),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("from 0 to 18446744073709551615")));
}

TEST(OptionParserTest, GetDurationAcceptsUnitsAndBareSeconds) {
  struct Case {
    const char* text;
    absl::Duration want;
  };
  for (const Case& c :
       {Case{"2s", absl::Seconds(2)}, Case{"500ms", absl::Milliseconds(500)},
        Case{"0.2", absl::Milliseconds(200)}, Case{"1", absl::Seconds(1)},
        Case{"1m", absl::Minutes(1)}, Case{"250us", absl::Microseconds(250)},
        Case{"1h30m", absl::Minutes(90)}, Case{"0", absl::ZeroDuration()}}) {
    SCOPED_TRACE(c.text);
    ParsedOptions parsed = ParseOk({"-i", c.text});
    auto value = parsed.GetDuration("interval");
    ASSERT_THAT(value, IsOk());
    ASSERT_TRUE(value->has_value());
    EXPECT_LT(absl::AbsDuration(**value - c.want), absl::Nanoseconds(1));
  }
  auto absent = ParseOk({}).GetDuration("interval");
  ASSERT_THAT(absent, IsOk());
  EXPECT_EQ(*absent, std::nullopt);
}

TEST(OptionParserTest, GetDurationRejectsGarbageAndNegativesNamingTheOption) {
  for (const char* bad : {"abc", "-1s", "-0.5", "2 parsecs", "", "inf", "nan", "1x"}) {
    SCOPED_TRACE(bad);
    ParsedOptions parsed = ParseOk({std::string("--interval=") + bad});
    EXPECT_THAT(parsed.GetDuration("interval"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-i/--interval")));
  }
}

TEST(ParseDurationArgTest, Accepts) {
  EXPECT_EQ(*ParseDurationArg("2s"), absl::Seconds(2));
  EXPECT_EQ(*ParseDurationArg("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDurationArg("1.5"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDurationArg("250us"), absl::Microseconds(250));
  EXPECT_EQ(*ParseDurationArg("1m"), absl::Minutes(1));
  EXPECT_EQ(*ParseDurationArg("1h"), absl::Hours(1));
  EXPECT_EQ(*ParseDurationArg("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseDurationArg("0s"), absl::ZeroDuration());
}

TEST(ParseDurationArgTest, RejectsWithTheTextInTheMessage) {
  EXPECT_THAT(ParseDurationArg("abc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'abc'")));
  EXPECT_THAT(ParseDurationArg("-2s"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  EXPECT_THAT(ParseDurationArg("-0.2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  EXPECT_THAT(ParseDurationArg(""),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ParseDurationArg("inf"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ParseDurationArg("5 s"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

// A finite bare number too large for absl::Duration would become
// absl::InfiniteDuration() through absl::Seconds(double): it is refused.
TEST(ParseDurationArgTest, HugeBareNumberIsNotAcceptedAsInfinite) {
  auto value = ParseDurationArg("1e300");
  EXPECT_FALSE(value.ok() && *value == absl::InfiniteDuration())
      << "'1e300' was accepted as an infinite duration";
}

TEST(OptionParserTest, HelpListsEveryOptionAligned) {
  const std::string help = MakeParser().Help();
  EXPECT_THAT(help, HasSubstr("-c, --count N"));
  EXPECT_THAT(help, HasSubstr("-i, --interval DURATION"));
  EXPECT_THAT(help, HasSubstr("-v, --verbose"));
  EXPECT_THAT(help, HasSubstr("    --json"));
  EXPECT_THAT(help, HasSubstr("-H, --header NAME=VALUE"));
  EXPECT_THAT(help, HasSubstr("attempts per target"));
  EXPECT_THAT(help, HasSubstr("JSON lines output"));

  // One line per option, and every help text starts in the same column.
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = help.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(help.substr(start, nl - start));
  }
  ASSERT_EQ(lines.size(), 6u);
  const std::vector<std::string> texts = {
      "attempts per target", "time between attempts",      "say more",
      "JSON lines output",   "extra metadata; repeatable", "per-attempt timeout"};
  const size_t column = lines[0].find(texts[0]);
  ASSERT_NE(column, std::string::npos);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find(texts[i]), column) << lines[i];
    EXPECT_EQ(lines[i].substr(0, 2), "  ") << lines[i];
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
