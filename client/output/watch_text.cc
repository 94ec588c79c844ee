#include "client/output/watch_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/output/label_text.h"
#include "client/output/ping_text.h"
#include "common/proto_time.h"

namespace netprobe::client {

std::string FormatScheduledResult(const v1::ScheduledResult& result) {
  std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", FromProto(result.started()),
                                    absl::UTCTimeZone()),
                   " ", result.probe(), " #", result.run(), " ");
  if (result.has_summary()) {
    absl::StrAppend(&out, absl::StripSuffix(FormatFpingSummary(result.summary()), "\n"));
  }
  if (!result.error().empty()) {
    absl::StrAppend(&out, result.has_summary() ? ", " : "", "error: ", result.error());
  }
  if (!result.labels().empty())
    absl::StrAppend(&out, " ", FormatLabelSet(result.labels()));
  return out + "\n";
}

}  // namespace netprobe::client
