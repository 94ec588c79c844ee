#include "client/output/json_lines.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/strutil.h>  // DoubleToBuffer, FloatToBuffer
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace netprobe::client {
namespace {
// Named, so a unity build that joins this file with others sees no clashes.
namespace json_writer {

namespace pb = google::protobuf;

// ---------------------------------------------------------------------------
// Leaf formatting, byte for byte as protobuf 3.21's util/internal
// (json_escaping.cc, json_objectwriter.cc, protostream_objectsource.cc,
// stubs/time.cc).

// JsonEscaping::Escape: the C0/C1 controls, 0x7f, '"', '\\', '<' and '>' and a
// few invisible code points are escaped; invalid UTF-8 is dropped.
bool IsSurrogate(uint32_t cp) { return (cp & 0xfffff800) == 0xd800; }

// ReadCodePoint of json_escaping.cc for input that is one chunk.
bool ReadCodePoint(std::string_view str, size_t index, uint32_t* cp, int* num_left,
                   int* num_read) {
  *cp = static_cast<uint8_t>(str[index++]);
  *num_read = 1;
  *num_left = 0;
  if (*cp <= 0x7f) return true;
  if (*cp <= 0xbf) return false;
  if (*cp <= 0xdf) {
    *cp &= 0x1f;
    *num_left = 1;
  } else if (*cp <= 0xef) {
    *cp &= 0x0f;
    *num_left = 2;
  } else if (*cp <= 0xf7) {
    *cp &= 0x07;
    *num_left = 3;
  } else {
    return false;
  }
  while (*num_left > 0 && index < str.size()) {
    const uint32_t ch = static_cast<uint8_t>(str[index++]);
    --*num_left;
    ++*num_read;
    *cp = (*cp << 6) | (ch & 0x3f);
    if (ch < 0x80 || ch > 0xbf) return false;
  }
  return *num_left > 0 || (!IsSurrogate(*cp) && *cp <= 0x10ffff);
}

constexpr char kHex[] = "0123456789abcdef";

void AppendU16Escape(uint32_t unit, std::string* out) {
  const char escaped[6] = {'\\',
                           'u',
                           kHex[(unit >> 12) & 0xf],
                           kHex[(unit >> 8) & 0xf],
                           kHex[(unit >> 4) & 0xf],
                           kHex[unit & 0xf]};
  out->append(escaped, 6);
}

// EscapeCodePoint of json_escaping.cc: appends the escape and returns true,
// or returns false when `cp` is written as it is.
bool AppendEscapedCodePoint(uint32_t cp, std::string* out) {
  if (cp < 0xa0) {
    switch (cp) {
      case '\b':
        out->append("\\b");
        return true;
      case '\t':
        out->append("\\t");
        return true;
      case '\n':
        out->append("\\n");
        return true;
      case '\f':
        out->append("\\f");
        return true;
      case '\r':
        out->append("\\r");
        return true;
      case '"':
        out->append("\\\"");
        return true;
      case '\\':
        out->append("\\\\");
        return true;
      case '<':
      case '>':
        AppendU16Escape(cp, out);
        return true;
      default:
        if (cp < 0x20 || cp >= 0x7f) {
          AppendU16Escape(cp, out);
          return true;
        }
        return false;
    }
  }
  switch (cp) {
    case 0xfeff:
    case 0xfff9:
    case 0xfffa:
    case 0xfffb:
    case 0x00ad:
    case 0x06dd:
    case 0x070f:
    case 0x17b4:
    case 0x17b5:
      AppendU16Escape(cp, out);
      return true;
    default:
      break;
  }
  if ((cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) ||
      (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
      (cp >= 0x206a && cp <= 0x206f)) {
    AppendU16Escape(cp, out);
    return true;
  }
  if (cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) ||
      (cp >= 0xe0020 && cp <= 0xe007f)) {
    AppendU16Escape(((cp - 0x10000) >> 10) + 0xd800, out);
    AppendU16Escape(((cp - 0x10000) & 0x3ff) + 0xdc00, out);
    return true;
  }
  return false;
}

void AppendEscaped(std::string_view in, std::string* out) {
  size_t plain = 0;
  while (plain < in.size()) {
    const unsigned char c = static_cast<unsigned char>(in[plain]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') break;
    ++plain;
  }
  out->append(in.data(), plain);
  if (plain == in.size()) return;
  // The slow path, as JsonEscaping::Escape walks one chunk: runs of code
  // points that need no escape are copied, an invalid or truncated sequence
  // is skipped (the bytes read for it, up to and including the bad byte).
  size_t pos = plain;
  while (pos < in.size()) {
    size_t start = pos;
    uint32_t cp = 0;
    int num_left = 0;
    int num_read = 0;
    bool ok = true;
    bool escaped = false;
    while (pos < in.size()) {
      ok = ReadCodePoint(in, pos, &cp, &num_left, &num_read);
      if (num_left > 0 || !ok) break;
      // Escaped code points are appended after the unescaped run before them.
      std::string escape;
      if (AppendEscapedCodePoint(cp, &escape)) {
        out->append(in.data() + start, pos - start);
        out->append(escape);
        escaped = true;
        pos += num_read;
        break;
      }
      pos += num_read;
      num_read = 0;
    }
    if (escaped) continue;
    out->append(in.data() + start, pos - start);
    pos += num_read;  // an invalid or truncated sequence: dropped
  }
}

void AppendQuotedEscaped(std::string_view in, std::string* out) {
  out->push_back('"');
  AppendEscaped(in, out);
  out->push_back('"');
}

template <typename Int>
void AppendInt(Int value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr - buffer);
}

template <typename Int>
void AppendQuotedInt(Int value, std::string* out) {
  char buffer[26];
  buffer[0] = '"';
  const auto result = std::to_chars(buffer + 1, buffer + sizeof(buffer) - 1, value);
  *result.ptr = '"';
  out->append(buffer, result.ptr + 1 - buffer);
}

// JsonObjectWriter::RenderDouble: SimpleDtoa, or "NaN" / "Infinity" quoted.
void AppendNonFinite(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
  } else {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  }
}

void AppendDouble(double value, std::string* out) {
  if (!std::isfinite(value)) return AppendNonFinite(value, out);
  char buffer[pb::kDoubleToBufferSize];
  out->append(pb::DoubleToBuffer(value, buffer));
}

void AppendFloat(float value, std::string* out) {
  if (!std::isfinite(value)) return AppendNonFinite(value, out);
  char buffer[pb::kFloatToBufferSize];
  out->append(pb::FloatToBuffer(value, buffer));
}

void AppendBase64(std::string_view in, std::string* out) {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  for (; n >= 3; p += 3, n -= 3) {
    const uint32_t v = (p[0] << 16) | (p[1] << 8) | p[2];
    const char quad[4] = {kChars[v >> 18], kChars[(v >> 12) & 63], kChars[(v >> 6) & 63],
                          kChars[v & 63]};
    out->append(quad, 4);
  }
  if (n == 1) {
    const uint32_t v = p[0] << 16;
    const char quad[4] = {kChars[v >> 18], kChars[(v >> 12) & 63], '=', '='};
    out->append(quad, 4);
  } else if (n == 2) {
    const uint32_t v = (p[0] << 16) | (p[1] << 8);
    const char quad[4] = {kChars[v >> 18], kChars[(v >> 12) & 63], kChars[(v >> 6) & 63],
                          '='};
    out->append(quad, 4);
  }
  out->push_back('"');
}

void AppendDigits(uint32_t value, int width, char* at) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// ".123", ".123456" or ".123456789": 3, 6 or 9 digits, as few as are exact;
// nothing for 0.
void AppendNanos(uint32_t nanos, std::string* out) {
  if (nanos == 0) return;
  char buffer[10];
  buffer[0] = '.';
  AppendDigits(nanos, 9, buffer + 1);
  const int digits = nanos % 1000 != 0 ? 9 : nanos % 1000000 != 0 ? 6 : 3;
  out->append(buffer, 1 + digits);
}

constexpr int64_t kTimestampMinSeconds = -62135596800LL;  // 0001-01-01T00:00:00Z
constexpr int64_t kTimestampMaxSeconds = 253402300799LL;  // 9999-12-31T23:59:59Z
constexpr int64_t kDurationMaxSeconds = 315576000000LL;
constexpr int32_t kNanosPerSecond = 1000000000;

// RFC 3339, UTC: "2025-11-30T10:53:20.123456789Z". False where protobuf's
// printer fails.
bool AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out) {
  if (seconds < kTimestampMinSeconds || seconds > kTimestampMaxSeconds) return false;
  if (nanos < 0 || nanos >= kNanosPerSecond) return false;
  int64_t days = seconds / 86400;
  int64_t of_day = seconds % 86400;
  if (of_day < 0) {
    of_day += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buffer[21] = "\"0000-00-00T00:00:00";
  AppendDigits(static_cast<uint32_t>(year), 4, buffer + 1);
  AppendDigits(static_cast<uint32_t>(month), 2, buffer + 6);
  AppendDigits(static_cast<uint32_t>(day), 2, buffer + 9);
  AppendDigits(static_cast<uint32_t>(of_day / 3600), 2, buffer + 12);
  AppendDigits(static_cast<uint32_t>(of_day / 60 % 60), 2, buffer + 15);
  AppendDigits(static_cast<uint32_t>(of_day % 60), 2, buffer + 18);
  out->append(buffer, 20);
  AppendNanos(static_cast<uint32_t>(nanos), out);
  out->append("Z\"");
  return true;
}

// "1.500s", "-0.000001s". False where protobuf's printer fails, and for
// positive seconds with negative nanos (which it prints oddly: left to it).
bool AppendDuration(int64_t seconds, int32_t nanos, std::string* out) {
  if (seconds > kDurationMaxSeconds || seconds < -kDurationMaxSeconds) return false;
  if (nanos <= -kNanosPerSecond || nanos >= kNanosPerSecond) return false;
  if ((seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) return false;
  out->push_back('"');
  if (seconds < 0 || nanos < 0) {
    out->push_back('-');
    seconds = -seconds;
    nanos = -nanos;
  }
  AppendInt(seconds, out);
  AppendNanos(static_cast<uint32_t>(nanos), out);
  out->append("s\"");
  return true;
}

// ---------------------------------------------------------------------------
// Writers per message type.

enum class Kind : uint8_t {
  kInt32,
  kInt64,
  kUint32,
  kUint64,
  kDouble,
  kFloat,
  kBool,
  kEnum,
  kString,
  kBytes,
  kMessage,    // an object; `message` is its plan
  kTimestamp,  // a string; sub1 = seconds, sub2 = nanos
  kDuration,   // a string; sub1 = seconds, sub2 = nanos
  kWrapper,    // google.protobuf.*Value: `inner` renders its field 1
  kMap,        // an object; map_key, `inner` renders the entry's value
};

struct MessagePlan;

// The names of an enum's values by number, quoted ("\"OUTCOME_OK\""); empty
// where the number has no name (printed as a number).
struct EnumPlan {
  const pb::EnumDescriptor* type = nullptr;
  int32_t min = 0;
  std::vector<std::string> names;  // empty: too sparse, use FindValueByNumber
};

struct FieldPlan {
  const pb::FieldDescriptor* field = nullptr;
  std::string key;  // "\"jsonName\":"
  Kind kind = Kind::kInt32;
  bool repeated = false;
  const MessagePlan* message = nullptr;
  const EnumPlan* enum_plan = nullptr;
  const pb::FieldDescriptor* sub1 = nullptr;
  const pb::FieldDescriptor* sub2 = nullptr;
  const pb::FieldDescriptor* map_key = nullptr;
  std::unique_ptr<FieldPlan> inner;
};

// protobuf's DefaultValueObjectWriter pre-populates a node per field in
// declaration order, except scalars in a oneof (real or `optional`); what
// it did not pre-populate, and what is rendered as a scalar where it
// pre-populated an object (Timestamp, Duration, wrappers), is appended in
// wire order. Unset message fields are not printed.
struct MessagePlan {
  bool supported = true;
  std::vector<FieldPlan> head;  // declaration order
  std::vector<FieldPlan> tail;  // field number order, printed when present
};

bool IsWrapper(std::string_view name) {
  return name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue" ||
         name == "google.protobuf.Int64Value" || name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.Int32Value" || name == "google.protobuf.UInt32Value" ||
         name == "google.protobuf.BoolValue" || name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue";
}

// Plans are keyed by Descriptor address and kept for the life of the process:
// the descriptors must be too (the generated pool's are; a DescriptorPool
// that is freed and another built at the same address would not be).
class PlanCache {
 public:
  // The plan of `type`, built on first use. Plans live as long as the process.
  const MessagePlan* Get(const pb::Descriptor* type) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(type);
    if (it != plans_.end()) return it->second.get();
    std::vector<MessagePlan*> built;
    const MessagePlan* plan = Build(type, &built);
    // A type is supported only if every type it reaches is: settle that once
    // the graph (cycles included) is complete.
    for (bool changed = true; changed;) {
      changed = false;
      for (MessagePlan* p : built) {
        if (!p->supported) continue;
        for (const std::vector<FieldPlan>* fields : {&p->head, &p->tail}) {
          for (const FieldPlan& f : *fields) {
            const FieldPlan* value = f.kind == Kind::kMap ? f.inner.get() : &f;
            if (value->message != nullptr && !value->message->supported) {
              p->supported = false;
              changed = true;
            }
          }
        }
      }
    }
    return plan;
  }

 private:
  MessagePlan* Build(const pb::Descriptor* type, std::vector<MessagePlan*>* built) {
    auto [it, inserted] = plans_.emplace(type, nullptr);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<MessagePlan>();
    MessagePlan* plan = it->second.get();
    built->push_back(plan);
    if (type->file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3 ||
        type->full_name().rfind("google.protobuf.", 0) == 0) {
      plan->supported = false;  // proto2 defaults, well-known types at the root
      return plan;
    }
    std::vector<const pb::FieldDescriptor*> tail;
    for (int i = 0; i < type->field_count(); ++i) {
      const pb::FieldDescriptor* field = type->field(i);
      FieldPlan f;
      f.field = field;
      f.key = "\"";
      AppendEscaped(field->json_name(), &f.key);
      f.key += "\":";
      f.repeated = field->is_repeated();
      if (field->is_map()) {
        f.kind = Kind::kMap;
        f.map_key = field->message_type()->map_key();
        f.inner = std::make_unique<FieldPlan>();
        if (!Fill(field->message_type()->map_value(), f.inner.get(), built)) {
          plan->supported = false;
        }
      } else if (!Fill(field, &f, built)) {
        plan->supported = false;
      }
      const bool scalar_like = f.kind != Kind::kMessage && f.kind != Kind::kMap;
      if (!f.repeated && ((scalar_like && field->containing_oneof() != nullptr) ||
                          f.kind == Kind::kTimestamp || f.kind == Kind::kDuration ||
                          f.kind == Kind::kWrapper)) {
        tail.push_back(field);
        plan->tail.push_back(std::move(f));
      } else {
        plan->head.push_back(std::move(f));
      }
    }
    std::stable_sort(plan->tail.begin(), plan->tail.end(),
                     [](const FieldPlan& a, const FieldPlan& b) {
                       return a.field->number() < b.field->number();
                     });
    return plan;
  }

  // Sets kind and what the kind needs for `field`'s values (its elements, if
  // repeated). False if protobuf's printer must do it.
  bool Fill(const pb::FieldDescriptor* field, FieldPlan* f,
            std::vector<MessagePlan*>* built) {
    f->field = field;
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        f->kind = Kind::kInt32;
        return true;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        f->kind = Kind::kInt64;
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        f->kind = Kind::kUint32;
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        f->kind = Kind::kUint64;
        return true;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        f->kind = Kind::kDouble;
        return true;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        f->kind = Kind::kFloat;
        return true;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        f->kind = Kind::kBool;
        return true;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        f->kind = field->type() == pb::FieldDescriptor::TYPE_BYTES ? Kind::kBytes
                                                                   : Kind::kString;
        return true;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        f->kind = Kind::kEnum;
        f->enum_plan = EnumPlanOf(field->enum_type());
        return field->enum_type()->full_name() != "google.protobuf.NullValue";
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
    if (field->type() == pb::FieldDescriptor::TYPE_GROUP) return false;
    const pb::Descriptor* type = field->message_type();
    const std::string& name = type->full_name();
    if (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration") {
      f->kind = name == "google.protobuf.Timestamp" ? Kind::kTimestamp : Kind::kDuration;
      f->sub1 = type->FindFieldByNumber(1);
      f->sub2 = type->FindFieldByNumber(2);
      return f->sub1 != nullptr && f->sub2 != nullptr;
    }
    if (IsWrapper(name)) {
      f->kind = Kind::kWrapper;
      f->inner = std::make_unique<FieldPlan>();
      const pb::FieldDescriptor* value = type->FindFieldByNumber(1);
      return value != nullptr && Fill(value, f->inner.get(), built);
    }
    if (name.rfind("google.protobuf.", 0) == 0) return false;  // Any, Struct, ...
    f->kind = Kind::kMessage;
    f->message = Build(type, built);
    return true;
  }

  const EnumPlan* EnumPlanOf(const pb::EnumDescriptor* type) {
    auto [it, inserted] = enums_.emplace(type, nullptr);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<EnumPlan>();
    EnumPlan* plan = it->second.get();
    plan->type = type;
    int32_t min = type->value(0)->number();
    int32_t max = min;
    for (int i = 1; i < type->value_count(); ++i) {
      min = std::min(min, type->value(i)->number());
      max = std::max(max, type->value(i)->number());
    }
    if (static_cast<int64_t>(max) - min < 1024) {
      plan->min = min;
      plan->names.resize(max - min + 1);
      // The first value declared with a number names it, as both printers do.
      for (int i = type->value_count() - 1; i >= 0; --i) {
        const pb::EnumValueDescriptor* value = type->value(i);
        plan->names[value->number() - min] = "\"" + value->name() + "\"";
      }
    }
    return plan;
  }

  std::mutex mu_;
  std::unordered_map<const pb::Descriptor*, std::unique_ptr<MessagePlan>> plans_;
  std::unordered_map<const pb::EnumDescriptor*, std::unique_ptr<EnumPlan>> enums_;
};

PlanCache& Plans() {
  static PlanCache* const cache = new PlanCache;
  return *cache;
}

// protobuf's printer stops at 64 levels; deep messages are left to it.
constexpr int kMaxDepth = 32;

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  // False where protobuf's printer must write the message instead.
  bool Message(const pb::Message& message, const MessagePlan& plan) {
    if (++depth_ > kMaxDepth) return false;
    const pb::Reflection* reflection = message.GetReflection();
    out_->push_back('{');
    bool first = true;
    for (const FieldPlan& f : plan.head) {
      if (f.repeated) {
        Separator(&first);
        out_->append(f.key);
        if (f.kind == Kind::kMap) {
          if (!Map(message, reflection, f)) return false;
        } else if (!List(message, reflection, f)) {
          return false;
        }
      } else if (f.kind == Kind::kMessage) {
        if (!reflection->HasField(message, f.field)) continue;
        Separator(&first);
        out_->append(f.key);
        if (!Message(reflection->GetMessage(message, f.field), *f.message)) return false;
      } else {
        Separator(&first);
        out_->append(f.key);
        if (!Value(message, reflection, f, -1)) return false;
      }
    }
    for (const FieldPlan& f : plan.tail) {
      if (!reflection->HasField(message, f.field)) continue;
      Separator(&first);
      out_->append(f.key);
      if (!Value(message, reflection, f, -1)) return false;
    }
    out_->push_back('}');
    --depth_;
    return true;
  }

 private:
  void Separator(bool* first) {
    if (!*first) out_->push_back(',');
    *first = false;
  }

  bool List(const pb::Message& message, const pb::Reflection* reflection,
            const FieldPlan& f) {
    out_->push_back('[');
    const int size = reflection->FieldSize(message, f.field);
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_->push_back(',');
      if (!Value(message, reflection, f, i)) return false;
    }
    out_->push_back(']');
    return true;
  }

  // Entries in the order of the map's repeated view, which, for a map parsed
  // from the wire or filled through the generated API (every message the CLI
  // prints), is the map's own order, the one serialization (and so
  // protobuf's printer) walks. A map edited through its repeated view (by
  // reflection) and not read since could be printed in another order.
  bool Map(const pb::Message& message, const pb::Reflection* reflection,
           const FieldPlan& f) {
    out_->push_back('{');
    const int size = reflection->FieldSize(message, f.field);
    std::string scratch;
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_->push_back(',');
      const pb::Message& entry = reflection->GetRepeatedMessage(message, f.field, i);
      const pb::Reflection* entry_reflection = entry.GetReflection();
      out_->push_back('"');
      switch (f.map_key->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING:
          AppendEscaped(entry_reflection->GetStringReference(entry, f.map_key, &scratch),
                        out_);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT32:
          AppendInt(entry_reflection->GetInt32(entry, f.map_key), out_);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT64:
          AppendInt(entry_reflection->GetInt64(entry, f.map_key), out_);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          AppendInt(entry_reflection->GetUInt32(entry, f.map_key), out_);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          AppendInt(entry_reflection->GetUInt64(entry, f.map_key), out_);
          break;
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          out_->append(entry_reflection->GetBool(entry, f.map_key) ? "true" : "false");
          break;
        default:
          return false;
      }
      out_->append("\":");
      if (!Value(entry, entry_reflection, *f.inner, -1)) return false;
    }
    out_->push_back('}');
    return true;
  }

  // One value of field f: the field if index < 0, else its element `index`.
  bool Value(const pb::Message& message, const pb::Reflection* r, const FieldPlan& f,
             int index) {
    const pb::FieldDescriptor* field = f.field;
    switch (f.kind) {
      case Kind::kInt32:
        AppendInt(index < 0 ? r->GetInt32(message, field)
                            : r->GetRepeatedInt32(message, field, index),
                  out_);
        return true;
      case Kind::kInt64:
        AppendQuotedInt(index < 0 ? r->GetInt64(message, field)
                                  : r->GetRepeatedInt64(message, field, index),
                        out_);
        return true;
      case Kind::kUint32:
        AppendInt(index < 0 ? r->GetUInt32(message, field)
                            : r->GetRepeatedUInt32(message, field, index),
                  out_);
        return true;
      case Kind::kUint64:
        AppendQuotedInt(index < 0 ? r->GetUInt64(message, field)
                                  : r->GetRepeatedUInt64(message, field, index),
                        out_);
        return true;
      case Kind::kDouble:
        AppendDouble(index < 0 ? r->GetDouble(message, field)
                               : r->GetRepeatedDouble(message, field, index),
                     out_);
        return true;
      case Kind::kFloat:
        AppendFloat(index < 0 ? r->GetFloat(message, field)
                              : r->GetRepeatedFloat(message, field, index),
                    out_);
        return true;
      case Kind::kBool:
        out_->append((index < 0 ? r->GetBool(message, field)
                                : r->GetRepeatedBool(message, field, index))
                         ? "true"
                         : "false");
        return true;
      case Kind::kEnum: {
        const int number = index < 0 ? r->GetEnumValue(message, field)
                                     : r->GetRepeatedEnumValue(message, field, index);
        const EnumPlan& e = *f.enum_plan;
        if (!e.names.empty()) {
          const int64_t slot = static_cast<int64_t>(number) - e.min;
          if (slot >= 0 && slot < static_cast<int64_t>(e.names.size()) &&
              !e.names[slot].empty()) {
            out_->append(e.names[slot]);
          } else {
            AppendInt(number, out_);
          }
        } else if (const pb::EnumValueDescriptor* value =
                       e.type->FindValueByNumber(number)) {
          AppendQuotedEscaped(value->name(), out_);
        } else {
          AppendInt(number, out_);
        }
        return true;
      }
      case Kind::kString: {
        const std::string& value =
            index < 0 ? r->GetStringReference(message, field, &scratch_)
                      : r->GetRepeatedStringReference(message, field, index, &scratch_);
        AppendQuotedEscaped(value, out_);
        return true;
      }
      case Kind::kBytes: {
        const std::string& value =
            index < 0 ? r->GetStringReference(message, field, &scratch_)
                      : r->GetRepeatedStringReference(message, field, index, &scratch_);
        AppendBase64(value, out_);
        return true;
      }
      case Kind::kMessage:
        return Message(index < 0 ? r->GetMessage(message, field)
                                 : r->GetRepeatedMessage(message, field, index),
                       *f.message);
      case Kind::kTimestamp:
      case Kind::kDuration: {
        const pb::Message& value = index < 0
                                       ? r->GetMessage(message, field)
                                       : r->GetRepeatedMessage(message, field, index);
        const pb::Reflection* vr = value.GetReflection();
        const int64_t seconds = vr->GetInt64(value, f.sub1);
        const int32_t nanos = vr->GetInt32(value, f.sub2);
        return f.kind == Kind::kTimestamp ? AppendTimestamp(seconds, nanos, out_)
                                          : AppendDuration(seconds, nanos, out_);
      }
      case Kind::kWrapper: {
        const pb::Message& value = index < 0
                                       ? r->GetMessage(message, field)
                                       : r->GetRepeatedMessage(message, field, index);
        return Value(value, value.GetReflection(), *f.inner, -1);
      }
      case Kind::kMap:
        return false;  // maps are not values
    }
    return false;
  }

  std::string* out_;
  std::string scratch_;
  int depth_ = 0;
};

}  // namespace json_writer
}  // namespace

std::string ToJsonLineByProtobuf(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";  // Only for values it refuses; we send none.
  return out;
}

namespace {

// Appends the line if the writer can, else returns false (and leaves *out as
// it was).
bool AppendByWriter(const google::protobuf::Message& message, std::string* out) {
  using json_writer::MessagePlan;
  // The last type seen by this thread: one pointer compare, no lock, per line.
  thread_local const google::protobuf::Descriptor* last_type = nullptr;
  thread_local const MessagePlan* last_plan = nullptr;
  const google::protobuf::Descriptor* type = message.GetDescriptor();
  if (type != last_type) {
    last_plan = json_writer::Plans().Get(type);
    last_type = type;
  }
  const size_t start = out->size();
  if (last_plan->supported && json_writer::Writer(out).Message(message, *last_plan)) {
    return true;
  }
  out->resize(start);
  return false;
}

}  // namespace

void AppendJsonLine(const google::protobuf::Message& message, std::string* out) {
  if (!AppendByWriter(message, out)) out->append(ToJsonLineByProtobuf(message));
}

bool WritesJsonLineItself(const google::protobuf::Message& message) {
  std::string line;
  return AppendByWriter(message, &line);
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  std::string out;
  AppendJsonLine(message, &out);
  return out;
}

void WriteJsonLine(FILE* out, const google::protobuf::Message& message) {
  thread_local std::string line;
  line.clear();
  AppendJsonLine(message, &line);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out);
}

}  // namespace netprobe::client
