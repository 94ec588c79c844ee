#ifndef NETPROBE_AGENT_POLICY_CALLER_SLOTS_H_
#define NETPROBE_AGENT_POLICY_CALLER_SLOTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// What each caller runs at once (probes and WatchResults streams), by caller
// key, against limits.concurrent_probes_per_client, and all callers together
// against limits.concurrent_probes_total (Policy::LimitsFor fills both in). A slot is an
// opaque handle whose destruction frees its place; it holds the table, so it may outlive
// whoever took it (a probe destroyed by the registry after the services are gone at
// shutdown). Thread-safe.
class CallerSlots : public std::enable_shared_from_this<CallerSlots> {
 public:
  static std::shared_ptr<CallerSlots> Create() {
    return std::shared_ptr<CallerSlots>(new CallerSlots());
  }

  // A slot for `key`, or RESOURCE_EXHAUSTED naming the rule when the caller,
  // or all callers, run as many as `limits` allow.
  absl::StatusOr<std::shared_ptr<void>> Take(const std::string& key,
                                             const v1::PolicyLimits& limits) {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(key);
    const uint32_t now = it == running_.end() ? 0 : it->second;
    if (limits.has_concurrent_probes_per_client() &&
        now >= limits.concurrent_probes_per_client()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("policy.limits.concurrent_probes_per_client: ", key, " runs ", now,
                       " probes, the limit"));
    }
    if (limits.has_concurrent_probes_total() &&
        total_ >= limits.concurrent_probes_total()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("policy.limits.concurrent_probes_total: the agent runs ", total_,
                       " probes for all callers, the limit"));
    }
    ++running_[key];
    ++total_;
    return std::shared_ptr<void>(std::make_shared<Slot>(shared_from_this(), key));
  }

  // What `key` runs now.
  uint32_t running(const std::string& key) const {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(key);
    return it == running_.end() ? 0 : it->second;
  }

 private:
  class Slot {
   public:
    Slot(std::shared_ptr<CallerSlots> table, std::string key)
        : table_(std::move(table)), key_(std::move(key)) {}
    ~Slot() { table_->Release(key_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    const std::shared_ptr<CallerSlots> table_;
    const std::string key_;
  };

  CallerSlots() = default;
  void Release(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = running_.find(key);
    if (it != running_.end() && --it->second == 0) running_.erase(it);
    --total_;
  }

  mutable absl::Mutex mu_;
  std::unordered_map<std::string, uint32_t> running_ ABSL_GUARDED_BY(mu_);
  uint32_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_CALLER_SLOTS_H_
