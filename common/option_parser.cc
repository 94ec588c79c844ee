#include "common/option_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace netprobe {

bool ParsedOptions::Has(absl::string_view long_name) const {
  return values_.find(long_name) != values_.end();
}

std::string ParsedOptions::Get(absl::string_view long_name, std::string fallback) const {
  auto it = values_.find(long_name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedOptions::GetAll(absl::string_view long_name) const {
  auto it = values_.find(long_name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string ParsedOptions::Label(absl::string_view long_name) const {
  auto it = labels_.find(long_name);
  return it == labels_.end() ? absl::StrCat("--", long_name) : it->second;
}

absl::StatusOr<std::optional<uint64_t>> ParsedOptions::GetUint(
    absl::string_view long_name, uint64_t min, uint64_t max) const {
  if (!Has(long_name)) return std::optional<uint64_t>();
  const std::string text = Get(long_name);
  uint64_t value = 0;
  // Hexadecimal with 0x, as iputils takes -Q 0x10.
  const bool hex = absl::StartsWithIgnoreCase(text, "0x") && text.size() > 2;
  const bool parsed = hex ? absl::SimpleHexAtoi(absl::string_view(text).substr(2), &value)
                          : absl::SimpleAtoi(text, &value);
  if (!parsed || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: '%s' is not a whole number from %d to %d", Label(long_name),
                        text, min, max));
  }
  return std::optional<uint64_t>(value);
}

absl::StatusOr<std::optional<absl::Duration>> ParsedOptions::GetDuration(
    absl::string_view long_name) const {
  if (!Has(long_name)) return std::optional<absl::Duration>();
  auto value = ParseDurationArg(Get(long_name));
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Label(long_name), ": ", value.status().message()));
  }
  return std::optional<absl::Duration>(*value);
}

absl::StatusOr<absl::Duration> ParseDurationArg(absl::string_view text) {
  absl::Duration value;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) {
    value = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &value)) {
    value = absl::InfiniteDuration();
  }
  // Also catches bare numbers too large for a Duration ("1e300").
  if (value == absl::InfiniteDuration() || value == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a duration (examples: 2s, 500ms, 250us, 1m, 0.2)"));
  }
  if (value < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is negative"));
  }
  return value;
}

const OptionSpec* OptionParser::FindShort(char c) const {
  for (const OptionSpec& spec : specs_) {
    if (spec.short_name == c) return &spec;
  }
  return nullptr;
}

const OptionSpec* OptionParser::FindLong(absl::string_view name) const {
  for (const OptionSpec& spec : specs_) {
    if (spec.long_name == name) return &spec;
  }
  return nullptr;
}

std::vector<std::string> OptionParser::ExpandShortBundles(
    const std::vector<std::string>& args) const {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.insert(out.end(), args.begin() + i, args.end());
      break;
    }
    if (arg.size() <= 2 || arg[0] != '-' || arg[1] == '-') {
      out.push_back(arg);
      continue;
    }
    // "-tan" is "-t -a -n" while each letter is a switch; the first letter
    // that takes a value takes the rest ("-vc5": -v, -c 5), and an unknown
    // letter is left to be reported with what follows it.
    size_t at = 1;
    while (at < arg.size()) {
      const OptionSpec* spec = FindShort(arg[at]);
      if (spec == nullptr || !spec->value_name.empty() || at + 1 == arg.size()) {
        out.push_back(absl::StrCat("-", arg.substr(at)));
        break;
      }
      out.push_back(absl::StrCat("-", std::string(1, arg[at])));
      ++at;
    }
  }
  return out;
}

absl::StatusOr<ParsedOptions> OptionParser::Parse(
    const std::vector<std::string>& raw_args) const {
  ParsedOptions out;
  for (const OptionSpec& spec : specs_) {
    out.labels_[spec.long_name] =
        spec.short_name
            ? absl::StrCat("-", std::string(1, spec.short_name), "/--", spec.long_name)
            : absl::StrCat("--", spec.long_name);
  }
  const std::vector<std::string> args = ExpandShortBundles(raw_args);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional_.insert(out.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    std::string shown;
    if (absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      size_t eq = body.find('=');
      if (eq != absl::string_view::npos) {
        inline_value = std::string(body.substr(eq + 1));
        body = body.substr(0, eq);
      }
      spec = FindLong(body);
      shown = absl::StrCat("--", body);
    } else if (arg.size() >= 2 && arg[0] == '-') {
      spec = FindShort(arg[1]);
      shown = arg.substr(0, 2);
      if (arg.size() > 2) inline_value = arg.substr(2);
    } else {
      out.positional_.push_back(arg);
      continue;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", shown));
    }
    std::string value;
    if (spec->value_name.empty()) {
      if (inline_value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(shown, " takes no value"));
      }
    } else if (inline_value.has_value()) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(shown, " needs a value (", spec->value_name, ")"));
    }
    auto& values = out.values_[spec->long_name];
    if (!spec->repeatable) values.clear();
    values.push_back(std::move(value));
  }
  return out;
}

std::string OptionParser::Help() const {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const OptionSpec& spec : specs_) {
    std::string left = spec.short_name
                           ? absl::StrCat("-", std::string(1, spec.short_name), ", --")
                           : std::string("    --");
    absl::StrAppend(&left, spec.long_name);
    if (!spec.value_name.empty()) absl::StrAppend(&left, " ", spec.value_name);
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), spec.help);
  }
  std::string out;
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, "  ", left, std::string(width - left.size() + 2, ' '), help,
                    "\n");
  }
  return out;
}

}  // namespace netprobe
