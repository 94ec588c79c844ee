#ifndef NETPROBE_AGENT_IPERF3_WIRE_H_
#define NETPROBE_AGENT_IPERF3_WIRE_H_

// iperf3's wire format (3.x line; checked against 3.12's sources): the
// control connection's state bytes, the cookie, the length-prefixed JSON of
// the parameter and result exchanges, the UDP data header and the UDP
// "connect" handshake. Pure: no sockets, no clock.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace netprobe::iperf3 {

// One signed byte on the control connection (iperf_api.h).
enum class State : int8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kServerTerminate = 11,
  kClientTerminate = 12,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfStart = 15,
  kIperfDone = 16,
  kAccessDenied = -1,
  kServerError = -2,
};
// "TEST_START", "ACCESS_DENIED", ...; "state 42" for a byte iperf3 never sends.
std::string StateName(int8_t state);

// The cookie: 36 characters of iperf3's alphabet and a NUL, sent first on the
// control connection and on every TCP data connection.
inline constexpr size_t kCookieSize = 37;
// A fresh random cookie (kCookieSize bytes, the last one NUL).
std::string NewCookie();

// Default block sizes (iperf_api.h): TCP writes, UDP datagrams.
inline constexpr size_t kDefaultTcpBlockSize = 128 * 1024;
inline constexpr size_t kDefaultUdpBlockSize = 1460;
inline constexpr uint16_t kDefaultPort = 5201;

// The UDP "connect": the client's first datagram on each UDP stream is this
// 4-byte value; the server answers with the reply (or, before 3.11, the
// legacy reply). Host byte order, as iperf3 writes them.
inline constexpr uint32_t kUdpConnectMessage = 0x36373839;
inline constexpr uint32_t kUdpConnectReply = 0x39383736;
inline constexpr uint32_t kLegacyUdpConnectReply = 987654321;

// The parameter exchange (send_parameters / get_parameters). Absent JSON
// members keep these defaults; members iperf3 has and we do not use are
// ignored when read.
struct TestParams {
  bool udp = false;                 // "udp": true, else "tcp": true
  double omit_seconds = 0;          // "omit"
  double time_seconds = 10;         // "time"; 0 with bytes/blocks
  uint64_t bytes = 0;               // "num"
  uint64_t blocks = 0;              // "blockcount"
  int mss = 0;                      // "MSS" (0: not sent)
  bool nodelay = false;             // "nodelay"
  int parallel = 1;                 // "parallel"
  bool reverse = false;             // "reverse"
  bool bidirectional = false;       // "bidirectional"
  int window = 0;                   // "window": SO_SNDBUF and SO_RCVBUF (0: not sent)
  int length = 0;                   // "len": block / datagram size (0: not sent)
  uint64_t bandwidth = 0;           // "bandwidth", bits/s (0: not sent; unlimited TCP)
  int tos = 0;                      // "TOS"
  std::string congestion;           // "congestion"
  bool get_server_output = false;   // "get_server_output"
  bool udp_counters_64bit = false;  // "udp_counters_64bit"
  std::string client_version;       // "client_version"
};
std::string EncodeParams(const TestParams& params);
// Errors name the member and what is wrong ("parallel is 0"); ranges are
// iperf3's own argument limits (parallel 1..128, len up to 1 MB, UDP len
// 16..65507, ...), "sctp" is refused. A flag member ("nodelay": true,
// "udp_counters_64bit": 1) counts as set unless false, 0 or null. Member
// names match ignoring case, first one wins, as cJSON_GetObjectItem.
absl::StatusOr<TestParams> DecodeParams(absl::string_view json);

// One stream's line of the result exchange (send_results / get_results).
struct StreamResult {
  int id = 0;
  uint64_t bytes = 0;
  int64_t retransmits = -1;  // -1: a receiver, or no TCP_INFO
  double jitter_seconds = 0;
  int64_t errors = 0;   // UDP: datagrams lost
  int64_t packets = 0;  // UDP: datagrams sent / received
  double start_time = 0;
  double end_time = 0;
};
struct TestResults {
  double cpu_total = 0, cpu_user = 0, cpu_system = 0;  // percent
  int sender_has_retransmits = -1;  // 1, 0, or -1 (this end only received)
  std::string congestion_used;
  std::vector<StreamResult> streams;
};
std::string EncodeResults(const TestResults& results);
// Requires what get_results requires: cpu_util_total/user/system,
// sender_has_retransmits, streams, and in each stream id, bytes,
// retransmits, jitter, errors, packets (start_time/end_time are optional).
// iperf3 3.12 prints -1 as 18446744073709551615 (cJSON's PRIu64, fixed in
// 3.14); retransmits and sender_has_retransmits read that back as -1.
absl::StatusOr<TestResults> DecodeResults(absl::string_view json);

// The JSON frames of the exchanges: a 4-byte big-endian length, then the text.
inline constexpr uint32_t kMaxJsonLength = 1 << 20;
std::string FrameJson(absl::string_view json);
// Collects one frame from bytes that arrive in pieces. Not thread-safe.
class JsonFrameReader {
 public:
  // Takes bytes from the front of `data` and returns how many it used (it
  // never reads past the end of its frame). Once a frame is complete, text()
  // holds it. An error when the length exceeds kMaxJsonLength (a far end that
  // is not iperf3 sends text, whose first 4 bytes make a huge length).
  absl::StatusOr<size_t> Feed(absl::string_view data);
  bool complete() const;
  const std::string& text() const { return text_; }
  void Reset();

 private:
  uint8_t length_bytes_[4] = {};
  size_t length_have_ = 0;
  std::optional<uint32_t> length_;
  std::string text_;
};

// The header at the start of each UDP datagram: the sender's send time and
// the datagram's sequence number (the first is 1), 32-bit or 64-bit
// ("udp_counters_64bit"). All in network byte order. iperf3 3.12 takes the
// time from CLOCK_MONOTONIC (iperf_time_now), not the wall clock: a receiver
// may use only differences between datagrams (jitter), never the value.
struct UdpHeader {
  uint32_t seconds = 0;
  uint32_t microseconds = 0;
  uint64_t sequence = 0;
};
size_t UdpHeaderSize(bool counters_64bit);  // 12 or 16
// Writes the header to the front of `datagram`; false when it is too short.
bool EncodeUdpHeader(const UdpHeader& header, bool counters_64bit,
                     absl::Span<uint8_t> datagram);
std::optional<UdpHeader> DecodeUdpHeader(absl::Span<const uint8_t> datagram,
                                         bool counters_64bit);

}  // namespace netprobe::iperf3

#endif  // NETPROBE_AGENT_IPERF3_WIRE_H_
