#include "agent/iperf3/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe::iperf3 {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    JsonValue value;
    SkipSpace();
    if (absl::Status s = ParseValue(&value, 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("text after the JSON value");
    return value;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: at offset ", pos_, ": ", what));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() &&
           (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  bool Consume(absl::string_view word) {
    if (!absl::StartsWith(text_.substr(pos_), word)) return false;
    pos_ += word.size();
    return true;
  }

  absl::Status ParseValue(JsonValue* value, int depth) {
    if (AtEnd()) return Error("unexpected end");
    switch (Peek()) {
      case '{':
        return ParseObject(value, depth + 1);
      case '[':
        return ParseArray(value, depth + 1);
      case '"':
        value->type = JsonValue::Type::kString;
        return ParseString(&value->string);
      case 't':
      case 'f':
      case 'n':
        if (Consume("true")) {
          value->type = JsonValue::Type::kBool;
          value->boolean = true;
        } else if (Consume("false")) {
          value->type = JsonValue::Type::kBool;
        } else if (Consume("null")) {
          value->type = JsonValue::Type::kNull;
        } else {
          return Error("unknown literal");
        }
        return absl::OkStatus();
      default:
        return ParseNumber(value);
    }
  }

  absl::Status ParseObject(JsonValue* value, int depth) {
    if (depth > kMaxJsonDepth) return Error("nested too deep");
    value->type = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Error("expected a member name");
      std::string key;
      if (absl::Status s = ParseString(&key); !s.ok()) return s;
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Error("expected ':'");
      ++pos_;
      SkipSpace();
      JsonValue member;
      if (absl::Status s = ParseValue(&member, depth); !s.ok()) return s;
      value->members.emplace_back(std::move(key), std::move(member));
      SkipSpace();
      if (AtEnd()) return Error("unexpected end in an object");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      return Error("expected ',' or '}'");
    }
  }

  absl::Status ParseArray(JsonValue* value, int depth) {
    if (depth > kMaxJsonDepth) return Error("nested too deep");
    value->type = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      JsonValue element;
      if (absl::Status s = ParseValue(&element, depth); !s.ok()) return s;
      value->array.push_back(std::move(element));
      SkipSpace();
      if (AtEnd()) return Error("unexpected end in an array");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return absl::OkStatus();
      }
      return Error("expected ',' or ']'");
    }
  }

  bool Hex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    pos_ += 4;
    *out = v;
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status ParseString(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20)
        return Error("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (AtEnd()) return Error("unterminated string");
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return Error("bad \\u escape");
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t low;
            if (!Consume("\\u") || !Hex4(&low) || low < 0xDC00 || low >= 0xE000) {
              return Error("unpaired UTF-16 surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return Error("unpaired UTF-16 surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Error("bad escape in a string");
      }
    }
  }

  absl::Status ParseNumber(JsonValue* value) {
    const size_t start = pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!AtEnd() && absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
      return pos_ - from;
    };
    bool integer = true;
    if (!AtEnd() && Peek() == '-') ++pos_;
    if (AtEnd() || !absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) {
      pos_ = start;
      return Error("expected a value");
    }
    if (Peek() == '0') {
      ++pos_;
    } else {
      digits();
    }
    if (!AtEnd() && Peek() == '.') {
      integer = false;
      ++pos_;
      if (digits() == 0) return Error("expected digits after '.'");
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      integer = false;
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
      if (digits() == 0) return Error("expected digits in the exponent");
    }
    absl::string_view number = text_.substr(start, pos_ - start);
    value->type = JsonValue::Type::kNumber;
    // SimpleAtod is locale-independent; out of range reads as +-inf or 0.
    if (!absl::SimpleAtod(number, &value->number)) return Error("bad number");
    if (integer) {
      int64_t i;
      if (absl::SimpleAtoi(number, &i)) value->int64 = i;
      uint64_t u;
      if (number[0] != '-' && absl::SimpleAtoi(number, &u)) value->uint64 = u;
    }
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const auto& [name, value] : members) {
    if (absl::EqualsIgnoreCase(name, key)) return &value;
  }
  return nullptr;
}

const char* JsonValue::TypeName() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  return Parser(text).ParseDocument();
}

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonDouble(std::string* out, double value) {
  if (!std::isfinite(value)) {
    out->push_back('0');
    return;
  }
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (value == std::trunc(value) && std::fabs(value) <= kExact) {
    absl::StrAppend(out, static_cast<int64_t>(value));
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, end);
}

void JsonObjectWriter::Key(absl::string_view key) {
  if (out_.size() > 1) out_.push_back(',');
  AppendJsonString(&out_, key);
  out_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::Bool(absl::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(absl::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Uint(absl::string_view key, uint64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Double(absl::string_view key, double value) {
  Key(key);
  AppendJsonDouble(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::String(absl::string_view key,
                                           absl::string_view value) {
  Key(key);
  AppendJsonString(&out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Raw(absl::string_view key, absl::string_view json) {
  Key(key);
  out_.append(json.data(), json.size());
  return *this;
}

std::string JsonObjectWriter::Finish() && {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace netprobe::iperf3
