#include "client/commands/ping_targets.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe::client {
namespace {

// IPv6 blocks are walked in their last two bytes.
static_assert(kMaxPingTargets <= 65536);

std::string V4(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof(text));
  return text;
}

absl::Status TooMany(const std::string& arg, uint64_t n) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", n, " addresses exceed the ",
                                                 kMaxPingTargets,
                                                 " targets of one request"));
}

// Appends the addresses of `arg` when it is a CIDR block; false when not.
absl::StatusOr<bool> AppendBlock(const std::string& arg, std::vector<std::string>* out) {
  const size_t slash = arg.find('/');
  if (slash == std::string::npos) return false;
  const std::string ip = arg.substr(0, slash);
  int bits = -1;
  in_addr v4{};
  in6_addr v6{};
  const bool is_v4 = inet_pton(AF_INET, ip.c_str(), &v4) == 1;
  const bool is_v6 = !is_v4 && inet_pton(AF_INET6, ip.c_str(), &v6) == 1;
  const int max_bits = is_v4 ? 32 : 128;
  if ((!is_v4 && !is_v6) || !absl::SimpleAtoi(arg.substr(slash + 1), &bits) || bits < 0 ||
      bits > max_bits) {
    return absl::InvalidArgumentError(absl::StrCat(
        arg, ": not a CIDR block (ADDRESS/BITS, e.g. 198.18.0.0/24 or 2001:db8::/120)"));
  }
  const int host_bits = max_bits - bits;
  // A block larger than one request holds is refused before any expansion.
  if (host_bits >= 64 || (1ull << host_bits) > kMaxPingTargets) {
    return TooMany(arg, host_bits >= 64 ? UINT64_MAX : 1ull << host_bits);
  }
  const uint64_t size = 1ull << host_bits;
  if (is_v4) {
    const uint32_t base =
        ntohl(v4.s_addr) & (host_bits == 32 ? 0 : ~((1u << host_bits) - 1));
    // Below /31 the first and last addresses are the network and broadcast.
    const uint64_t first = host_bits >= 2 ? 1 : 0,
                   last = host_bits >= 2 ? size - 1 : size;
    for (uint64_t i = first; i < last; ++i)
      out->push_back(V4(base + static_cast<uint32_t>(i)));
    return true;
  }
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), &v6, 16);
  // Clear the host bits (at most 12, in the last two bytes).
  const uint16_t mask = static_cast<uint16_t>(~((1u << host_bits) - 1));
  uint16_t low = static_cast<uint16_t>((bytes[14] << 8 | bytes[15]) & mask);
  for (uint64_t i = 0; i < size; ++i) {
    const uint16_t v = static_cast<uint16_t>(low + i);
    bytes[14] = static_cast<uint8_t>(v >> 8);
    bytes[15] = static_cast<uint8_t>(v);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
    out->push_back(text);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandPingTargets(
    const std::vector<std::string>& args, bool generate) {
  std::vector<std::string> out;
  if (generate && args.size() == 2) {
    in_addr start{}, end{};
    if (inet_pton(AF_INET, args[0].c_str(), &start) != 1 ||
        inet_pton(AF_INET, args[1].c_str(), &end) != 1) {
      return absl::InvalidArgumentError(
          "-g START END: both must be IPv4 addresses (or give one CIDR block)");
    }
    const uint32_t from = ntohl(start.s_addr), to = ntohl(end.s_addr);
    if (to < from) {
      return absl::InvalidArgumentError(
          absl::StrCat("-g ", args[0], " ", args[1], ": END is before START"));
    }
    const uint64_t n = uint64_t{to} - from + 1;
    if (n > kMaxPingTargets) return TooMany(absl::StrCat(args[0], "-", args[1]), n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(V4(from + static_cast<uint32_t>(i)));
    return out;
  }
  if (generate && (args.size() != 1 || args[0].find('/') == std::string::npos)) {
    return absl::InvalidArgumentError("-g: give one CIDR block, or START END");
  }
  for (const std::string& arg : args) {
    auto block = AppendBlock(arg, &out);
    if (!block.ok()) return block.status();
    if (!*block) out.push_back(arg);
  }
  if (out.size() > kMaxPingTargets) {
    return absl::InvalidArgumentError(absl::StrCat(
        "targets: ", out.size(), " targets exceed the limit of ", kMaxPingTargets));
  }
  return out;
}

}  // namespace netprobe::client
