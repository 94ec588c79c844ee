#include "client/output/throughput_text.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace netprobe::client {
namespace {

// iperf3 3.12's strings (iperf_locale.c); "%s" after [ ID] is the --bidir
// role, "[TX-C]" or "[RX-C]".
constexpr char kSeparator[] = "- - - - - - - - - - - - - - - - - - - - - - - - -\n";
constexpr char kOmitted[] = "(omitted)";

std::string Header(const char* columns, bool bidir) {
  return absl::StrCat(bidir ? "[ ID][Role]" : "[ ID]",
                      " Interval           Transfer     Bitrate", columns, "\n");
}

std::string Id(uint32_t stream_id) {
  return stream_id == 0 ? "[SUM]" : absl::StrFormat("[%3d]", stream_id);
}

// "[  1]   0.00-1.00   sec  11.2 MBytes  94.1 Mbits/sec": what every line
// starts with.
std::string Lead(uint32_t stream_id, const std::string& role, double start, double end,
                 double bytes, double bits_per_second) {
  return absl::StrFormat("%s%s %6.2f-%-6.2f sec  %ss  %ss/sec", Id(stream_id), role,
                         start, end, IperfBytes(bytes), IperfBits(bits_per_second));
}

double JitterMs(const google::protobuf::Duration& d) {
  return absl::ToDoubleMilliseconds(FromProto(d));
}

// iperf3's " %5.3f ms  %d/%d (%.2g%%)" of UDP receivers.
std::string UdpLoss(double jitter_ms, int64_t lost, uint64_t total, double percent) {
  return absl::StrFormat("  %5.3f ms  %d/%d (%.2g%%)", jitter_ms, lost, total, percent);
}

double LossPercent(int64_t lost, uint64_t total) {
  return total > 0 ? 100.0 * static_cast<double>(lost) / static_cast<double>(total) : 0.0;
}

// One stream's (or the sum's) interval line.
struct IntervalRow {
  uint32_t stream_id = 0;
  bool sender = false;
  double start = 0, end = 0;
  bool omitted = false;
  uint64_t bytes = 0;
  double bits_per_second = 0;
  uint64_t retransmits = 0;
  uint64_t cwnd = 0;  // bytes: snd_cwnd * snd_mss, as iperf3 shows it
  uint64_t datagrams = 0;
  int64_t lost = 0;
  double jitter_ms = 0;
};

// Percent of `seconds` that `d` is.
double Share(const google::protobuf::Duration& d, double seconds) {
  return seconds > 0 ? 100.0 * absl::ToDoubleSeconds(FromProto(d)) / seconds : 0.0;
}

std::string LimitName(v1::ThroughputLimit limit) {
  switch (limit) {
    case v1::THROUGHPUT_LIMIT_NETWORK:
      return "network (congestion window)";
    case v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW:
      return "receive window (the receiver's buffer)";
    case v1::THROUGHPUT_LIMIT_SEND_BUFFER:
      return "send buffer (SO_SNDBUF)";
    case v1::THROUGHPUT_LIMIT_APPLICATION:
      return "application (nothing to send: the bitrate)";
    default:
      return "";
  }
}

// "Limited by: send buffer (SO_SNDBUF) 73% of the time (receive window 0%,
// busy 99%)": the limit the agent named, with the shares of the measured
// time from TCP_INFO, averaged over the agent's sending streams; then the
// agent's own sentence, when it wrote one.
std::string LimitLines(const v1::ThroughputSummary& summary) {
  const std::string name = LimitName(summary.limited_by());
  if (name.empty()) {
    return summary.limit_detail().empty()
               ? ""
               : absl::StrCat("Limited by: ", summary.limit_detail(), "\n");
  }
  double rwnd = 0, sndbuf = 0, busy = 0;
  int streams = 0;
  for (const v1::ThroughputTotals& t : summary.totals()) {
    if (t.stream_id() == 0 || !t.agent_sends()) continue;
    ++streams;
    rwnd += Share(t.rwnd_limited(), t.seconds());
    sndbuf += Share(t.sndbuf_limited(), t.seconds());
    busy += Share(t.busy_time(), t.seconds());
  }
  std::string out = absl::StrCat("Limited by: ", name);
  if (streams > 0) {
    rwnd /= streams;
    sndbuf /= streams;
    busy /= streams;
    switch (summary.limited_by()) {
      case v1::THROUGHPUT_LIMIT_SEND_BUFFER:
        absl::StrAppendFormat(&out,
                              " %.0f%% of the time (receive window %.0f%%, busy %.0f%%)",
                              sndbuf, rwnd, busy);
        break;
      case v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW:
        absl::StrAppendFormat(&out,
                              " %.0f%% of the time (send buffer %.0f%%, busy %.0f%%)",
                              rwnd, sndbuf, busy);
        break;
      default:
        absl::StrAppendFormat(&out,
                              ", busy %.0f%% of the time (send buffer %.0f%%, "
                              "receive window %.0f%%)",
                              busy, sndbuf, rwnd);
        break;
    }
  }
  absl::StrAppend(&out, "\n");
  if (!summary.limit_detail().empty())
    absl::StrAppend(&out, "  ", summary.limit_detail(), "\n");
  return out;
}

}  // namespace

std::string IperfBytes(double bytes) {
  static constexpr const char* kLabels[] = {"Byte", "KByte", "MByte", "GByte", "TByte"};
  int conv = 0;
  while (bytes >= 1024.0 && conv < 4) {
    bytes /= 1024.0;
    ++conv;
  }
  // unit_snprintf: always four places.
  return bytes < 9.995   ? absl::StrFormat("%4.2f %s", bytes, kLabels[conv])
         : bytes < 99.95 ? absl::StrFormat("%4.1f %s", bytes, kLabels[conv])
                         : absl::StrFormat("%4.0f %s", bytes, kLabels[conv]);
}

std::string IperfBits(double bits) {
  static constexpr const char* kLabels[] = {"bit", "Kbit", "Mbit", "Gbit", "Tbit"};
  int conv = 0;
  while (bits >= 1000.0 && conv < 4) {
    bits /= 1000.0;
    ++conv;
  }
  return bits < 9.995   ? absl::StrFormat("%4.2f %s", bits, kLabels[conv])
         : bits < 99.95 ? absl::StrFormat("%4.1f %s", bits, kLabels[conv])
                        : absl::StrFormat("%4.0f %s", bits, kLabels[conv]);
}

std::string FormatThroughputError(const v1::ThroughputSummary& summary) {
  if (summary.error().empty()) return "";
  return absl::StrCat("netprobe throughput: error - ", summary.error(), "\n");
}

std::string ThroughputText::Role(bool sender) const {
  if (!bidir()) return "";
  return sender ? "[TX-C]" : "[RX-C]";
}

std::string ThroughputText::Started(const v1::ThroughputStarted& started) {
  local_congestion_ = started.congestion();
  size_t senders = 0, receivers = 0;
  for (const v1::ThroughputStream& stream : started.streams()) {
    (stream.sender() ? senders : receivers)++;
  }
  expected_streams_ = senders + receivers;
  parallel_ = std::max(senders, receivers);
  has_sender_ = senders > 0;
  has_receiver_ = receivers > 0;
  const v1::Endpoint& target = started.target();
  std::string out =
      absl::StrFormat("Connecting to host %s, port %d\n", target.host(), target.port());
  if (has_receiver_ && !has_sender_) {
    absl::StrAppendFormat(&out, "Reverse mode, remote host %s is sending\n",
                          target.host());
  }
  for (const v1::ThroughputStream& stream : started.streams()) {
    absl::StrAppendFormat(&out, "[%3d] local %s port %d connected to %s port %d\n",
                          stream.id(), started.local_address(), stream.local_port(),
                          target.address().empty() ? target.host() : target.address(),
                          target.port());
  }
  return out;
}

std::string ThroughputText::Add(const v1::ThroughputInterval& interval) {
  if (interval.stream_id() == 0) return "";  // summed here, from the streams
  // A later interval, or the same stream again, begins the next block (each
  // stream may time its interval a little differently).
  std::string out;
  const bool repeated = std::any_of(pending_.begin(), pending_.end(), [&](const auto& p) {
    return p.stream_id() == interval.stream_id() && p.sender() == interval.sender();
  });
  if (!pending_.empty() &&
      (repeated || interval.start() >= pending_.front().end() - 1e-3)) {
    out = Block();
  }
  pending_.push_back(interval);
  if (expected_streams_ > 0 && pending_.size() >= expected_streams_) out += Block();
  return out;
}

std::string ThroughputText::Flush() { return pending_.empty() ? "" : Block(); }

std::string ThroughputText::Block() {
  std::vector<v1::ThroughputInterval> block;
  block.swap(pending_);
  if (expected_streams_ == 0) {  // no ThroughputStarted: learn from the lines
    std::set<uint32_t> senders, receivers;
    for (const v1::ThroughputInterval& i : block) {
      (i.sender() ? senders : receivers).insert(i.stream_id());
    }
    has_sender_ = has_sender_ || !senders.empty();
    has_receiver_ = has_receiver_ || !receivers.empty();
    parallel_ = std::max({parallel_, senders.size(), receivers.size()});
  }
  std::sort(block.begin(), block.end(), [](const auto& a, const auto& b) {
    return a.sender() != b.sender() ? a.sender() : a.stream_id() < b.stream_id();
  });
  std::string out;
  if (!header_printed_) {
    header_printed_ = true;
    if (!udp_) {
      out = Header(has_sender_ ? "         Retr  Cwnd" : "", bidir());
    } else if (bidir() || !has_sender_) {
      out = Header("         Jitter    Lost/Total Datagrams", bidir());
    } else {
      out = Header("         Total Datagrams", false);
    }
  } else if (parallel_ > 1) {
    out = kSeparator;
  }
  const std::string zeros = bidir() ? "          " : "";  // iperf3's zbuf
  const auto line = [&](const IntervalRow& row) {
    const std::string role = Role(row.sender);
    const char* omitted = row.omitted ? kOmitted : "";
    std::string text = Lead(row.stream_id, role, row.start, row.end,
                            static_cast<double>(row.bytes), row.bits_per_second);
    if (udp_ && row.sender) {
      absl::StrAppendFormat(&text, " %s %d  %s\n", zeros, row.datagrams, omitted);
    } else if (udp_) {
      // iperf3's Total is the datagrams the receiver expected (the highest
      // sequence number): those received and those lost.
      const uint64_t total = static_cast<uint64_t>(
          std::max<int64_t>(0, static_cast<int64_t>(row.datagrams) + row.lost));
      absl::StrAppend(
          &text, UdpLoss(row.jitter_ms, row.lost, total, LossPercent(row.lost, total)),
          "  ", omitted, "\n");
    } else if (row.sender && row.stream_id != 0) {
      absl::StrAppendFormat(&text, "  %3u   %ss       %s\n", row.retransmits,
                            IperfBytes(static_cast<double>(row.cwnd)), omitted);
    } else if (row.sender) {
      absl::StrAppendFormat(&text, "  %3d             %s\n", row.retransmits, omitted);
    } else {
      absl::StrAppendFormat(&text, "                  %s\n", omitted);
    }
    return text;
  };
  for (const bool sender : {true, false}) {
    IntervalRow sum;
    sum.sender = sender;
    size_t streams = 0;
    for (const v1::ThroughputInterval& i : block) {
      if (i.sender() != sender) continue;
      IntervalRow row;
      row.stream_id = i.stream_id();
      row.sender = sender;
      row.omitted = i.omitted();
      if (i.omitted()) {
        omit_end_ = std::max(omit_end_, i.end());
        row.start = i.start();
        row.end = i.end();
      } else {
        row.start = std::max(0.0, i.start() - omit_end_);
        row.end = std::max(0.0, i.end() - omit_end_);
      }
      row.bytes = i.bytes();
      row.bits_per_second = i.bits_per_second();
      row.retransmits = i.retransmits();
      row.cwnd = static_cast<uint64_t>(i.tcp_info().snd_cwnd()) * i.tcp_info().snd_mss();
      row.datagrams = i.datagrams();
      row.lost = i.lost();
      row.jitter_ms = JitterMs(i.jitter());
      out += line(row);
      if (streams++ == 0) {
        sum.start = row.start;
        sum.end = row.end;
        sum.omitted = row.omitted;
      }
      sum.bytes += row.bytes;
      sum.retransmits += row.retransmits;
      sum.datagrams += row.datagrams;
      sum.lost += row.lost;
      sum.jitter_ms += row.jitter_ms;
    }
    if (parallel_ > 1 && streams > 0) {
      // iperf3: the sum's bytes over the first stream's interval, the mean
      // jitter.
      const double seconds = sum.end - sum.start;
      sum.bits_per_second =
          seconds > 0 ? static_cast<double>(sum.bytes) * 8 / seconds : 0;
      sum.jitter_ms /= static_cast<double>(streams);
      out += line(sum);
    }
  }
  return out;
}

std::string ThroughputText::Summary(const v1::ThroughputSummary& summary) {
  std::string out = Flush();
  if (summary.totals_size() == 0) return out;
  bool any_sender = false, any_receiver = false, retransmits = false;
  for (const v1::ThroughputTotals& t : summary.totals()) {
    (t.agent_sends() ? any_sender : any_receiver) = true;
    retransmits = retransmits || t.retransmits() >= 0;
  }
  const bool bidir = any_sender && any_receiver;
  absl::StrAppend(&out, kSeparator);
  if (udp_) {
    absl::StrAppend(&out, Header("         Jitter    Lost/Total Datagrams", bidir));
  } else {
    absl::StrAppend(&out, Header(retransmits ? "         Retr" : "", bidir));
  }
  const bool remote = summary.remote_results();
  for (const bool agent_sends : {true, false}) {
    const std::string role = bidir ? (agent_sends ? "[TX-C]" : "[RX-C]") : "";
    // What the far end counted is there only with its results.
    const bool sender_known = agent_sends || remote;
    const bool receiver_known = !agent_sends || remote;
    std::vector<const v1::ThroughputTotals*> streams;
    const v1::ThroughputTotals* sum = nullptr;
    for (const v1::ThroughputTotals& t : summary.totals()) {
      if (t.agent_sends() != agent_sends) continue;
      if (t.stream_id() == 0) {
        sum = &t;
      } else {
        streams.push_back(&t);
      }
    }
    std::sort(streams.begin(), streams.end(), [](const auto* a, const auto* b) {
      return a->stream_id() < b->stream_id();
    });
    // The sum when the agent sent none: added up here.
    v1::ThroughputTotals added;
    if (sum == nullptr && streams.size() > 1) {
      double jitter_ms = 0;
      added.set_agent_sends(agent_sends);
      added.set_retransmits(-1);
      for (const v1::ThroughputTotals* t : streams) {
        added.set_seconds(std::max(added.seconds(), t->seconds()));
        added.set_sender_bytes(added.sender_bytes() + t->sender_bytes());
        added.set_receiver_bytes(added.receiver_bytes() + t->receiver_bytes());
        if (t->retransmits() >= 0) {
          added.set_retransmits(std::max<int64_t>(added.retransmits(), 0) +
                                t->retransmits());
        }
        added.set_datagrams(added.datagrams() + t->datagrams());
        added.set_lost(added.lost() + t->lost());
        jitter_ms += JitterMs(t->jitter());
      }
      // iperf3: the bytes over the time, the mean jitter.
      if (added.seconds() > 0) {
        added.set_sender_bits_per_second(static_cast<double>(added.sender_bytes()) * 8 /
                                         added.seconds());
        added.set_receiver_bits_per_second(static_cast<double>(added.receiver_bytes()) *
                                           8 / added.seconds());
      }
      added.set_loss_percent(LossPercent(added.lost(), added.datagrams()));
      ToProto(absl::Milliseconds(jitter_ms / static_cast<double>(streams.size())),
              added.mutable_jitter());
      sum = &added;
    }
    if (streams.size() <= 1) sum = nullptr;  // iperf3: [SUM] only with -P > 1
    if (streams.empty() && sum == nullptr) {
      // Only the agent's sums came: print them as the one stream.
      for (const v1::ThroughputTotals& t : summary.totals()) {
        if (t.agent_sends() == agent_sends) streams.push_back(&t);
      }
    }
    if (sum != nullptr) streams.push_back(sum);
    for (const v1::ThroughputTotals* t : streams) {
      const uint32_t id = t == sum ? 0 : t->stream_id();
      const double seconds = t->seconds();
      if (!sender_known) {
        absl::StrAppendFormat(&out, "[%3s] (sender statistics not available)\n",
                              id == 0 ? "SUM" : absl::StrCat(id));
      } else if (udp_) {
        absl::StrAppend(&out,
                        Lead(id, role, 0, seconds, static_cast<double>(t->sender_bytes()),
                             t->sender_bits_per_second()),
                        UdpLoss(0, 0, t->datagrams(), 0), "  sender\n");
        if (t->out_of_order() > 0) {
          absl::StrAppendFormat(
              &out, "%s%s %4.1f-%4.1f sec  %d datagrams received out-of-order\n", Id(id),
              role, 0.0, seconds, t->out_of_order());
        }
      } else {
        absl::StrAppend(&out,
                        Lead(id, role, 0, seconds, static_cast<double>(t->sender_bytes()),
                             t->sender_bits_per_second()),
                        t->retransmits() >= 0
                            ? absl::StrFormat("  %3d             ", t->retransmits())
                            : std::string(18, ' '),
                        "sender\n");
      }
      if (!receiver_known) {
        absl::StrAppendFormat(&out, "[%3s] (receiver statistics not available)\n",
                              id == 0 ? "SUM" : absl::StrCat(id));
        continue;
      }
      absl::StrAppend(&out,
                      Lead(id, role, 0, seconds, static_cast<double>(t->receiver_bytes()),
                           t->receiver_bits_per_second()),
                      udp_ ? UdpLoss(JitterMs(t->jitter()), t->lost(), t->datagrams(),
                                     t->loss_percent())
                           : std::string(16, ' '),
                      "  receiver\n");
    }
  }
  // iperf3 -V's CPU line (and -V --bidir's two), both ends' share of the
  // test's time.
  const auto cpu = [&](bool local_sends) {
    std::string line =
        absl::StrFormat("CPU Utilization: local/%s %.1f%% (%.1f%%u/%.1f%%s)",
                        local_sends ? "sender" : "receiver", summary.local_cpu_total(),
                        summary.local_cpu_user(), summary.local_cpu_system());
    if (remote) {
      absl::StrAppendFormat(&line, ", remote/%s %.1f%% (%.1f%%u/%.1f%%s)",
                            local_sends ? "receiver" : "sender",
                            summary.remote_cpu_total(), summary.remote_cpu_user(),
                            summary.remote_cpu_system());
    }
    return line + "\n";
  };
  for (const v1::ThroughputTotals& t : summary.totals()) {
    if (t.stream_id() == 0 && t.not_sent() > 0) {
      absl::StrAppendFormat(&out,
                            "Socket buffer full: the agent's kernel refused %d sends, "
                            "which waited: the sender fell behind its bitrate\n",
                            t.not_sent());
    }
  }
  absl::StrAppend(&out, cpu(any_sender));
  if (bidir) absl::StrAppend(&out, cpu(false));
  if (!udp_) {
    // iperf3 -V: the sender's and the receiver's congestion control.
    for (const bool agent_sends : {true, false}) {
      if (!(agent_sends ? any_sender : any_receiver)) continue;
      const std::string& snd =
          agent_sends ? local_congestion_ : summary.remote_congestion();
      const std::string& rcv =
          agent_sends ? summary.remote_congestion() : local_congestion_;
      if (!snd.empty()) absl::StrAppend(&out, "snd_tcp_congestion ", snd, "\n");
      if (!rcv.empty()) absl::StrAppend(&out, "rcv_tcp_congestion ", rcv, "\n");
    }
  }
  absl::StrAppend(&out, LimitLines(summary));
  return out;
}

}  // namespace netprobe::client
