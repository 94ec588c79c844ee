#ifndef NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_
#define NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_

#include <google/protobuf/message.h>

#include <cstdio>
#include <string>

namespace netprobe::client {

// One message as one line of proto3 JSON (protobuf's own printer), with
// zero-valued fields included so every line of a kind has the same keys.
std::string ToJsonLine(const google::protobuf::Message& message);

// Writes ToJsonLine(message) and a newline. Callers flush once per stream
// message, so pipelines see events as they arrive.
void WriteJsonLine(FILE* out, const google::protobuf::Message& message);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_
