#ifndef NETPROBE_CLIENT_OUTPUT_CAPTURE_FILE_BYTES_H_
#define NETPROBE_CLIENT_OUTPUT_CAPTURE_FILE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

// What the pcap and pcapng writers both build their blocks from.
namespace netprobe::client::capture_file_bytes {

// The snapshot length a file records when the agent reported none.
inline constexpr uint32_t kDefaultSnaplen = 262144;
// Far above any snap length; keeps every record and block length in 32 bits.
inline constexpr size_t kMaxPacketBytes = size_t{1} << 30;

// Appends `value` in host byte order (the magic number / byte order mark
// tells readers which).
template <typename T>
void Put(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof(value));
  std::memcpy(out.data() + at, &value, sizeof(value));
}

// pcapng pads data and options to 32 bits.
inline void PadTo32Bits(std::vector<uint8_t>& out) {
  out.resize((out.size() + 3) & ~size_t{3});
}

}  // namespace netprobe::client::capture_file_bytes

#endif  // NETPROBE_CLIENT_OUTPUT_CAPTURE_FILE_BYTES_H_
