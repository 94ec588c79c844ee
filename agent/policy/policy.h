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
#include "agent/policy/identity_pattern.h"
#include "agent/policy/privileged_option.h"
#include "agent/probes/admission.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// A validated v1::Policy (see config.proto): which probes run, which target
// addresses may be probed, and the limits, per caller. Immutable; shared by
// the requests started under it. Thread-safe.
class Policy final : public TargetPolicy {
 public:
  // INVALID_ARGUMENT naming the field ("policy.deny[2]: ...") for unknown
  // probe or grant names, bad prefixes, identities that are not one
  // (ParseIdentityPattern: unknown users and groups, ids out of range) and
  // rules that overlap (CheckNoOverlap). Looks names up in the user
  // database: call it off the event loop.
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
  // replacing them, and the concurrency limits' defaults where neither sets
  // them.
  v1::PolicyLimits LimitsFor(const Caller& caller) const;
  static constexpr uint32_t kDefaultConcurrentProbesPerClient = 64;
  static constexpr uint32_t kDefaultConcurrentProbesTotal = 1024;

  // The rule that applies to `caller`, or null.
  const v1::IdentityRule* RuleFor(const Caller& caller) const;

  // Whether `caller` holds the grant for `option`: its rule's grants when
  // the rule names any; else every grant for root on the unix socket and
  // none for anyone else. Requests of the config: see Caller::Origin.
  bool Granted(const Caller& caller, PrivilegedOption option) const;
  // PERMISSION_DENIED naming the first of `used` that `caller` holds no
  // grant for (and `probe`, the rule, how to grant it); else OK.
  // kLocalTargets in `used` (a multicast send looped back to the host)
  // needs no grant from a unix caller; unicast targets are checked once
  // resolved (TargetPolicyFor).
  absl::Status CheckGrants(const Caller& caller, absl::string_view probe,
                           absl::Span<const PrivilegedOption> used) const;

 private:
  Policy() = default;
  // The index of the rule that applies to `caller`, or -1.
  int RuleIndex(const Caller& caller) const;

  v1::Policy config_;
  std::vector<std::string> enabled_;
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
  std::vector<IdentityPattern> patterns_;  // one per config_.identities()
  // Per rule: a bit per PrivilegedOption; nullopt when the rule names none.
  std::vector<std::optional<uint32_t>> grants_;
};

// The target policy of one request of `caller` under `policy`: the
// policy's, and for a caller on TCP without the grant local_targets, no
// target on the agent's host (IsLocalAddress): a remote caller must not use
// the agent to reach services that listen on loopback or on the agent's
// addresses only. Unix-socket callers are on the host already.
std::shared_ptr<const TargetPolicy> TargetPolicyFor(std::shared_ptr<const Policy> policy,
                                                    const Caller& caller);

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
