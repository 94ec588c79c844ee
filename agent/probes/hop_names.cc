#include "agent/probes/hop_names.h"

namespace netprobe {

std::optional<std::string> HopNames::Find(const std::string& ip,
                                          std::function<void()> ready) {
  auto [it, inserted] = entries_.try_emplace(ip);
  Entry& entry = it->second;
  if (entry.done) return entry.name;
  entry.waiting.push_back(std::move(ready));
  if (inserted) {
    ReverseOnLoop(work_, loop_, alive_, ip, [this, ip](std::string name) {
      Entry& e = entries_[ip];
      e.done = true;
      e.name = std::move(name);
      std::vector<std::function<void()>> waiting = std::move(e.waiting);
      for (auto& run : waiting) run();
    });
  }
  return std::nullopt;
}

std::string HopNames::Known(const std::string& ip) const {
  auto it = entries_.find(ip);
  return it != entries_.end() && it->second.done ? it->second.name : "";
}

}  // namespace netprobe
