#include "agent/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

namespace netprobe::metrics {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not
// one (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendEscaped(std::string_view in, bool quote, std::string& out) {
  out.reserve(out.size() + in.size());
  while (!in.empty()) {
    char c = in.front();
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (size_t n = Utf8SequenceLength(in); n > 0) {
      out.append(in.data(), n);
      in.remove_prefix(n);
      continue;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    }
    in.remove_prefix(1);
  }
}

void AppendLabel(std::string_view name, std::string_view value, std::string& out) {
  out.append(name);
  out += "=\"";
  AppendEscaped(value, /*quote=*/true, out);
  out += '"';
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
  }
  return "untyped";
}

bool ValidMetricName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  if (!IsAlpha(name[0]) && name[0] != '_' && name[0] != ':') return false;
  for (char c : name) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '_' && c != ':') return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  if (!IsAlpha(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::to_chars_result r;
  // Every integer of magnitude up to 2^53 is exact in a double: print all its
  // digits rather than the shortest form's exponent ("1e+15").
  if (std::trunc(value) == value && std::fabs(value) <= 9007199254740992.0) {
    r = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), value);  // shortest round-trip
  }
  return std::string(buf, r.ptr);
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  AppendEscaped(help, /*quote=*/false, out);
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  AppendEscaped(value, /*quote=*/true, out);
  return out;
}

void ExpositionWriter::Family(std::string_view name, MetricType type,
                              std::string_view help) {
  out_ += "# HELP ";
  out_.append(name);
  out_ += ' ';
  AppendEscaped(help, /*quote=*/false, out_);
  out_ += "\n# TYPE ";
  out_.append(name);
  out_ += ' ';
  out_.append(MetricTypeName(type));
  out_ += '\n';
}

void ExpositionWriter::Sample(std::string_view name_with_suffix, const Labels& labels,
                              double value) {
  out_ += name_with_suffix;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      AppendLabel(labels[i].first, labels[i].second, out_);
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void ExpositionWriter::Sample(std::string_view name_with_suffix, const Labels& labels,
                              std::string_view extra_label, std::string_view extra_value,
                              double value) {
  out_ += name_with_suffix;
  out_ += '{';
  for (const auto& [name, label_value] : labels) {
    AppendLabel(name, label_value, out_);
    out_ += ',';
  }
  AppendLabel(extra_label, extra_value, out_);
  out_ += "} ";
  out_ += FormatValue(value);
  out_ += '\n';
}

std::string ExpositionWriter::Take() { return std::exchange(out_, std::string()); }

}  // namespace netprobe::metrics
