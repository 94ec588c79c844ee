#include "agent/net/local_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace netprobe {
namespace {

constexpr absl::Duration kInterfaceCacheTtl = absl::Seconds(1);

// An address as 16 bytes: IPv4 as its IPv4-mapped IPv6 form.
struct Bytes {
  uint8_t b[16];
  bool operator==(const Bytes& o) const { return std::memcmp(b, o.b, 16) == 0; }
};

Bytes Normalize(const sockaddr* sa) {
  Bytes out{};
  if (sa->sa_family == AF_INET) {
    out.b[10] = out.b[11] = 0xff;
    std::memcpy(out.b + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else {
    std::memcpy(out.b, reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr, 16);
  }
  return out;
}

bool IsV4(const Bytes& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.b, kPrefix, 12) == 0;
}

bool LoopbackOrUnspecified(const Bytes& a) {
  if (IsV4(a)) return a.b[12] == 127 || (a.b[12] | a.b[13] | a.b[14] | a.b[15]) == 0;
  for (int i = 0; i < 15; ++i) {
    if (a.b[i] != 0) return false;
  }
  return a.b[15] <= 1;  // :: and ::1
}

class InterfaceAddresses {
 public:
  bool Contains(const Bytes& a) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - read_at_ >= kInterfaceCacheTtl) {
      Read();
      read_at_ = now;
    }
    for (const Bytes& own : addresses_) {
      if (own == a) return true;
    }
    return false;
  }

 private:
  void Read() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return;  // keep what was read before
    addresses_.clear();
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) {
        continue;
      }
      addresses_.push_back(Normalize(i->ifa_addr));
    }
    freeifaddrs(list);
  }

  absl::Mutex mu_;
  absl::Time read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::vector<Bytes> addresses_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool IsLocalAddress(const SocketAddress& address) {
  if (!address.valid()) return false;
  const Bytes bytes = Normalize(address.get());
  if (LoopbackOrUnspecified(bytes)) return true;
  static InterfaceAddresses* const kOwn = new InterfaceAddresses();
  return kOwn->Contains(bytes);
}

}  // namespace netprobe
