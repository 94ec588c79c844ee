#include "client/output/label_text.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace netprobe::client {

std::string FormatLabelSet(
    const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "";
  const std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrCat("{",
                      absl::StrJoin(sorted, ",",
                                    [](std::string* out, const auto& label) {
                                      absl::StrAppend(out, label.first, "=\"",
                                                      absl::CEscape(label.second), "\"");
                                    }),
                      "}");
}

}  // namespace netprobe::client
