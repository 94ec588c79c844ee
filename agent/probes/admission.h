#ifndef NETPROBE_AGENT_PROBES_ADMISSION_H_
#define NETPROBE_AGENT_PROBES_ADMISSION_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/net/resolver.h"
#include "agent/net/socket_address.h"
#include "agent/probes/send_budget.h"

namespace netprobe {

// Which addresses a caller may probe: the agent's policy (agent/policy), as
// probes see it. Thread-safe.
class TargetPolicy {
 public:
  virtual ~TargetPolicy() = default;
  // OK when `address` may be probed; else PERMISSION_DENIED naming `field`
  // and the rule.
  virtual absl::Status CheckTarget(const SocketAddress& address,
                                   absl::string_view field) const = 0;
};

// What the policy grants one running request, checked by its probe on the
// loop: each target address once resolved (before any packet to it), and
// the send budgets before each packet. Default: no checks, no budgets.
struct Admission {
  // Holds the policy the request started under (a reload does not change it).
  std::shared_ptr<const TargetPolicy> policy;
  SendBudgets budgets;

  // OK when `address` may be probed; else PERMISSION_DENIED naming `field`
  // and the rule.
  absl::Status CheckTarget(const SocketAddress& address, absl::string_view field) const;
  // CheckTarget for ResolveOnLoop (holds the policy, not this Admission).
  netprobe::AddressCheck AddressCheck() const;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_ADMISSION_H_
