#include "agent/probes/request_fields.h"

#include "absl/strings/str_cat.h"
#include "agent/probes/proto_time.h"

namespace netprobe {

absl::StatusOr<absl::Duration> DurationInRange(const google::protobuf::Duration& value,
                                               absl::string_view field,
                                               absl::Duration min, absl::Duration max,
                                               absl::string_view min_note) {
  const absl::Duration d = FromProto(value);
  if (d < min || d > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", absl::FormatDuration(d), " is out of range: it must be from ",
        absl::FormatDuration(min), min_note, " to ", absl::FormatDuration(max)));
  }
  return d;
}

}  // namespace netprobe
