#ifndef NETPROBE_AGENT_PROBES_SEND_BUDGET_H_
#define NETPROBE_AGENT_PROBES_SEND_BUDGET_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "agent/net/rate_limiter.h"

namespace netprobe {

// A caller's (or the agent's total) packets-per-second budget, shared by the
// probes it limits: a RateLimiter, so a late wake-up keeps its credit (up to
// RateLimiter::kCatchUp) and the rate granted is the rate delivered.
// Not thread-safe: loop thread only.
class SendBudget {
 public:
  explicit SendBudget(uint32_t rate) : limiter_(std::max<uint32_t>(rate, 1)) {}

  // The earliest monotonic time one more packet may go (<= now: now).
  absl::Duration NextSend(absl::Duration now) const { return limiter_.NextSend(now); }
  // When to wake to send a burst, once NextSend(now) > now.
  absl::Duration WakeAt(absl::Duration now) const { return limiter_.WakeAt(now); }
  // One packet sent at `now` (REQUIRES: NextSend(now) <= now).
  void Consume(absl::Duration now) { limiter_.Consume(now); }

 private:
  RateLimiter limiter_;
};

// The budgets a request's sends draw on (its caller's and the agent's
// total); empty when the policy sets no rate. Copyable; loop thread only.
class SendBudgets {
 public:
  void Add(std::shared_ptr<SendBudget> budget) { budgets_.push_back(std::move(budget)); }
  bool empty() const { return budgets_.empty(); }
  absl::Duration NextSend(absl::Duration now) const {
    absl::Duration at = now;
    for (const auto& b : budgets_) at = std::max(at, b->NextSend(now));
    return at;
  }
  absl::Duration WakeAt(absl::Duration now) const {
    absl::Duration at = now;
    for (const auto& b : budgets_) at = std::max(at, b->WakeAt(now));
    return at;
  }
  void Consume(absl::Duration now) const {
    for (const auto& b : budgets_) b->Consume(now);
  }

 private:
  std::vector<std::shared_ptr<SendBudget>> budgets_;
};

// The shared buckets, by caller key: a caller's running probes share one.
// A bucket lives while a probe holds it; a new rate makes a new bucket.
// Not thread-safe: the caller serializes (ProbesService holds a mutex).
class SendBudgetRegistry {
 public:
  std::shared_ptr<SendBudget> ForClient(const std::string& key, uint32_t rate) {
    return Find(&clients_, key, rate);
  }
  std::shared_ptr<SendBudget> Total(uint32_t rate) { return Find(&total_, "", rate); }

 private:
  struct Entry {
    uint32_t rate = 0;
    std::weak_ptr<SendBudget> budget;
  };
  using Map = std::unordered_map<std::string, Entry>;
  static std::shared_ptr<SendBudget> Find(Map* map, const std::string& key,
                                          uint32_t rate) {
    if (map->size() > 1024) {  // drop buckets no probe holds any more
      for (auto it = map->begin(); it != map->end();) {
        it = it->second.budget.expired() ? map->erase(it) : std::next(it);
      }
    }
    Entry& entry = (*map)[key];
    std::shared_ptr<SendBudget> budget = entry.budget.lock();
    if (budget == nullptr || entry.rate != rate) {
      budget = std::make_shared<SendBudget>(rate);
      entry = Entry{rate, budget};
    }
    return budget;
  }
  Map clients_;
  Map total_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SEND_BUDGET_H_
