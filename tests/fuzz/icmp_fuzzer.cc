// libFuzzer target for the ICMP parsers. The first byte picks the parser (the
// way each socket kind delivers packets); the rest is the packet.
// Build and run: tests/fuzz/run_fuzzer.sh icmp_fuzzer SECONDS BUILD_DIR
#include <cstddef>
#include <cstdint>

#include "agent/net/icmp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::Span<const uint8_t> packet(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)netprobe::icmp::ParseIcmpV4(packet);
      break;
    case 1:
      (void)netprobe::icmp::ParseIcmpV6(packet);
      break;
    case 2:
      (void)netprobe::icmp::ParseDatagramEchoReply(false, packet);
      break;
    default:
      (void)netprobe::icmp::ParseDatagramEchoReply(true, packet);
      break;
  }
  (void)netprobe::icmp::ParsePayload(packet);
  return 0;
}
