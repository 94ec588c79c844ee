#ifndef NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_
#define NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_

#include <google/protobuf/duration.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace netprobe {

// Checks a request's duration field against [min, max]. The error names the
// field and the range: "interval: 500us is out of range: it must be from 1ms
// to 1h"; `min_note` follows the minimum ("0s (none)").
absl::StatusOr<absl::Duration> DurationInRange(const google::protobuf::Duration& value,
                                               absl::string_view field,
                                               absl::Duration min, absl::Duration max,
                                               absl::string_view min_note = "");

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_REQUEST_FIELDS_H_
