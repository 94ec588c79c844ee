#ifndef NETPROBE_AGENT_SERVER_CALL_GUARD_H_
#define NETPROBE_AGENT_SERVER_CALL_GUARD_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/server/audit_throttle.h"
#include "agent/server/reset_budget.h"

namespace netprobe {

struct CallGuardOptions {
  // ResetBudget: resets per connection and window before it is ended.
  uint32_t max_resets_per_connection = 200;
  // AuditThrottle: audit lines per connection and window in full.
  uint32_t audit_lines_per_connection = 100;
  absl::Duration window = absl::Seconds(10);
  // Called once per connection ended, and per audit line summarised; any
  // thread.
  std::function<void()> on_connection_ended;
  std::function<void()> on_line_summarised;
  // Whether the guard runs its own thread for Tick(); false: the owner calls
  // Tick() every kTickInterval (netprobe-agent's main thread does, between
  // signals, so that an idle agent has one thread fewer).
  bool own_thread = true;
};

// What every finished call passes through, whatever its service: the
// rapid-reset budget (an abusive connection is shut down: gRPC 1.51 cannot
// send one connection a GOAWAY on request, so its client sees the
// connection close), the audit throttle, and, while resets come, giving
// freed memory back to the kernel (malloc_trim: gRPC frees a flood's calls
// in glibc arenas that would otherwise keep hundreds of MB). Each second,
// Tick() writes flood summaries and trims: on a thread of its own
// ("np-guard"), or on the owner's (CallGuardOptions::own_thread).
// Thread-safe, but for Tick() (see there).
class CallGuard {
 public:
  explicit CallGuard(CallGuardOptions options);
  static constexpr absl::Duration kTickInterval = absl::Seconds(1);

  ~CallGuard();  // stops the thread, writing the summaries due (Tick())
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  // The ports of the agent's TCP listeners: a connection is looked up by
  // its peer among sockets on these.
  void SetTcpPorts(std::vector<uint16_t> ports);

  // A finished call on connection `peer` (gRPC's peer string); `reset`: the
  // client cancelled it before the agent answered. `shown_peer`, `identity`,
  // `method`, `code` are its audit line's. Returns whether to write that line
  // (false: summarised).
  bool OnCallFinished(absl::string_view peer, absl::string_view shown_peer,
                      absl::string_view identity, absl::string_view method,
                      absl::string_view code, bool reset);

  // A new connection is named `peer` (the agent accepted a unix connection
  // whose descriptor number an ended one had): its reset budget starts whole.
  void OnNewConnection(absl::string_view peer);

  // Writes the flood summaries due, forgets old connections, trims while
  // resets come. Without own_thread, the owner calls it every kTickInterval,
  // always from the same thread. REQUIRES: not own_thread.
  void Tick();

 private:
  // Shuts the connection down; logs what was done.
  void EndConnection(const std::string& peer, const std::string& shown_peer,
                     const std::string& identity);

  const CallGuardOptions options_;
  absl::Mutex mu_;
  ResetBudget resets_ ABSL_GUARDED_BY(mu_);
  AuditThrottle audit_ ABSL_GUARDED_BY(mu_);
  std::vector<uint16_t> tcp_ports_ ABSL_GUARDED_BY(mu_);
  uint64_t resets_since_tick_ ABSL_GUARDED_BY(mu_) = 0;
  int trim_ticks_left_ = 0;  // Tick()'s
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_CALL_GUARD_H_
