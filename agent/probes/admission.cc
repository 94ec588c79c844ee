#include "agent/probes/admission.h"

namespace netprobe {

absl::Status Admission::CheckTarget(const SocketAddress& address,
                                    absl::string_view field) const {
  return policy == nullptr ? absl::OkStatus() : policy->CheckTarget(address, field);
}

netprobe::AddressCheck Admission::AddressCheck() const {
  if (policy == nullptr) return nullptr;
  return [policy = policy](const SocketAddress& address, absl::string_view field) {
    return policy->CheckTarget(address, field);
  };
}

}  // namespace netprobe
