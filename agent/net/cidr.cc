#include "agent/net/cidr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

// Whether the first `bits` bits of a and b are equal.
bool PrefixEqual(const uint8_t* a, const uint8_t* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text, absl::string_view field) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  Cidr out;
  if (inet_pton(AF_INET, address.c_str(), out.bytes_) == 1) {
    out.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), out.bytes_) == 1) {
    out.family_ = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", text,
                     "' is not an address or CIDR prefix (e.g. 198.18.0.0/15, "
                     "2001:2::/64, 198.18.0.10)"));
  }
  const int max = out.family_ == AF_INET ? 32 : 128;
  out.prefix_length_ = max;
  if (slash != absl::string_view::npos) {
    int length = -1;
    if (!absl::SimpleAtoi(text.substr(slash + 1), &length) || length < 0 ||
        length > max) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": prefix length in '", text, "' must be from 0 to ", max));
    }
    out.prefix_length_ = length;
  }
  Cidr network = out;
  const int len = out.family_ == AF_INET ? 4 : 16;
  for (int bit = out.prefix_length_; bit < len * 8; ++bit) {
    network.bytes_[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (std::memcmp(network.bytes_, out.bytes_, len) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": '", text, "' has host bits set; the network is ", network.ToString()));
  }
  return out;
}

bool Cidr::Contains(int family, const uint8_t* address) const {
  if (family == family_) return PrefixEqual(address, bytes_, prefix_length_);
  if (family == AF_INET6 && family_ == AF_INET &&
      std::memcmp(address, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    return PrefixEqual(address + 12, bytes_, prefix_length_);
  }
  return false;
}

std::string Cidr::ToString() const {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(family_, bytes_, text, sizeof(text));
  return absl::StrCat(text, "/", prefix_length_);
}

}  // namespace netprobe
