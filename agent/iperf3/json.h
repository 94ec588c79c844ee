#ifndef NETPROBE_AGENT_IPERF3_JSON_H_
#define NETPROBE_AGENT_IPERF3_JSON_H_

// The little JSON that iperf3's exchanges need: a strict parser into a tree
// and a writer of flat objects. Internal to agent/iperf3 (wire.cc uses it).
//
// Numbers keep their exact integer value next to the double: iperf3 3.12
// prints a negative integer as its unsigned 64-bit two's complement
// (cJSON's print_number uses PRIu64, fixed in 3.14), so "-1" arrives as
// 18446744073709551615, which no double holds exactly.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe::iperf3 {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;               // any number, as strtod reads it
  std::optional<int64_t> int64;    // an integer (no fraction, no exponent) in range
  std::optional<uint64_t> uint64;  // a non-negative integer in range
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> members;  // in text order

  // The first member named `key`, ignoring ASCII case as cJSON_GetObjectItem
  // does; nullptr when absent or when this is not an object.
  const JsonValue* Find(absl::string_view key) const;
  // "a number", "a string", ... for error messages.
  const char* TypeName() const;
};

inline constexpr int kMaxJsonDepth = 64;

// RFC 8259 JSON, one value, surrounding whitespace allowed. Errors say where
// ("at offset 12: expected ':'").
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// Appends `text` as a JSON string literal (quotes, escapes; bytes >= 0x80
// are copied as they are).
void AppendJsonString(std::string* out, absl::string_view text);
// Appends a JSON number as cJSON would print it: an integral value below
// 2^53 without fraction or exponent, else the shortest text that reads back
// the same double. NaN and infinities, which JSON cannot hold, as 0.
void AppendJsonDouble(std::string* out, double value);

// Builds one flat JSON object, members in call order.
class JsonObjectWriter {
 public:
  JsonObjectWriter& Bool(absl::string_view key, bool value);
  JsonObjectWriter& Int(absl::string_view key, int64_t value);
  JsonObjectWriter& Uint(absl::string_view key, uint64_t value);
  JsonObjectWriter& Double(absl::string_view key, double value);
  JsonObjectWriter& String(absl::string_view key, absl::string_view value);
  // `json` must be valid JSON text (an array or object built by the caller).
  JsonObjectWriter& Raw(absl::string_view key, absl::string_view json);
  std::string Finish() &&;

 private:
  void Key(absl::string_view key);
  std::string out_ = "{";
};

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_JSON_H_
