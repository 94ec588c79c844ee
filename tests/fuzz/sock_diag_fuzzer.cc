// libFuzzer target for the sock_diag reply parser. The first byte picks the
// query's protocol (the parser's only other input: TCP, UDP, raw, unix); the
// rest is what recv() returned. Every decoded socket is then formatted the way
// the probe will, and the bytes double as a state name.
// Build and run: tests/fuzz/run_fuzzer.sh sock_diag_fuzzer SECONDS BUILD_DIR
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/net/sock_diag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr int kProtocols[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW, 0};
  const int protocol = kProtocols[data[0] % 4];
  const absl::Span<const uint8_t> bytes(data + 1, size - 1);
  std::vector<netprobe::sock_diag::Socket> sockets;
  (void)netprobe::sock_diag::ParseReply(bytes, protocol, &sockets);
  size_t total = 0;
  for (const netprobe::sock_diag::Socket& s : sockets) {
    total += netprobe::sock_diag::StateName(s.protocol, s.state).size();
    total += netprobe::sock_diag::FormatAddress(s.family, s.local).size();
    total += netprobe::sock_diag::FormatAddress(s.family, s.remote).size();
    total += s.path.size() + s.congestion.size();
    if (s.tcp_info_size > netprobe::sock_diag::kTcpInfoCapacity) __builtin_trap();
    if (s.meminfo_count > netprobe::sock_diag::kMemInfoCapacity) __builtin_trap();
  }
  const std::string name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  (void)netprobe::sock_diag::StateBitsFromName(name, "states[0]");
  static volatile size_t sink;
  sink = total;  // keeps the formatting from being optimized away
  return 0;
}
