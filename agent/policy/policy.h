#ifndef NETPROBE_AGENT_POLICY_POLICY_H_
#define NETPROBE_AGENT_POLICY_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "agent/net/cidr.h"
#include "agent/net/socket_address.h"
#include "agent/policy/caller.h"
#include "agent/probes/admission.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// A validated v1::Policy (see config.proto): which probes run, which target
// addresses may be probed, and the limits, per caller. Immutable; shared by
// the requests started under it. Thread-safe.
class Policy final : public TargetPolicy {
 public:
  // INVALID_ARGUMENT naming the field ("policy.deny[2]: ...") for unknown
  // probe names and bad prefixes.
  static absl::StatusOr<std::shared_ptr<const Policy>> Build(const v1::Policy& config);
  // The policy with no config: the defaults config.proto states.
  static std::shared_ptr<const Policy> Default();
  // Every probe the agent serves, by the names GetInfo and the policy use
  // (each is a ProbeRule's kName, agent/policy/probe_rule.h).
  static absl::Span<const char* const> ProbeNames();
  // Rights that are not probes but are enabled like one, by name, in
  // enabled_probes: watching the scheduled probes' results (WatchResults).
  static constexpr char kWatchResults[] = "WatchResults";
  static absl::Span<const char* const> RightNames();
  // The probes (and rights) enabled when the policy names none.
  static std::vector<std::string> DefaultEnabledProbes();

  // PERMISSION_DENIED "policy: the Capture probe is not enabled ..." unless
  // `probe` (a probe or a right) may run for `caller`.
  absl::Status CheckProbe(const Caller& caller, absl::string_view probe) const;

  // PERMISSION_DENIED naming the rule and `field` unless `address` may be
  // probed: deny prefixes first, then the allow list when there is one.
  absl::Status CheckTarget(const SocketAddress& address,
                           absl::string_view field) const override;

  // The limits for `caller`: the policy's, with an identity rule's fields
  // replacing them.
  v1::PolicyLimits LimitsFor(const Caller& caller) const;

  // The rule that applies to `caller`, or null.
  const v1::IdentityRule* RuleFor(const Caller& caller) const;

 private:
  Policy() = default;

  v1::Policy config_;
  std::vector<std::string> enabled_;
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
};

// The policy in force; replaced on SIGHUP. Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> policy)
      : policy_(std::move(policy)) {}
  std::shared_ptr<const Policy> Get() const {
    absl::MutexLock lock(&mu_);
    return policy_;
  }
  void Set(std::shared_ptr<const Policy> policy) {
    absl::MutexLock lock(&mu_);
    policy_ = std::move(policy);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_POLICY_H_
