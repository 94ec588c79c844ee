#include "client/output/sockets_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace netprobe::client {
namespace {

double Ms(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) * 1e3 + d.nanos() / 1e6;
}

std::string Ip(const v1::Endpoint& e) {
  const std::string& ip = e.address().empty() ? e.host() : e.address();
  if (ip.find(':') != std::string::npos) return absl::StrCat("[", ip, "]");
  return ip.empty() ? "*" : ip;
}

std::string InetEndpoint(const v1::Endpoint& e) {
  return absl::StrCat(Ip(e), ":", e.port() == 0 ? "*" : absl::StrCat(e.port()));
}

}  // namespace

std::string FormatLocal(const v1::SocketEntry& s) {
  if (s.protocol() != v1::SOCKET_PROTOCOL_UNIX) return InetEndpoint(s.local());
  return absl::StrCat(s.path().empty() ? "*" : s.path(), " ", s.inode());
}

std::string FormatPeer(const v1::SocketEntry& s) {
  if (s.protocol() != v1::SOCKET_PROTOCOL_UNIX) return InetEndpoint(s.remote());
  return absl::StrCat("* ", s.peer_inode());
}

std::string FormatProcesses(const v1::SocketEntry& s) {
  if (s.processes().empty()) return "";
  std::string out = "users:(";
  for (int i = 0; i < s.processes_size(); ++i) {
    const v1::ProcessRef& p = s.processes(i);
    absl::StrAppend(&out, i > 0 ? "," : "", "(\"", p.name(), "\",pid=", p.pid(),
                    ",fd=", p.fd(), ")");
  }
  absl::StrAppend(&out, ")");
  return out;
}

std::string FormatTcpInfoLine(const v1::TcpInfo& t) {
  std::string out;
  if (!t.congestion().empty()) absl::StrAppend(&out, " ", t.congestion());
  if (t.snd_wscale() || t.rcv_wscale()) {
    absl::StrAppend(&out, " wscale:", t.snd_wscale(), ",", t.rcv_wscale());
  }
  if (t.has_rtt()) {
    absl::StrAppendFormat(&out, " rtt:%.3f/%.3f", Ms(t.rtt()), Ms(t.rttvar()));
  }
  if (t.snd_mss()) absl::StrAppend(&out, " mss:", t.snd_mss());
  if (t.pmtu()) absl::StrAppend(&out, " pmtu:", t.pmtu());
  if (t.rcv_mss()) absl::StrAppend(&out, " rcvmss:", t.rcv_mss());
  if (t.snd_cwnd()) absl::StrAppend(&out, " cwnd:", t.snd_cwnd());
  // The kernel's "infinite" ssthresh (0x7fffffff) is not shown, as ss does.
  if (t.snd_ssthresh() && t.snd_ssthresh() < 0xffff) {
    absl::StrAppend(&out, " ssthresh:", t.snd_ssthresh());
  }
  if (t.bytes_sent()) absl::StrAppend(&out, " bytes_sent:", t.bytes_sent());
  if (t.bytes_acked()) absl::StrAppend(&out, " bytes_acked:", t.bytes_acked());
  if (t.bytes_received()) absl::StrAppend(&out, " bytes_received:", t.bytes_received());
  if (t.delivery_rate()) {
    absl::StrAppend(&out, " delivery_rate:", t.delivery_rate() * 8, "bps");
  }
  if (t.has_busy_time()) absl::StrAppendFormat(&out, " busy:%.0fms", Ms(t.busy_time()));
  if (t.has_rwnd_limited() && Ms(t.rwnd_limited()) > 0) {
    absl::StrAppendFormat(&out, " rwnd_limited:%.0fms", Ms(t.rwnd_limited()));
  }
  if (t.has_sndbuf_limited() && Ms(t.sndbuf_limited()) > 0) {
    absl::StrAppendFormat(&out, " sndbuf_limited:%.0fms", Ms(t.sndbuf_limited()));
  }
  if (t.unacked()) absl::StrAppend(&out, " unacked:", t.unacked());
  if (t.retransmits() || t.total_retrans()) {
    absl::StrAppend(&out, " retrans:", t.retransmits(), "/", t.total_retrans());
  }
  if (t.lost()) absl::StrAppend(&out, " lost:", t.lost());
  if (t.rcv_space()) absl::StrAppend(&out, " rcv_space:", t.rcv_space());
  if (t.has_min_rtt()) absl::StrAppendFormat(&out, " minrtt:%.3f", Ms(t.min_rtt()));
  return out;
}

std::string FormatSocketsTable(const std::vector<const v1::SocketEntry*>& sockets,
                               const SocketsTableOptions& options) {
  struct Row {
    std::string netid, state, recv_q, send_q, local, peer, process;
  };
  std::vector<Row> rows;
  rows.reserve(sockets.size() + 1);
  rows.push_back({"Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
                  "Peer Address:Port", options.processes ? "Process" : ""});
  for (const v1::SocketEntry* s : sockets) {
    rows.push_back({s->netid(), s->state(), absl::StrCat(s->receive_queue()),
                    absl::StrCat(s->send_queue()), FormatLocal(*s), FormatPeer(*s),
                    options.processes ? FormatProcesses(*s) : ""});
  }
  size_t w[6] = {};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.netid.size());
    w[1] = std::max(w[1], r.state.size());
    w[2] = std::max(w[2], r.recv_q.size());
    w[3] = std::max(w[3], r.send_q.size());
    w[4] = std::max(w[4], r.local.size());
    w[5] = std::max(w[5], r.peer.size());
  }
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::string line;
    if (options.netid) absl::StrAppendFormat(&line, "%-*s ", w[0], r.netid);
    absl::StrAppendFormat(&line, "%-*s %-*s %-*s %-*s %-*s", w[1], r.state, w[2],
                          r.recv_q, w[3], r.send_q, w[4], r.local, w[5], r.peer);
    if (!r.process.empty()) absl::StrAppend(&line, " ", r.process);
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
    if (i > 0 && options.tcp_info && sockets[i - 1]->has_tcp_info()) {
      const std::string info = FormatTcpInfoLine(sockets[i - 1]->tcp_info());
      if (!info.empty()) absl::StrAppend(&out, "\t", info, "\n");
    }
  }
  return out;
}

}  // namespace netprobe::client
