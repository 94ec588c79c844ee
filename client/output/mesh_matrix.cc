#include "client/output/mesh_matrix.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/fanout/line_labeler.h"
#include "client/output/loss_text.h"

namespace netprobe::client {
namespace {

// A millisecond value with three decimals, like ping's "0.045".
std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d));
}

std::string LossText(const MeshCell& cell) {
  if (!cell.loss_percent) return "err";
  return FormatLossPercent(*cell.loss_percent);
}

std::string RttText(const MeshCell& cell) {
  if (!cell.loss_percent) return "err";
  if (!cell.rtt_median) return "*";
  return Ms(*cell.rtt_median);
}

// One table: `text` gives a cell's text.
std::string Table(
    const std::string& title, const std::vector<std::string>& names,
    const std::map<std::pair<std::string, std::string>, const MeshCell*>& at,
    std::string (*text)(const MeshCell&)) {
  const size_t n = names.size();
  std::vector<std::vector<std::string>> grid(n, std::vector<std::string>(n));
  size_t label = 0;
  std::vector<size_t> width(n);
  for (size_t i = 0; i < n; ++i) {
    label = std::max(label, names[i].size());
    width[i] = names[i].size();
  }
  for (size_t r = 0; r < n; ++r) {
    for (size_t c = 0; c < n; ++c) {
      if (r == c) {
        grid[r][c] = "-";
      } else {
        auto it = at.find({names[r], names[c]});
        grid[r][c] = it == at.end() ? "?" : text(*it->second);
      }
      width[c] = std::max(width[c], grid[r][c].size());
    }
  }
  std::string out = absl::StrCat("--- ", title, " ---\n");
  absl::StrAppendFormat(&out, "%-*s", static_cast<int>(label), "");
  for (size_t c = 0; c < n; ++c) {
    absl::StrAppendFormat(&out, "  %*s", static_cast<int>(width[c]), names[c]);
  }
  out += "\n";
  for (size_t r = 0; r < n; ++r) {
    absl::StrAppendFormat(&out, "%-*s", static_cast<int>(label), names[r]);
    for (size_t c = 0; c < n; ++c) {
      absl::StrAppendFormat(&out, "  %*s", static_cast<int>(width[c]), grid[r][c]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::optional<absl::Duration> MedianRtt(std::vector<absl::Duration> rtts) {
  if (rtts.empty()) return std::nullopt;
  std::sort(rtts.begin(), rtts.end());
  const size_t mid = rtts.size() / 2;
  if (rtts.size() % 2 == 1) return rtts[mid];
  return (rtts[mid - 1] + rtts[mid]) / 2;
}

std::string FormatMeshMatrix(const std::vector<std::string>& names,
                             const std::vector<MeshCell>& cells) {
  std::map<std::pair<std::string, std::string>, const MeshCell*> at;
  for (const MeshCell& cell : cells) at[{cell.source, cell.destination}] = &cell;
  return absl::StrCat(
      Table("mesh loss % (row: source, column: destination)", names, at, LossText), "\n",
      Table("mesh median RTT ms (*: no answer)", names, at, RttText));
}

std::string FormatMeshCellJson(const MeshCell& cell) {
  return absl::StrCat(
      "{\"source\":", JsonQuote(cell.source),
      ",\"destination\":", JsonQuote(cell.destination),
      ",\"address\":", JsonQuote(cell.address), ",\"sent\":", cell.sent,
      ",\"received\":", cell.received, ",\"loss\":",
      cell.loss_percent ? absl::StrFormat("%.6g", *cell.loss_percent) : "null",
      ",\"rtt_median_ms\":", cell.rtt_median ? Ms(*cell.rtt_median) : "null",
      ",\"error\":", JsonQuote(cell.error), "}");
}

}  // namespace netprobe::client
