// libFuzzer target for the packet decoder behind `netprobe capture`. The
// first byte picks the link type, the next two how many bytes the wire had
// beyond those captured (a snap length cut); the rest is the packet.
// Build and run: tests/fuzz/run_fuzzer.sh packet_text_fuzzer SECONDS BUILD_DIR
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>

#include "client/output/packet_text.h"

namespace {

constexpr uint32_t kLinkTypes[] = {
    netprobe::client::kDltNull,     netprobe::client::kDltEthernet,
    netprobe::client::kDltRaw,      netprobe::client::kDltRawOpenBsd,
    netprobe::client::kLinktypeRaw, netprobe::client::kDltLoop,
    netprobe::client::kDltLinuxSll, netprobe::client::kDltIpv4,
    netprobe::client::kDltIpv6,     netprobe::client::kDltLinuxSll2,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint32_t link_type = kLinkTypes[data[0] % std::size(kLinkTypes)];
  const uint32_t beyond = static_cast<uint32_t>(data[1]) << 8 | data[2];
  const absl::Span<const uint8_t> packet(data + 3, size - 3);
  const uint32_t original = static_cast<uint32_t>(packet.size()) + beyond;
  static const netprobe::client::InterfaceNames names = {{1, "lo"}, {2, "eth0"}};
  const std::string text =
      netprobe::client::DescribePacket(link_type, original, packet, &names);
  // One packet, one line: nothing the packet holds may break it.
  if (text.find('\n') != std::string::npos) std::abort();
  // Twice through one conversation table: relative sequence numbers too.
  netprobe::client::TcpSequenceNumbers sequences;
  for (int i = 0; i < 2; ++i) {
    const std::string relative =
        netprobe::client::DescribePacket(link_type, original, packet, &names, &sequences);
    if (relative.find('\n') != std::string::npos) std::abort();
  }
  const std::string line =
      netprobe::client::FormatPacketLine(link_type, absl::FromUnixSeconds(1700000000),
                                         original, packet, absl::UTCTimeZone());
  if (line.find('\n') != line.size() - 1) std::abort();
  return 0;
}
