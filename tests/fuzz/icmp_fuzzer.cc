// libFuzzer target for the ICMP parsers. The first byte picks the parser (the
// way each socket kind delivers packets); the rest is the packet.
// Build and run: tests/fuzz/run_fuzzer.sh icmp_fuzzer SECONDS BUILD_DIR
#include <cstddef>
#include <cstdint>

#include "agent/net/icmp.h"
#include "agent/net/icmp_error.h"

namespace {

// Reads every byte the helpers hand out, so ASan sees a span past the quote.
uint32_t Touch(absl::Span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (uint8_t b : bytes) sum += b;
  return sum;
}

void ParseError(const absl::StatusOr<std::optional<netprobe::icmp::IcmpError>>& parsed) {
  if (!parsed.ok() || !parsed->has_value()) return;
  const netprobe::icmp::Quote& quote = (*parsed)->quote;
  volatile uint32_t sink = Touch(quote.transport);
  if (const auto udp = netprobe::icmp::QuotedUdpOf(quote))
    sink = sink + Touch(udp->payload);
  if (const auto echo = netprobe::icmp::QuotedEchoOf(quote)) {
    sink = sink + Touch(echo->payload);
  }
  if (const auto tcp = netprobe::icmp::QuotedTcpOf(quote)) sink = sink + tcp->sequence;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::Span<const uint8_t> packet(data + 1, size - 1);
  // Selectors 0-3 keep their meaning from before the error parsers (% 4).
  switch (data[0] % 8) {
    case 0:
      (void)netprobe::icmp::ParseIcmpV4(packet);
      break;
    case 1:
      (void)netprobe::icmp::ParseIcmpV6(packet);
      break;
    case 2:
      (void)netprobe::icmp::ParseDatagramEchoReply(false, packet);
      break;
    case 3:
      (void)netprobe::icmp::ParseDatagramEchoReply(true, packet);
      break;
    case 4:
      ParseError(netprobe::icmp::ParseIcmpErrorV4(packet));
      break;
    case 5:
      ParseError(netprobe::icmp::ParseIcmpErrorV6(packet));
      break;
    case 6:
      (void)netprobe::icmp::ParseIcmpExtensions(packet);
      break;
    default:
      // An error queue entry: the first byte is the kernel's RFC 4884 offset.
      if (!packet.empty()) {
        (void)netprobe::icmp::ErrorQueueExtensions(packet.subspan(1), packet[0],
                                                   data[0] & 0x80 ? 48 : 28);
      }
      break;
  }
  (void)netprobe::icmp::ParsePayload(packet);
  return 0;
}
