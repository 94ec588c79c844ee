#include "agent/net/udp_echo_payload.h"

#include <algorithm>

namespace netprobe::udp_echo {
namespace {

uint8_t PatternByte(size_t offset) { return static_cast<uint8_t>(offset * 7 + 0x5a); }

void Put(uint8_t* at, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, value >>= 8) at[i] = static_cast<uint8_t>(value);
}

uint64_t Get(const uint8_t* at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = value << 8 | at[i];
  return value;
}

}  // namespace

std::vector<uint8_t> Build(const Header& header, size_t size) {
  std::vector<uint8_t> out(std::max(size, kHeaderSize));
  Put(&out[0], kMagic, 4);
  Put(&out[4], header.token, 4);
  Put(&out[8], header.sequence, 4);
  Put(&out[16], static_cast<uint64_t>(absl::ToUnixNanos(header.sent)), 8);
  for (size_t i = kHeaderSize; i < out.size(); ++i) out[i] = PatternByte(i);
  return out;
}

std::optional<Parsed> Parse(absl::Span<const uint8_t> datagram) {
  if (datagram.size() < kHeaderSize || Get(&datagram[0], 4) != kMagic) {
    return std::nullopt;
  }
  Parsed out;
  out.header.token = static_cast<uint32_t>(Get(&datagram[4], 4));
  out.header.sequence = static_cast<uint32_t>(Get(&datagram[8], 4));
  out.header.sent = absl::FromUnixNanos(static_cast<int64_t>(Get(&datagram[16], 8)));
  out.intact = Get(&datagram[12], 4) == 0;
  for (size_t i = kHeaderSize; i < datagram.size() && out.intact; ++i) {
    out.intact = datagram[i] == PatternByte(i);
  }
  return out;
}

}  // namespace netprobe::udp_echo
