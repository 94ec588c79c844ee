#include "client/output/mesh_table.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/loss_text.h"
#include "client/output/tcp_text.h"

namespace netprobe::client {
namespace {

constexpr size_t kColumns = 6;
using Row = std::array<std::string, kColumns>;

std::string TargetText(const v1::Endpoint& e) {
  std::string out = e.host();
  if (e.port() != 0) {
    out = e.host().find(':') != std::string::npos
              ? absl::StrCat("[", e.host(), "]:", e.port())
              : absl::StrCat(e.host(), ":", e.port());
  }
  if (!e.address().empty() && e.address() != e.host()) {
    absl::StrAppend(&out, " (", e.address(), ")");
  }
  return out;
}

int W(size_t width) { return static_cast<int>(width); }

}  // namespace

std::string FormatMeshTable(absl::string_view what,
                            const std::vector<MeshAgent>& agents) {
  std::vector<Row> rows = {
      {"AGENT", "TARGET", "SENT", "RECEIVED", "LOSS", "MIN/AVG/MAX ms"}};
  for (const MeshAgent& agent : agents) {
    for (const v1::TargetSummary& s : agent.summaries) {
      rows.push_back({agent.name, TargetText(s.target()), absl::StrCat(s.sent()),
                      absl::StrCat(s.received()), FormatLossPercent(s.loss_percent()),
                      s.rtt().count() > 0 ? absl::StrCat(Millis(s.rtt().min()), "/",
                                                         Millis(s.rtt().avg()), "/",
                                                         Millis(s.rtt().max()))
                                          : "-"});
    }
    if (!agent.failure.empty()) {
      rows.push_back({agent.name, "-", "-", "-", "-", "failed: " + agent.failure});
    }
  }
  std::array<size_t, kColumns> width = {};
  for (const Row& row : rows) {
    for (size_t i = 0; i + 1 < kColumns; ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out = absl::StrCat("--- ", what, " statistics by agent ---\n");
  for (const Row& row : rows) {
    // Names left-aligned, numbers right-aligned, the last column as it is.
    absl::StrAppendFormat(&out, "%-*s  %-*s  %*s  %*s  %*s  %s\n", W(width[0]), row[0],
                          W(width[1]), row[1], W(width[2]), row[2], W(width[3]), row[3],
                          W(width[4]), row[4], row[5]);
  }
  return out;
}

}  // namespace netprobe::client
