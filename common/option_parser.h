#ifndef NETPROBE_COMMON_OPTION_PARSER_H_
#define NETPROBE_COMMON_OPTION_PARSER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace netprobe {

// One command-line option. `value_name` empty: a switch that takes no value.
struct OptionSpec {
  char short_name = 0;     // 'c' for -c; 0 for none
  std::string long_name;   // "count" for --count; required, the key in results
  std::string value_name;  // "N", "DURATION"; empty for switches
  std::string help;
  bool repeatable = false;
};

// Options as parsed: the last value of each, all values of repeatable ones.
class ParsedOptions {
 public:
  bool Has(absl::string_view long_name) const;
  // The value given, or `fallback` when the option was absent.
  std::string Get(absl::string_view long_name, std::string fallback = "") const;
  std::vector<std::string> GetAll(absl::string_view long_name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Typed getters; INVALID_ARGUMENT names the option and the limits. Whole
  // numbers are decimal, or hexadecimal after 0x (ping -Q 0x10).
  absl::StatusOr<std::optional<uint64_t>> GetUint(absl::string_view long_name,
                                                  uint64_t min, uint64_t max) const;
  // "2s", "500ms", "1m", or a bare number of seconds like ping's "-i 0.2".
  absl::StatusOr<std::optional<absl::Duration>> GetDuration(
      absl::string_view long_name) const;

 private:
  friend class OptionParser;
  std::string Label(absl::string_view long_name) const;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> labels_;  // "-c/--count"
  std::vector<std::string> positional_;
};

// A getopt-like parser: -c 5, -c5, --count 5, --count=5, switches, "--" ends
// options. Options and positionals may be interleaved.
class OptionParser {
 public:
  explicit OptionParser(std::vector<OptionSpec> specs) : specs_(std::move(specs)) {}

  // INVALID_ARGUMENT naming the unknown option or the missing value.
  absl::StatusOr<ParsedOptions> Parse(const std::vector<std::string>& args) const;

  // Aligned "  -c, --count N   help" lines.
  std::string Help() const;

 private:
  const OptionSpec* FindShort(char c) const;
  // Splits bundles of short options ("-tan" -> "-t" "-a" "-n"), as getopt.
  std::vector<std::string> ExpandShortBundles(const std::vector<std::string>& args) const;
  const OptionSpec* FindLong(absl::string_view name) const;
  std::vector<OptionSpec> specs_;
};

// "2s", "500ms", "1.5", "250us", "1m", "1h" -> Duration; bare numbers are
// seconds. INVALID_ARGUMENT on anything else or a negative value.
absl::StatusOr<absl::Duration> ParseDurationArg(absl::string_view text);

}  // namespace netprobe

#endif  // NETPROBE_COMMON_OPTION_PARSER_H_
