#include "agent/net/capabilities.h"

#include <sys/capability.h>

namespace netprobe {
namespace {

bool HasEffective(cap_t caps, cap_value_t cap) {
  cap_flag_value_t value = CAP_CLEAR;
  return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

}  // namespace

std::vector<std::string> EffectiveNetCapabilities() {
  static constexpr std::pair<cap_value_t, const char*> kWanted[] = {
      {CAP_NET_RAW, "CAP_NET_RAW"},
      {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
      {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
  };
  std::vector<std::string> out;
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return out;
  for (const auto& [cap, name] : kWanted) {
    if (HasEffective(caps, cap)) out.emplace_back(name);
  }
  cap_free(caps);
  return out;
}

bool HasNetRaw() {
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return false;
  const bool has = HasEffective(caps, CAP_NET_RAW);
  cap_free(caps);
  return has;
}

}  // namespace netprobe
