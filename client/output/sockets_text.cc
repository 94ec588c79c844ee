#include "client/output/sockets_text.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace netprobe::client {
namespace {

double Ms(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) * 1e3 + d.nanos() / 1e6;
}

// ss's address part: "*" for a wildcard IPv6 socket that takes IPv4 too (not
// v6only), "[::]" for a v6only one, brackets around any other IPv6 address.
std::string Ip(const v1::Endpoint& e, const v1::SocketEntry& s) {
  const std::string& ip = e.address().empty() ? e.host() : e.address();
  if (ip == "::" && !s.v6only()) return "*";
  if (ip.find(':') != std::string::npos) return absl::StrCat("[", ip, "]");
  return ip.empty() ? "*" : ip;
}

std::string Port(const v1::Endpoint& e) {
  return e.port() == 0 ? "*" : absl::StrCat(e.port());
}

// tcpi_options bits (TCPI_OPT_* in linux/tcp.h).
constexpr uint32_t kOptTimestamps = 1, kOptSack = 2, kOptWscale = 4, kOptEcn = 8,
                   kOptEcnSeen = 16, kOptSynData = 32;

// The address and port columns of one side: ("198.18.0.1:", "22"), or for
// unix sockets ("PATH ", "INODE").
std::pair<std::string, std::string> LocalColumns(const v1::SocketEntry& s) {
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) {
    return {absl::StrCat(s.path().empty() ? "*" : s.path(), " "),
            absl::StrCat(s.inode())};
  }
  return {absl::StrCat(Ip(s.local(), s), ":"), Port(s.local())};
}

std::pair<std::string, std::string> PeerColumns(const v1::SocketEntry& s) {
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) {
    return {"* ", absl::StrCat(s.peer_inode())};
  }
  return {absl::StrCat(Ip(s.remote(), s), ":"), Port(s.remote())};
}

// LocalColumns' and PeerColumns' cells appended to `out`, for the table: no
// string of their own per cell. Returns where the port cell starts.
size_t AppendColumns(const v1::SocketEntry& s, bool local, std::string* out) {
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) {
    if (local) {
      absl::StrAppend(out, s.path().empty() ? "*" : s.path(), " ");
    } else {
      out->append("* ");
    }
    const size_t port = out->size();
    absl::StrAppend(out, local ? s.inode() : s.peer_inode());
    return port;
  }
  const v1::Endpoint& e = local ? s.local() : s.remote();
  const std::string& ip = e.address().empty() ? e.host() : e.address();
  if ((ip == "::" && !s.v6only()) || ip.empty()) {
    out->append("*");
  } else if (ip.find(':') != std::string::npos) {
    absl::StrAppend(out, "[", ip, "]");
  } else {
    out->append(ip);
  }
  out->append(":");
  const size_t port = out->size();
  if (e.port() == 0) {
    out->append("*");
  } else {
    absl::StrAppend(out, e.port());
  }
  return port;
}

// ss's "%-6d" of a queue.
void AppendQueue(uint32_t bytes, std::string* out) {
  const size_t start = out->size();
  absl::StrAppend(out, bytes);
  const size_t digits = out->size() - start;
  if (digits < 6) out->append(6 - digits, ' ');
}

}  // namespace

std::string FormatLocal(const v1::SocketEntry& s) {
  auto [address, port] = LocalColumns(s);
  return address + port;
}

std::string FormatPeer(const v1::SocketEntry& s) {
  auto [address, port] = PeerColumns(s);
  return address + port;
}

std::string FormatMsTimer(uint64_t ms) {
  // ss's print_ms_timer: minutes drop the milliseconds, and ten or more of a
  // unit drop the next smaller one.
  uint64_t secs = ms / 1000;
  const uint64_t minutes = secs / 60;
  secs %= 60;
  uint64_t msecs = ms % 1000;
  std::string out;
  if (minutes) {
    msecs = 0;
    absl::StrAppend(&out, minutes, "min");
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    absl::StrAppend(&out, secs, msecs ? "." : "sec");
  }
  if (msecs) absl::StrAppendFormat(&out, "%03d%s", msecs, secs ? "sec" : "ms");
  return out;
}

std::string FormatTimer(const v1::SocketEntry& s) {
  if (!s.has_timer()) return "";
  const google::protobuf::Duration& d = s.timer().expires();
  const uint64_t ms = static_cast<uint64_t>(d.seconds()) * 1000 + d.nanos() / 1000000;
  return absl::StrCat(" timer:(", s.timer().name(), ",", FormatMsTimer(ms), ",",
                      s.timer().retransmits(), ")");
}

std::string FormatSkmem(const v1::SocketEntry& s) {
  if (!s.has_fwd_alloc()) return "";
  std::string out = absl::StrCat(" skmem:(r", s.rmem_alloc(), ",rb", s.rcvbuf(), ",t",
                                 s.wmem_alloc(), ",tb", s.sndbuf(), ",f", s.fwd_alloc(),
                                 ",w", s.wmem_queued(), ",o", s.optmem());
  if (s.has_backlog()) absl::StrAppend(&out, ",bl", s.backlog());
  if (s.has_drops()) absl::StrAppend(&out, ",d", s.drops());
  absl::StrAppend(&out, ")");
  return out;
}

std::string FormatDetails(const v1::SocketEntry& s) {
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) return "";
  std::string out;
  if (s.uid()) absl::StrAppend(&out, " uid:", s.uid());
  absl::StrAppend(&out, " ino:", s.inode(), " sk:", absl::Hex(s.cookie()));
  if (s.has_v6only()) absl::StrAppend(&out, " v6only:", s.v6only() ? 1 : 0);
  if (s.has_shutdown()) {
    absl::StrAppend(&out, " ", (s.shutdown() & 1) ? "-" : "<", "-",
                    (s.shutdown() & 2) ? "-" : ">");
  }
  return out;
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

std::string FormatBitRate(double bps, bool numeric) {
  if (numeric) return absl::StrFormat("%.0f", bps);
  if (bps >= 1e12) return absl::StrFormat("%.3gT", bps / 1e12);
  if (bps >= 1e9) return absl::StrFormat("%.3gG", bps / 1e9);
  if (bps >= 1e6) return absl::StrFormat("%.3gM", bps / 1e6);
  if (bps >= 1e3) return absl::StrFormat("%.3gk", bps / 1e3);
  return absl::StrFormat("%g", bps);
}

std::string FormatTcpInfoLine(const v1::TcpInfo& t, const SocketsTableOptions& options) {
  // ss's tcp_stats_print, field by field and in its order; like ss, a field
  // that is zero is left out.
  std::string out;
  if (options.timers) {
    if (t.options() & kOptTimestamps) absl::StrAppend(&out, " ts");
    if (t.options() & kOptSack) absl::StrAppend(&out, " sack");
    if (t.options() & kOptEcn) absl::StrAppend(&out, " ecn");
    if (t.options() & kOptEcnSeen) absl::StrAppend(&out, " ecnseen");
    if (t.options() & kOptSynData) absl::StrAppend(&out, " fastopen");
  }
  if (!t.congestion().empty()) absl::StrAppend(&out, " ", t.congestion());
  if (t.options() & kOptWscale) {
    absl::StrAppend(&out, " wscale:", t.snd_wscale(), ",", t.rcv_wscale());
  }
  // 3 s is the kernel's initial RTO: ss leaves it out.
  const double rto = Ms(t.rto());
  if (rto > 0 && rto != 3000) absl::StrAppendFormat(&out, " rto:%g", rto);
  if (t.backoff()) absl::StrAppend(&out, " backoff:", t.backoff());
  const double rtt = Ms(t.rtt());
  if (rtt > 0) absl::StrAppendFormat(&out, " rtt:%g/%g", rtt, Ms(t.rttvar()));
  if (Ms(t.ato()) > 0) absl::StrAppendFormat(&out, " ato:%g", Ms(t.ato()));
  if (t.snd_mss()) absl::StrAppend(&out, " mss:", t.snd_mss());
  if (t.pmtu()) absl::StrAppend(&out, " pmtu:", t.pmtu());
  if (t.rcv_mss()) absl::StrAppend(&out, " rcvmss:", t.rcv_mss());
  if (t.advmss()) absl::StrAppend(&out, " advmss:", t.advmss());
  if (t.snd_cwnd()) absl::StrAppend(&out, " cwnd:", t.snd_cwnd());
  // The kernel's "infinite" ssthresh (0x7fffffff) is not shown, as ss does.
  if (t.snd_ssthresh() && t.snd_ssthresh() < 0xffff) {
    absl::StrAppend(&out, " ssthresh:", t.snd_ssthresh());
  }
  if (t.bytes_sent()) absl::StrAppend(&out, " bytes_sent:", t.bytes_sent());
  if (t.bytes_retrans()) absl::StrAppend(&out, " bytes_retrans:", t.bytes_retrans());
  if (t.bytes_acked()) absl::StrAppend(&out, " bytes_acked:", t.bytes_acked());
  if (t.bytes_received()) absl::StrAppend(&out, " bytes_received:", t.bytes_received());
  if (t.segs_out()) absl::StrAppend(&out, " segs_out:", t.segs_out());
  if (t.segs_in()) absl::StrAppend(&out, " segs_in:", t.segs_in());
  if (t.data_segs_out()) absl::StrAppend(&out, " data_segs_out:", t.data_segs_out());
  if (t.data_segs_in()) absl::StrAppend(&out, " data_segs_in:", t.data_segs_in());
  // ss's estimate of the send rate: a window per round trip.
  const double rtt_us = rtt * 1e3;
  if (rtt_us > 0 && t.snd_mss() && t.snd_cwnd()) {
    const double send = static_cast<double>(t.snd_cwnd()) * t.snd_mss() * 8e6 / rtt_us;
    absl::StrAppend(&out, " send ", FormatBitRate(send, options.numeric), "bps");
  }
  const auto whole_ms = [](const google::protobuf::Duration& d) {
    return static_cast<uint64_t>(d.seconds()) * 1000 + d.nanos() / 1000000;
  };
  if (whole_ms(t.last_data_sent())) {
    absl::StrAppend(&out, " lastsnd:", whole_ms(t.last_data_sent()));
  }
  if (whole_ms(t.last_data_recv())) {
    absl::StrAppend(&out, " lastrcv:", whole_ms(t.last_data_recv()));
  }
  if (whole_ms(t.last_ack_recv())) {
    absl::StrAppend(&out, " lastack:", whole_ms(t.last_ack_recv()));
  }
  if (t.pacing_rate()) {
    absl::StrAppend(&out, " pacing_rate ",
                    FormatBitRate(t.pacing_rate() * 8.0, options.numeric), "bps");
    if (t.max_pacing_rate()) {
      absl::StrAppend(&out, "/",
                      FormatBitRate(t.max_pacing_rate() * 8.0, options.numeric), "bps");
    }
  }
  if (t.delivery_rate()) {
    absl::StrAppend(&out, " delivery_rate ",
                    FormatBitRate(t.delivery_rate() * 8.0, options.numeric), "bps");
  }
  if (t.delivered()) absl::StrAppend(&out, " delivered:", t.delivered());
  if (t.delivery_rate_app_limited()) absl::StrAppend(&out, " app_limited");
  // ss truncates microseconds to whole milliseconds here.
  const auto us = [](const google::protobuf::Duration& d) {
    return static_cast<uint64_t>(d.seconds()) * 1000000 + d.nanos() / 1000;
  };
  if (const uint64_t busy = us(t.busy_time()); busy > 0) {
    absl::StrAppend(&out, " busy:", busy / 1000, "ms");
    if (const uint64_t rwnd = us(t.rwnd_limited()); rwnd > 0) {
      absl::StrAppendFormat(&out, " rwnd_limited:%dms(%.1f%%)", rwnd / 1000,
                            100.0 * rwnd / busy);
    }
    if (const uint64_t sndbuf = us(t.sndbuf_limited()); sndbuf > 0) {
      absl::StrAppendFormat(&out, " sndbuf_limited:%dms(%.1f%%)", sndbuf / 1000,
                            100.0 * sndbuf / busy);
    }
  }
  if (t.unacked()) absl::StrAppend(&out, " unacked:", t.unacked());
  if (t.retransmits() || t.total_retrans()) {
    absl::StrAppend(&out, " retrans:", t.retransmits(), "/", t.total_retrans());
  }
  if (t.lost()) absl::StrAppend(&out, " lost:", t.lost());
  if (t.sacked() && t.state() != "LISTEN") absl::StrAppend(&out, " sacked:", t.sacked());
  // 3 is the kernel's default reordering: ss shows only other values.
  if (t.has_reordering() && t.reordering() != 3) {
    absl::StrAppend(&out, " reordering:", t.reordering());
  }
  if (Ms(t.rcv_rtt()) > 0) absl::StrAppendFormat(&out, " rcv_rtt:%g", Ms(t.rcv_rtt()));
  if (t.rcv_space()) absl::StrAppend(&out, " rcv_space:", t.rcv_space());
  if (t.rcv_ssthresh()) absl::StrAppend(&out, " rcv_ssthresh:", t.rcv_ssthresh());
  if (t.notsent_bytes()) absl::StrAppend(&out, " notsent:", t.notsent_bytes());
  // ~0 us is the kernel's "no sample yet".
  const double min_rtt = Ms(t.min_rtt());
  if (min_rtt > 0 && us(t.min_rtt()) != 0xffffffffu) {
    absl::StrAppendFormat(&out, " minrtt:%g", min_rtt);
  }
  if (t.snd_wnd()) absl::StrAppend(&out, " snd_wnd:", t.snd_wnd());
  return out;
}

std::string FormatSocketsSummary(const v1::SocketsSummary& s) {
  // ss's print_summary: TCP's total counts allocated and time-wait sockets;
  // "closed" is what is allocated but not in the hash tables.
  std::string out = absl::StrFormat(
      "Total: %d\nTCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)\n\n",
      s.sockets_used(), s.tcp_alloc() + s.tcp_timewait(), s.tcp_established(),
      s.tcp_alloc() - (s.tcp_inuse() + s.tcp6_inuse() - s.tcp_timewait()), s.tcp_orphan(),
      s.tcp_timewait());
  absl::StrAppend(&out, "Transport Total     IP        IPv6\n");
  const auto row = [&out](const char* name, int64_t v4, int64_t v6) {
    absl::StrAppendFormat(&out, "%s\t  %-9d %-9d %-9d\n", name, v4 + v6, v4, v6);
  };
  row("RAW", s.raw_inuse(), s.raw6_inuse());
  row("UDP", s.udp_inuse(), s.udp6_inuse());
  row("TCP", s.tcp_inuse(), s.tcp6_inuse());
  row("INET", s.raw_inuse() + s.udp_inuse() + s.tcp_inuse(),
      s.raw6_inuse() + s.udp6_inuse() + s.tcp6_inuse());
  row("FRAG", s.frag_inuse(), s.frag6_inuse());
  absl::StrAppend(&out, "\nListed:");
  if (s.listed().empty()) absl::StrAppend(&out, " none");
  // `listed` comes sorted by netid, then state.
  for (int i = 0; i < s.listed_size();) {
    const std::string& netid = s.listed(i).netid();
    uint64_t total = 0;
    std::string states;
    for (; i < s.listed_size() && s.listed(i).netid() == netid; ++i) {
      total += s.listed(i).count();
      absl::StrAppend(&states, states.empty() ? "" : ", ", s.listed(i).state(), " ",
                      s.listed(i).count());
    }
    absl::StrAppend(&out, out.back() == ':' ? " " : "; ", netid, " ", total, " (", states,
                    ")");
  }
  absl::StrAppend(&out, "\n");
  return out;
}

namespace {

// What ss prints after the columns: timer, details, and the -m / -i line
// (for TCP on a line of its own, "\n\t ..."; unix -m on the same line).
std::string Extra(const v1::SocketEntry& s, const SocketsTableOptions& options) {
  std::string out;
  if (options.timers || options.details) absl::StrAppend(&out, FormatTimer(s));
  if (options.details) absl::StrAppend(&out, FormatDetails(s));
  if (s.protocol() == v1::SOCKET_PROTOCOL_UNIX) {
    if (options.memory) absl::StrAppend(&out, FormatSkmem(s));
    return out;
  }
  const bool tcp = s.protocol() == v1::SOCKET_PROTOCOL_TCP;
  if (options.memory || (options.tcp_info && tcp && s.has_tcp_info())) {
    absl::StrAppend(&out, "\n\t");
    if (options.memory) absl::StrAppend(&out, FormatSkmem(s));
    if (options.tcp_info && s.has_tcp_info()) {
      SocketsTableOptions info = options;
      info.timers = options.timers || options.details;
      absl::StrAppend(&out, FormatTcpInfoLine(s.tcp_info(), info));
    }
  }
  return out;
}

void AppendTrimmedLines(absl::string_view text, std::string* out) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
}

}  // namespace

std::string FormatSocketsTable(const std::vector<const v1::SocketEntry*>& sockets,
                               const SocketsTableOptions& options) {
  // ss's columns when its output is not a terminal: each as wide as its
  // widest cell (the header's included when printed) plus its left
  // delimiter; the address columns right-aligned and their ":" kept with the
  // address, so the colons line up; Process has no delimiter (ss prints
  // "Peer Address:PortProcess" when no port is wider than "Port").
  enum Align { kLeft, kRight };
  struct Column {
    Align align;
    const char* delimiter;
    bool shown;
  };
  const Column columns[] = {
      {kLeft, "", options.netid}, {kLeft, " ", options.state}, {kLeft, " ", true},
      {kLeft, " ", true},         {kRight, " ", true},         {kLeft, "", true},
      {kRight, " ", true},        {kLeft, "", true},           {kLeft, "", true},
  };
  constexpr size_t kColumns = sizeof(columns) / sizeof(columns[0]);
  // Every cell's text in one buffer, each row its cells' offsets and sizes
  // (32 bits: the agent lists at most 2^20 sockets of a kind, their cells a
  // few hundred bytes at most): 10,000 rows would otherwise be 90,000
  // strings built, copied and freed.
  struct Cell {
    uint32_t begin = 0;
    uint32_t size = 0;
  };
  using Cells = std::array<Cell, kColumns>;
  std::string text;
  text.reserve(sockets.size() * 64);
  std::vector<Cells> rows;
  rows.reserve(sockets.size() + 1);
  // Each column's widest cell, as the rows are built (one pass over them).
  size_t longest[kColumns] = {};
  // Closes cell c of `row`: it is what was appended to `text` since `begin`.
  const auto close = [&text, &longest](Cells& row, size_t c, size_t begin) {
    row[c] = {static_cast<uint32_t>(begin), static_cast<uint32_t>(text.size() - begin)};
    longest[c] = std::max<size_t>(longest[c], row[c].size);
  };
  if (options.header) {
    static constexpr const char* kHeader[kColumns] = {
        "Netid", "State",         "Recv-Q", "Send-Q", "Local Address:",
        "Port",  "Peer Address:", "Port",   "Process"};
    Cells& row = rows.emplace_back();
    for (size_t c = 0; c < kColumns; ++c) {
      const size_t begin = text.size();
      text.append(kHeader[c]);
      close(row, c, begin);
    }
  }
  for (const v1::SocketEntry* s : sockets) {
    Cells& row = rows.emplace_back();
    size_t begin = text.size();
    text.append(s->netid());
    close(row, 0, begin);
    begin = text.size();
    text.append(s->state());
    close(row, 1, begin);
    // ss prints the queues "%-6d": six wide even without a header.
    begin = text.size();
    AppendQueue(s->receive_queue(), &text);
    close(row, 2, begin);
    begin = text.size();
    AppendQueue(s->send_queue(), &text);
    close(row, 3, begin);
    for (const bool local : {true, false}) {
      const size_t c = local ? 4 : 6;
      begin = text.size();
      const size_t port = AppendColumns(*s, local, &text);
      row[c] = {static_cast<uint32_t>(begin), static_cast<uint32_t>(port - begin)};
      longest[c] = std::max<size_t>(longest[c], row[c].size);
      close(row, c + 1, port);
    }
    begin = text.size();
    if (options.processes && !s->processes().empty()) {
      absl::StrAppend(&text, " ", FormatProcesses(*s));
    }
    close(row, 8, begin);
  }
  size_t width[kColumns] = {};
  bool first = true;
  for (size_t c = 0; c < kColumns; ++c) {
    if (!columns[c].shown) continue;
    width[c] = longest[c] + (first || longest[c] == 0 ? 0 : strlen(columns[c].delimiter));
    if (width[c] > 0) first = false;
  }
  std::string out;
  size_t line_width = 1;
  for (const size_t w : width) line_width += w + 1;
  out.reserve(rows.size() * line_width);
  const size_t skip = options.header ? 1 : 0;
  std::string line;
  for (size_t i = 0; i < rows.size(); ++i) {
    line.clear();
    bool started = false;
    for (size_t c = 0; c < kColumns; ++c) {
      if (!columns[c].shown) continue;
      size_t printed = 0;
      if (started) {
        line += columns[c].delimiter;
        printed = strlen(columns[c].delimiter);
      }
      started = true;
      const absl::string_view cell(text.data() + rows[i][c].begin, rows[i][c].size);
      if (columns[c].align == kRight && width[c] > printed + cell.size()) {
        line.append(width[c] - printed - cell.size(), ' ');
      }
      line.append(cell.data(), cell.size());
      printed += cell.size();
      // The last column (Process) is not padded: what -o and -e add follows
      // the cell at once, as in ss.
      if (columns[c].align == kLeft && c + 1 < kColumns && width[c] > printed) {
        line.append(width[c] - printed, ' ');
      }
    }
    if (i >= skip) absl::StrAppend(&line, Extra(*sockets[i - skip], options));
    AppendTrimmedLines(line, &out);
  }
  return out;
}

}  // namespace netprobe::client
