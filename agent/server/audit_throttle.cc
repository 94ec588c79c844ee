#include "agent/server/audit_throttle.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace netprobe {
namespace {

std::string Counts(const std::map<std::string, uint64_t>& counts) {
  return absl::StrCat("{",
                      absl::StrJoin(counts, ",",
                                    [](std::string* out, const auto& entry) {
                                      absl::StrAppend(out, entry.first, ":",
                                                      entry.second);
                                    }),
                      "}");
}

}  // namespace

bool AuditThrottle::Admit(absl::string_view peer, absl::string_view shown_peer,
                          absl::string_view identity, absl::string_view method,
                          absl::string_view code, absl::Time now) {
  auto [it, added] = by_peer_.try_emplace(peer);
  Connection& connection = it->second;
  if (added) {
    connection.window_start = now;
    connection.shown_peer = std::string(shown_peer);
    connection.identity = std::string(identity);
  }
  if (connection.logged < lines_per_window_) {
    ++connection.logged;
    return true;
  }
  ++connection.summarised;
  ++connection.codes[std::string(code)];
  std::string name(method.substr(0, kMaxMethodText));
  if (connection.methods.size() >= kMaxMethods && !connection.methods.contains(name)) {
    name = "other";
  }
  ++connection.methods[name];
  return false;
}

std::vector<std::string> AuditThrottle::Flush(absl::Time now) {
  std::vector<std::string> lines;
  for (auto it = by_peer_.begin(); it != by_peer_.end();) {
    Connection& connection = it->second;
    if (now - connection.window_start < window_) {
      ++it;
      continue;
    }
    if (connection.summarised > 0)
      lines.push_back(Summary(connection, now - connection.window_start));
    if (connection.logged == 0 && connection.summarised == 0) {
      by_peer_.erase(it++);  // a whole window without calls
      continue;
    }
    connection.window_start = now;
    connection.logged = 0;
    connection.summarised = 0;
    connection.codes.clear();
    connection.methods.clear();
    ++it;
  }
  return lines;
}

std::string AuditThrottle::Summary(const Connection& connection, absl::Duration window) {
  return absl::StrFormat(
      "rpc flood peer=%s identity=%s window=%.1fs logged=%d summarised=%d codes=%s "
      "methods=%s",
      connection.shown_peer, connection.identity.empty() ? "-" : connection.identity,
      absl::ToDoubleSeconds(window), connection.logged, connection.summarised,
      Counts(connection.codes), Counts(connection.methods));
}

}  // namespace netprobe
