#ifndef NETPROBE_AGENT_NET_CIDR_H_
#define NETPROBE_AGENT_NET_CIDR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe {

// An IPv4 or IPv6 prefix: "198.18.0.0/15", "2001:2::/64", or a bare address
// (a /32 or /128). Value type.
class Cidr {
 public:
  // INVALID_ARGUMENT naming `field` for anything else: names, a prefix
  // length beyond the family's, host bits set ("198.18.0.1/24" is taken as
  // written would be ambiguous; the error shows the network to write).
  static absl::StatusOr<Cidr> Parse(absl::string_view text, absl::string_view field);

  int family() const { return family_; }
  int prefix_length() const { return prefix_length_; }

  // Whether the address of `family` (4 or 16 bytes at `address`) is inside.
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d), as dual-stack sockets
  // report IPv4 peers, is matched as the IPv4 address it carries.
  bool Contains(int family, const uint8_t* address) const;

  // "198.18.0.0/15", "2001:2::/64".
  std::string ToString() const;

 private:
  int family_ = 0;
  int prefix_length_ = 0;
  uint8_t bytes_[16] = {};
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_CIDR_H_
