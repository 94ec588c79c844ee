#include "client/output/loss_text.h"

#include "absl/strings/str_format.h"

namespace netprobe::client {

std::string FormatLossPercent(double percent) {
  return percent == static_cast<int>(percent)
             ? absl::StrFormat("%d%%", static_cast<int>(percent))
             : absl::StrFormat("%.1f%%", percent);
}

}  // namespace netprobe::client
