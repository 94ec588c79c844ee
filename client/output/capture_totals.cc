#include "client/output/capture_totals.h"

#include "absl/strings/str_cat.h"

namespace netprobe::client {
namespace {

std::string Line(uint64_t n, const char* what) {
  return absl::StrCat(n, n == 1 ? " packet " : " packets ", what, "\n");
}

}  // namespace

std::string FormatCaptureTotals(uint64_t captured, const v1::CaptureStats& stats) {
  std::string out = Line(captured, "captured");
  absl::StrAppend(&out, Line(stats.received(), "received by filter"),
                  Line(stats.kernel_dropped(), "dropped by kernel"));
  if (stats.interface_dropped() != 0) {
    absl::StrAppend(&out, Line(stats.interface_dropped(), "dropped by interface"));
  }
  absl::StrAppend(
      &out, Line(stats.agent_dropped(), "dropped by agent (client read too slowly)"));
  return out;
}

}  // namespace netprobe::client
