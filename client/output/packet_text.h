#ifndef NETPROBE_CLIENT_OUTPUT_PACKET_TEXT_H_
#define NETPROBE_CLIENT_OUTPUT_PACKET_TEXT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "absl/types/span.h"

// Captured packets as `tcpdump -n` prints them, decoded here from the bytes.
// The decoder trusts nothing: every field is read only after checking that the
// captured bytes hold it, and lengths claimed by headers are checked against
// what was on the wire. Truncated packets end with tcpdump's "[|proto]" mark.
// Needs only Abseil (the fuzzer links it alone).

namespace netprobe::client {

// Link-layer types (DLT_* as libpcap reports them on Linux) the decoder knows.
inline constexpr uint32_t kDltNull = 0;
inline constexpr uint32_t kDltEthernet = 1;
inline constexpr uint32_t kDltRaw = 12;
inline constexpr uint32_t kDltRawOpenBsd = 14;
inline constexpr uint32_t kLinktypeRaw = 101;
inline constexpr uint32_t kDltLoop = 108;
inline constexpr uint32_t kDltLinuxSll = 113;
inline constexpr uint32_t kDltIpv4 = 228;
inline constexpr uint32_t kDltIpv6 = 229;
inline constexpr uint32_t kDltLinuxSll2 = 276;

// The agent's interface names by index. DLT_LINUX_SLL2 packets (captures on
// "any") carry an interface index, printed as its name when listed here and
// as "ifindex N" otherwise.
using InterfaceNames = std::map<uint32_t, std::string>;

// tcpdump's relative TCP sequence numbers (what -S turns off): per
// conversation, the first packet with ACK set (a SYN-ACK, or the first one
// seen mid-stream) is printed as it is and sets the bases; later packets'
// seq and ack are printed relative to them, either direction ("seq 1:101,
// ack 1"). At most kMaxConversations are remembered; beyond, the table is
// cleared and conversations start anew, as if first seen.
class TcpSequenceNumbers {
 public:
  static constexpr size_t kMaxConversations = 65536;
  // Rewrites `seq` and `ack` of a packet from src.sport to dst.dport.
  void Relativize(const std::string& src, uint32_t sport, const std::string& dst,
                  uint32_t dport, bool syn, bool ack_set, uint32_t* seq, uint32_t* ack);

 private:
  struct Bases {
    uint32_t seq = 0;  // of the direction stored (the key's first endpoint)
    uint32_t ack = 0;  // of the other direction
  };
  std::map<std::string, Bases> conversations_;
};

// The text after tcpdump's timestamp, without a newline:
//   "IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 12"
// `original_length` is the packet's length on the wire; `data` what was
// captured of it (fewer bytes when the snap length cut it).
// `sequences`, when given, makes TCP sequence numbers relative (tcpdump's
// default); without it they are absolute (tcpdump -S).
std::string DescribePacket(uint32_t link_type, uint32_t original_length,
                           absl::Span<const uint8_t> data,
                           const InterfaceNames* names = nullptr,
                           TcpSequenceNumbers* sequences = nullptr);

// One line, newline included, with the time in `zone` to the microsecond
// (tcpdump's default):
//   "12:34:56.789012 IP 198.18.0.10.40000 > 198.18.0.11.5000: UDP, length 12\n"
std::string FormatPacketLine(uint32_t link_type, absl::Time time,
                             uint32_t original_length, absl::Span<const uint8_t> data,
                             absl::TimeZone zone, const InterfaceNames* names = nullptr,
                             TcpSequenceNumbers* sequences = nullptr);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_OUTPUT_PACKET_TEXT_H_
