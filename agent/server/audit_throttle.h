#ifndef NETPROBE_AGENT_SERVER_AUDIT_THROTTLE_H_
#define NETPROBE_AGENT_SERVER_AUDIT_THROTTLE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace netprobe {

// Keeps a flood of calls from flooding the audit log: per connection (gRPC's
// peer string), the first `lines_per_window` finished calls of each window
// get their own audit line; the rest are counted, and when the window ends
// one summary line per connection says how many there were, by status code
// and method:
//   rpc flood peer=ipv4:198.18.0.1:40000 identity=- window=10.0s logged=100
//   summarised=33200 codes={CANCELLED:33200} methods={/netprobe.v1.Agent/GetInfo:33200}
// Methods are the client's text (unknown ones too): at most kMaxMethods
// distinct ones are named, each cut to kMaxMethodText bytes, the rest count
// as "other". Not thread-safe.
class AuditThrottle {
 public:
  static constexpr size_t kMaxMethods = 8;
  static constexpr size_t kMaxMethodText = 96;

  AuditThrottle(uint32_t lines_per_window, absl::Duration window)
      : lines_per_window_(lines_per_window), window_(window) {}

  // True: write this call's audit line. False: it is counted for the
  // summary. `shown_peer` and `identity` are what the audit line shows.
  bool Admit(absl::string_view peer, absl::string_view shown_peer,
             absl::string_view identity, absl::string_view method, absl::string_view code,
             absl::Time now);

  // The summary lines of windows that ended by `now`, and forgets
  // connections quiet for a window.
  std::vector<std::string> Flush(absl::Time now);

 private:
  struct Connection {
    absl::Time window_start;
    std::string shown_peer;
    std::string identity;
    uint32_t logged = 0;
    uint64_t summarised = 0;
    std::map<std::string, uint64_t> codes;
    std::map<std::string, uint64_t> methods;
  };
  static std::string Summary(const Connection& connection, absl::Duration window);

  const uint32_t lines_per_window_;
  const absl::Duration window_;
  absl::flat_hash_map<std::string, Connection> by_peer_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_AUDIT_THROTTLE_H_
