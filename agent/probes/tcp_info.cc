// Uses the kernel's uapi struct tcp_info (not glibc's older copy), so this
// file includes <linux/tcp.h> and nothing from <netinet/tcp.h>.
#include "agent/probes/tcp_info.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "common/posix_error.h"
#include "common/proto_time.h"

namespace netprobe {

absl::string_view TcpStateName(uint8_t state) {
  static constexpr const char* kNames[] = {
      "UNKNOWN",   "ESTABLISHED", "SYN_SENT",    "SYN_RECV",   "FIN_WAIT1",
      "FIN_WAIT2", "TIME_WAIT",   "CLOSE",       "CLOSE_WAIT", "LAST_ACK",
      "LISTEN",    "CLOSING",     "NEW_SYN_RECV"};
  return state < sizeof(kNames) / sizeof(kNames[0]) ? kNames[state] : "UNKNOWN";
}

void DecodeTcpInfo(const uint8_t* data, size_t len, v1::TcpInfo* out) {
  // Before the memcpy: with nothing to copy `data` may be null (UB there).
  if (len == 0) return;
  tcp_info info;
  std::memset(&info, 0, sizeof(info));
  std::memcpy(&info, data, std::min(len, sizeof(info)));
  // A field counts when the kernel's struct was long enough to hold it.
#define NP_HAS(field) (offsetof(tcp_info, field) + sizeof(info.field) <= len)
  out->set_state(std::string(TcpStateName(info.tcpi_state)));
  if (NP_HAS(tcpi_options)) {
    out->set_retransmits(info.tcpi_retransmits);
    out->set_options(info.tcpi_options);
  }
  if (NP_HAS(tcpi_rcv_mss)) {
    out->set_snd_wscale(info.tcpi_snd_wscale);
    out->set_rcv_wscale(info.tcpi_rcv_wscale);
    out->set_snd_mss(info.tcpi_snd_mss);
    out->set_rcv_mss(info.tcpi_rcv_mss);
  }
  if (NP_HAS(tcpi_lost)) {
    out->set_unacked(info.tcpi_unacked);
    out->set_lost(info.tcpi_lost);
  }
  if (NP_HAS(tcpi_snd_cwnd)) {
    out->set_pmtu(info.tcpi_pmtu);
    ToProto(absl::Microseconds(info.tcpi_rtt), out->mutable_rtt());
    ToProto(absl::Microseconds(info.tcpi_rttvar), out->mutable_rttvar());
    out->set_snd_ssthresh(info.tcpi_snd_ssthresh);
    out->set_snd_cwnd(info.tcpi_snd_cwnd);
  }
  if (NP_HAS(tcpi_total_retrans)) {
    out->set_rcv_space(info.tcpi_rcv_space);
    out->set_total_retrans(info.tcpi_total_retrans);
  }
  if (NP_HAS(tcpi_bytes_received)) {
    out->set_bytes_acked(info.tcpi_bytes_acked);
    out->set_bytes_received(info.tcpi_bytes_received);
  }
  if (NP_HAS(tcpi_min_rtt))
    ToProto(absl::Microseconds(info.tcpi_min_rtt), out->mutable_min_rtt());
  if (NP_HAS(tcpi_delivery_rate)) out->set_delivery_rate(info.tcpi_delivery_rate);
  if (NP_HAS(tcpi_sndbuf_limited)) {
    ToProto(absl::Microseconds(info.tcpi_busy_time), out->mutable_busy_time());
    ToProto(absl::Microseconds(info.tcpi_rwnd_limited), out->mutable_rwnd_limited());
    ToProto(absl::Microseconds(info.tcpi_sndbuf_limited), out->mutable_sndbuf_limited());
  }
  if (NP_HAS(tcpi_bytes_sent)) out->set_bytes_sent(info.tcpi_bytes_sent);
#undef NP_HAS
}

}  // namespace netprobe
