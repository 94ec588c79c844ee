#ifndef NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_
#define NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_

#include <google/protobuf/message.h>

#include <cstdio>
#include <string>

namespace netprobe::client {

// One message as one line of proto3 JSON, with zero-valued fields included so
// every line of a kind has the same keys. The bytes are exactly those of
// protobuf 3.21's MessageToJsonString (add_whitespace = false,
// always_print_primitive_fields = true), including its order: fields in
// declaration order, then the set oneof / `optional` scalars and the set
// Timestamp, Duration and wrapper fields, by field number (its
// DefaultValueObjectWriter appends what it did not pre-populate).
//
// A writer per message type (cached per Descriptor, built on first use) walks
// the message by reflection into one string. Types it does not handle (Any,
// Struct, Value, FieldMask and the rest of google.protobuf.*, proto2 files)
// and values protobuf's printer refuses (out-of-range Timestamp/Duration, too
// deep) go to protobuf's printer. Thread-safe.
std::string ToJsonLine(const google::protobuf::Message& message);

// Appends ToJsonLine(message) to *out (no newline).
void AppendJsonLine(const google::protobuf::Message& message, std::string* out);

// The reference: protobuf's printer with the options above ("{}" when it
// fails, which it only does for values it refuses).
std::string ToJsonLineByProtobuf(const google::protobuf::Message& message);

// For tests: true if ToJsonLine writes `message` itself, false if it hands
// it to protobuf's printer.
bool WritesJsonLineItself(const google::protobuf::Message& message);

// Writes ToJsonLine(message) and a newline in one fwrite. Callers flush once
// per stream message, so pipelines see events as they arrive.
void WriteJsonLine(FILE* out, const google::protobuf::Message& message);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_JSON_LINES_H_
