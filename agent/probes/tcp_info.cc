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

namespace {

// The fields ss -i prints beyond the classic ones, each checked against `len`
// on its own: a kernel's struct ends anywhere between two fields.
void DecodeMoreTcpInfo(const tcp_info& info, size_t len, v1::TcpInfo* out) {
#define NP_HAS(field) (offsetof(tcp_info, field) + sizeof(info.field) <= len)
  if (NP_HAS(tcpi_options)) out->set_backoff(info.tcpi_backoff);
  if (NP_HAS(tcpi_rto)) ToProto(absl::Microseconds(info.tcpi_rto), out->mutable_rto());
  if (NP_HAS(tcpi_ato)) ToProto(absl::Microseconds(info.tcpi_ato), out->mutable_ato());
  if (NP_HAS(tcpi_sacked)) out->set_sacked(info.tcpi_sacked);
  // tcpi_last_* are in milliseconds.
  if (NP_HAS(tcpi_last_data_sent)) {
    ToProto(absl::Milliseconds(info.tcpi_last_data_sent), out->mutable_last_data_sent());
  }
  if (NP_HAS(tcpi_last_data_recv)) {
    ToProto(absl::Milliseconds(info.tcpi_last_data_recv), out->mutable_last_data_recv());
  }
  if (NP_HAS(tcpi_last_ack_recv)) {
    ToProto(absl::Milliseconds(info.tcpi_last_ack_recv), out->mutable_last_ack_recv());
  }
  if (NP_HAS(tcpi_rcv_ssthresh)) out->set_rcv_ssthresh(info.tcpi_rcv_ssthresh);
  if (NP_HAS(tcpi_advmss)) out->set_advmss(info.tcpi_advmss);
  if (NP_HAS(tcpi_reordering)) out->set_reordering(info.tcpi_reordering);
  if (NP_HAS(tcpi_rcv_rtt)) {
    ToProto(absl::Microseconds(info.tcpi_rcv_rtt), out->mutable_rcv_rtt());
  }
  // ~0 is the kernel's "no pacing limit".
  if (NP_HAS(tcpi_pacing_rate) && info.tcpi_pacing_rate != ~uint64_t{0}) {
    out->set_pacing_rate(info.tcpi_pacing_rate);
  }
  if (NP_HAS(tcpi_max_pacing_rate) && info.tcpi_max_pacing_rate != ~uint64_t{0}) {
    out->set_max_pacing_rate(info.tcpi_max_pacing_rate);
  }
  if (NP_HAS(tcpi_segs_in)) {
    out->set_segs_out(info.tcpi_segs_out);
    out->set_segs_in(info.tcpi_segs_in);
  }
  if (NP_HAS(tcpi_notsent_bytes)) out->set_notsent_bytes(info.tcpi_notsent_bytes);
  if (NP_HAS(tcpi_data_segs_out)) {
    out->set_data_segs_in(info.tcpi_data_segs_in);
    out->set_data_segs_out(info.tcpi_data_segs_out);
  }
  // The app-limited bit came with tcpi_delivery_rate (Linux 4.9); before, its
  // byte was padding.
  if (NP_HAS(tcpi_delivery_rate)) {
    out->set_delivery_rate_app_limited(info.tcpi_delivery_rate_app_limited != 0);
  }
  if (NP_HAS(tcpi_delivered)) out->set_delivered(info.tcpi_delivered);
  if (NP_HAS(tcpi_bytes_retrans)) out->set_bytes_retrans(info.tcpi_bytes_retrans);
  if (NP_HAS(tcpi_snd_wnd)) out->set_snd_wnd(info.tcpi_snd_wnd);
#undef NP_HAS
}

}  // namespace

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
  DecodeMoreTcpInfo(info, len, out);
#undef NP_HAS
}

}  // namespace netprobe
