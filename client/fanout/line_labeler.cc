#include "client/fanout/line_labeler.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace netprobe::client {

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string InsertJsonMember(absl::string_view line, absl::string_view key,
                             absl::string_view value) {
  const absl::string_view body = absl::StripLeadingAsciiWhitespace(line);
  if (body.empty() || body.front() != '{') return "";
  const absl::string_view rest = body.substr(1);
  const std::string member = absl::StrCat(JsonQuote(key), ":", JsonQuote(value));
  const bool empty_object =
      absl::StartsWith(absl::StripLeadingAsciiWhitespace(rest), "}");
  return absl::StrCat("{", member, empty_object ? "" : ",", rest);
}

LineLabeler::LineLabeler(std::string name, size_t width, bool json)
    : name_(std::move(name)), json_(json) {
  prefix_ = absl::StrCat("[", name_, "]");
  // "[" + name + "]" then one space, padded to the widest name's column.
  prefix_.append(width > name_.size() ? width - name_.size() : 0, ' ');
  prefix_ += ' ';
}

std::string LineLabeler::Text(absl::string_view line) const {
  if (line.empty()) {
    // No trailing spaces on an empty line: "[name]".
    return absl::StrCat(absl::StripTrailingAsciiWhitespace(prefix_), "\n");
  }
  return absl::StrCat(prefix_, line, "\n");
}

std::string LineLabeler::Label(absl::string_view line) const {
  if (json_) {
    std::string labelled = InsertJsonMember(line, "agent", name_);
    if (!labelled.empty()) return labelled + "\n";
  }
  return Text(line);
}

}  // namespace netprobe::client
