#ifndef NETPROBE_CLIENT_OUTPUT_LABEL_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_LABEL_TEXT_H_

#include <google/protobuf/map.h>

#include <string>

namespace netprobe::client {

// A scheduled probe's labels as Prometheus prints a series' label set,
// sorted by name, values C-escaped: `{site="lab",tier="db"}`; "" when none.
std::string FormatLabelSet(const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_LABEL_TEXT_H_
