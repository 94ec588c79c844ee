#include "agent/policy/policy.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/local_addresses.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

constexpr const char* kProbes[] = {"Ping",      "TcpConnect", "UdpEcho",
                                   "Broadcast", "Multicast",  "Capture",
                                   "Sockets",   "Traceroute", "Throughput"};
constexpr const char* kRights[] = {Policy::kWatchResults};
// Capture, Broadcast and Throughput, a traffic tap, a reflector and a link
// load: off unless a policy enables them. Watching the agent's own scheduled results is
// on.
constexpr const char* kDefaultEnabled[] = {
    "Ping",       "TcpConnect",         "UdpEcho", "Multicast", "Sockets",
    "Traceroute", Policy::kWatchResults};

bool IsProbeOrRight(absl::string_view name) {
  return std::find(std::begin(kProbes), std::end(kProbes), name) != std::end(kProbes) ||
         std::find(std::begin(kRights), std::end(kRights), name) != std::end(kRights);
}

// "the Ping probe", or a right by its name ("WatchResults").
std::string Describe(absl::string_view name) {
  if (std::find(std::begin(kRights), std::end(kRights), name) != std::end(kRights)) {
    return std::string(name);
  }
  return absl::StrCat("the ", name, " probe");
}
// Cloud instance metadata: a probe agent is never a way to reach it.
constexpr const char* kDefaultDeny[] = {"169.254.169.254/32", "fd00:ec2::254/128"};

absl::Status CheckProbeNames(const google::protobuf::RepeatedPtrField<std::string>& names,
                             absl::string_view field) {
  for (int i = 0; i < names.size(); ++i) {
    if (!IsProbeOrRight(names[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: '", names[i], "' is not a probe (",
                       absl::StrJoin(kProbes, ", "), ") or right (",
                       absl::StrJoin(kRights, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Cidr>> ParsePrefixes(
    const google::protobuf::RepeatedPtrField<std::string>& texts,
    absl::string_view field) {
  std::vector<Cidr> out;
  for (int i = 0; i < texts.size(); ++i) {
    absl::StatusOr<Cidr> cidr = Cidr::Parse(texts[i], absl::StrCat(field, "[", i, "]"));
    if (!cidr.ok()) return cidr.status();
    out.push_back(*cidr);
  }
  return out;
}

// The address bytes of `address` (4 or 16).
const uint8_t* AddressBytes(const SocketAddress& address) {
  if (address.family() == AF_INET6) {
    return reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr.s6_addr;
  }
  return reinterpret_cast<const uint8_t*>(
      &reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr);
}

uint32_t Bit(PrivilegedOption option) { return 1u << static_cast<int>(option); }

constexpr uint32_t AllGrants() {
  uint32_t all = 0;
  for (PrivilegedOption option : kAllPrivilegedOptions) {
    all |= 1u << static_cast<int>(option);
  }
  return all;
}

// "mark", "interface", ...: the names a rule's grants take.
std::string GrantNames() {
  std::vector<std::string> names;
  for (PrivilegedOption option : kAllPrivilegedOptions) {
    names.emplace_back(GrantName(option));
  }
  return absl::StrJoin(names, ", ");
}

// A rule's grants as bits; nullopt when it names none.
absl::StatusOr<std::optional<uint32_t>> ParseGrants(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    absl::string_view field) {
  if (names.empty()) return std::nullopt;
  uint32_t bits = 0;
  for (int i = 0; i < names.size(); ++i) {
    if (names[i] == "*") {
      bits |= AllGrants();
    } else if (names[i] == "none") {
      if (names.size() > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, "[", i, "]: 'none' contradicts the other grants given with it"));
      }
    } else if (std::optional<PrivilegedOption> option = GrantByName(names[i])) {
      bits |= Bit(*option);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: '", names[i],
                                                     "' is not a grant (", GrantNames(),
                                                     ", or * for all, none for none)"));
    }
  }
  return bits;
}

// Local targets from a TCP caller without the grant.
class NoLocalTargets final : public TargetPolicy {
 public:
  NoLocalTargets(std::shared_ptr<const Policy> policy, std::string caller)
      : policy_(std::move(policy)), caller_(std::move(caller)) {}

  absl::Status CheckTarget(const SocketAddress& address,
                           absl::string_view field) const override {
    if (IsLocalAddress(address)) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": ", address.ip(),
          " is on the agent's host (loopback, unspecified or one of its addresses); a "
          "caller over TCP needs the grant local_targets to probe it, which ",
          caller_, " does not have (policy.identities[].grants)"));
    }
    return policy_->CheckTarget(address, field);
  }

 private:
  std::shared_ptr<const Policy> policy_;
  std::string caller_;
};

// How the audit log and errors name a caller.
std::string CallerName(const Caller& caller) {
  if (!caller.identity.empty()) return caller.identity;
  return absl::StrCat("anonymous caller ", caller.peer.empty() ? "?" : caller.peer);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Build(const v1::Policy& config) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->config_ = config;
  if (absl::Status st = CheckProbeNames(config.enabled_probes(), "policy.enabled_probes");
      !st.ok()) {
    return st;
  }
  if (config.enabled_probes().empty()) {
    policy->enabled_.assign(std::begin(kDefaultEnabled), std::end(kDefaultEnabled));
  } else {
    policy->enabled_.assign(config.enabled_probes().begin(),
                            config.enabled_probes().end());
  }
  absl::StatusOr<std::vector<Cidr>> allow = ParsePrefixes(config.allow(), "policy.allow");
  if (!allow.ok()) return allow.status();
  policy->allow_ = *std::move(allow);
  if (config.deny_nothing() && !config.deny().empty()) {
    return absl::InvalidArgumentError(
        "policy.deny_nothing: contradicts the deny list given with it");
  }
  google::protobuf::RepeatedPtrField<std::string> deny_texts = config.deny();
  if (deny_texts.empty() && !config.deny_nothing()) {
    for (const char* d : kDefaultDeny) *deny_texts.Add() = d;
  }
  absl::StatusOr<std::vector<Cidr>> deny = ParsePrefixes(deny_texts, "policy.deny");
  if (!deny.ok()) return deny.status();
  policy->deny_ = *std::move(deny);
  for (int i = 0; i < config.identities_size(); ++i) {
    const v1::IdentityRule& rule = config.identities(i);
    const std::string field = absl::StrCat("policy.identities[", i, "]");
    if (rule.identity().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ".identity: empty (\"x509:NAME\", \"token:NAME\", \"unix:uid=N\", "
                       "\"unix:user=NAME\", \"unix:group=NAME\", \"unix:*\" or \"*\")"));
    }
    NETPROBE_ASSIGN_OR_RETURN(
        IdentityPattern pattern,
        ParseIdentityPattern(rule.identity(), absl::StrCat(field, ".identity")));
    for (int j = 0; j < i; ++j) {
      NETPROBE_RETURN_IF_ERROR(CheckNoOverlap(policy->patterns_[j],
                                              absl::StrCat("policy.identities[", j, "]"),
                                              pattern, field));
    }
    policy->patterns_.push_back(std::move(pattern));
    if (absl::Status st = CheckProbeNames(rule.enabled_probes(),
                                          absl::StrCat(field, ".enabled_probes"));
        !st.ok()) {
      return st;
    }
    NETPROBE_ASSIGN_OR_RETURN(std::optional<uint32_t> grants,
                              ParseGrants(rule.grants(), absl::StrCat(field, ".grants")));
    policy->grants_.push_back(grants);
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

absl::Span<const char* const> Policy::ProbeNames() { return kProbes; }

absl::Span<const char* const> Policy::RightNames() { return kRights; }

std::vector<std::string> Policy::DefaultEnabledProbes() {
  return {std::begin(kDefaultEnabled), std::end(kDefaultEnabled)};
}

std::shared_ptr<const Policy> Policy::Default() {
  static const std::shared_ptr<const Policy> kDefault = *Build(v1::Policy());
  return kDefault;
}

int Policy::RuleIndex(const Caller& caller) const {
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].Matches(caller)) return static_cast<int>(i);
  }
  return -1;
}

const v1::IdentityRule* Policy::RuleFor(const Caller& caller) const {
  const int index = RuleIndex(caller);
  return index < 0 ? nullptr : &config_.identities(index);
}

bool Policy::Granted(const Caller& caller, PrivilegedOption option) const {
  if (caller.origin == Caller::Origin::kSchedule) return true;
  if (caller.origin == Caller::Origin::kProbeEndpoint) {
    return option != PrivilegedOption::kLocalTargets;
  }
  const int index = RuleIndex(caller);
  if (index >= 0 && grants_[index].has_value())
    return (*grants_[index] & Bit(option)) != 0;
  return caller.unix_peer.has_value() && caller.unix_peer->uid == 0;
}

absl::Status Policy::CheckGrants(const Caller& caller, absl::string_view probe,
                                 absl::Span<const PrivilegedOption> used) const {
  for (PrivilegedOption option : used) {
    // Unix callers are on the host already; a TCP caller's unicast targets
    // are checked once resolved (TargetPolicyFor).
    if ((option == PrivilegedOption::kLocalTargets && caller.unix_peer.has_value()) ||
        Granted(caller, option)) {
      continue;
    }
    const int index = RuleIndex(caller);
    const std::string rule =
        index >= 0 && grants_[index].has_value()
            ? absl::StrCat("its rule policy.identities[", index, "] ('",
                           patterns_[index].text, "') grants ",
                           absl::StrJoin(config_.identities(index).grants(), ", "))
            : std::string(
                  "by default only root on the unix socket holds grants; a "
                  "policy.identities rule's grants give them to others");
    return absl::PermissionDeniedError(
        absl::StrCat("policy: ", probe, " with ", PrivilegedOptionName(option),
                     " needs the grant '", GrantName(option), "', which ",
                     CallerName(caller), " does not hold (", rule, ")"));
  }
  return absl::OkStatus();
}

std::shared_ptr<const TargetPolicy> TargetPolicyFor(std::shared_ptr<const Policy> policy,
                                                    const Caller& caller) {
  if (caller.unix_peer.has_value() ||
      policy->Granted(caller, PrivilegedOption::kLocalTargets)) {
    // (A scheduled probe holds every grant.)
    return policy;
  }
  return std::make_shared<NoLocalTargets>(std::move(policy), CallerName(caller));
}

absl::Status Policy::CheckProbe(const Caller& caller, absl::string_view probe) const {
  const v1::IdentityRule* rule = RuleFor(caller);
  if (rule != nullptr && !rule->enabled_probes().empty()) {
    for (const std::string& p : rule->enabled_probes()) {
      if (p == probe) return absl::OkStatus();
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "policy: ", Describe(probe), " is not enabled for ", caller.identity,
        " (its rule enables ", absl::StrJoin(rule->enabled_probes(), ", "), ")"));
  }
  if (std::find(enabled_.begin(), enabled_.end(), probe) != enabled_.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "policy: ", Describe(probe), " is not enabled on this agent (enabled: ",
      absl::StrJoin(enabled_, ", "), "; policy.enabled_probes or --enable-probe)"));
}

absl::Status Policy::CheckTarget(const SocketAddress& address,
                                 absl::string_view field) const {
  const uint8_t* bytes = AddressBytes(address);
  for (const Cidr& d : deny_) {
    if (d.Contains(address.family(), bytes)) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": ", address.ip(), " is denied by policy.deny ", d.ToString()));
    }
  }
  if (allow_.empty()) return absl::OkStatus();
  for (const Cidr& a : allow_) {
    if (a.Contains(address.family(), bytes)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": ", address.ip(), " is outside policy.allow (",
                   absl::StrJoin(config_.allow(), ", "), ")"));
}

v1::PolicyLimits Policy::LimitsFor(const Caller& caller) const {
  v1::PolicyLimits limits = config_.limits();
  if (const v1::IdentityRule* rule = RuleFor(caller); rule && rule->has_limits()) {
    // Fields the rule sets replace the policy's; repeated ones too.
    if (!rule->limits().capture_interfaces().empty()) limits.clear_capture_interfaces();
    limits.MergeFrom(rule->limits());
    // MergeFrom merges a Duration field by field; a rule's duration replaces.
    const v1::PolicyLimits& r = rule->limits();
    if (r.has_max_duration()) *limits.mutable_max_duration() = r.max_duration();
    if (r.has_min_interval()) *limits.mutable_min_interval() = r.min_interval();
    if (r.has_capture_max_duration()) {
      *limits.mutable_capture_max_duration() = r.capture_max_duration();
    }
  }
  // Limits on by default (issue 17): what a caller, and all callers, may
  // hold open.
  if (!limits.has_concurrent_probes_per_client()) {
    limits.set_concurrent_probes_per_client(kDefaultConcurrentProbesPerClient);
  }
  if (!limits.has_concurrent_probes_total()) {
    limits.set_concurrent_probes_total(kDefaultConcurrentProbesTotal);
  }
  return limits;
}

}  // namespace netprobe
