#include "client/output/json_lines.h"

#include <google/protobuf/util/json_util.h>

namespace netprobe::client {

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";  // Only for unknown Any types; we send none.
  return out;
}

void WriteJsonLine(FILE* out, const google::protobuf::Message& message) {
  const std::string line = ToJsonLine(message);
  std::fwrite(line.data(), 1, line.size(), out);
  std::fputc('\n', out);
}

}  // namespace netprobe::client
