#include "agent/probes/throughput_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/probes/flow_capture.h"
#include "agent/probes/tcp_info.h"
#include "agent/probes/throughput_limit.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

using Direction = ThroughputPlan::Direction;

iperf3::TestParams ParamsOf(const ThroughputPlan& plan) {
  iperf3::TestParams p;
  p.udp = plan.udp;
  p.omit_seconds = absl::ToDoubleSeconds(plan.omit);
  p.time_seconds = absl::ToDoubleSeconds(plan.duration);
  p.bytes = plan.bytes;
  p.mss = static_cast<int>(plan.mss);
  p.nodelay = plan.setup.tcp_nodelay;
  p.parallel = static_cast<int>(plan.parallel);
  p.reverse = plan.direction == Direction::kReceive;
  p.bidirectional = plan.direction == Direction::kBoth;
  p.window = static_cast<int>(plan.window);
  // 0: iperf3's defaults, which the session fills in (TCP 128 KiB; UDP the
  // control connection's MSS, so a datagram fills a packet).
  p.length = static_cast<int>(plan.length);
  p.bandwidth = plan.bitrate;
  p.tos = plan.setup.tos.value_or(0);
  p.congestion = plan.congestion;
  return p;
}

double Bps(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds : 0;
}

const iperf3::StreamResult* FindStream(const iperf3::TestResults& results, int id) {
  for (const iperf3::StreamResult& s : results.streams) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

void Accumulate(const v1::ThroughputTotals& t, v1::ThroughputTotals* sum) {
  sum->set_sender_bytes(sum->sender_bytes() + t.sender_bytes());
  sum->set_receiver_bytes(sum->receiver_bytes() + t.receiver_bytes());
  sum->set_seconds(std::max(sum->seconds(), t.seconds()));
  if (t.retransmits() >= 0) {
    sum->set_retransmits(std::max<int64_t>(sum->retransmits(), 0) + t.retransmits());
  }
  sum->set_datagrams(sum->datagrams() + t.datagrams());
  sum->set_not_sent(sum->not_sent() + t.not_sent());
  sum->set_lost(sum->lost() + t.lost());
  sum->set_out_of_order(sum->out_of_order() + t.out_of_order());
}

}  // namespace

ThroughputProbe::ThroughputProbe(ThroughputPlan plan, EventLoop* loop, BlockingWork work,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)) {}

ThroughputProbe::~ThroughputProbe() { Release(); }

size_t ThroughputProbe::MaxEventsBeyondHighWater(const ThroughputPlan& plan) {
  // One event per stream and interval, the sums, and the closing ones.
  return 4 * (plan.parallel * 2 + 2) + 8 +
         (plan.capture ? ProbeCapture::kEventsBeyondHighWater : 0);
}

void ThroughputProbe::Start() {
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void ThroughputProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  target_ = *address;
  target_.set_port(plan_.port);
  iperf3::ClientSpec spec;
  spec.server = target_;
  spec.params = ParamsOf(plan_);
  spec.data_setup = plan_.setup;
  spec.data_setup.congestion = plan_.congestion;
  if (plan_.mss != 0) spec.data_setup.mss = static_cast<int>(plan_.mss);
  if (plan_.source_port != 0) {
    SocketAddress source = plan_.setup.source.value_or(
        *SocketAddress::FromLiteral(target_.family() == AF_INET6 ? "::" : "0.0.0.0"));
    source.set_port(plan_.source_port);
    spec.data_setup.source = source;
  }
  spec.control_setup.interface = plan_.setup.interface;
  spec.control_setup.source = plan_.setup.source;
  spec.control_setup.mark = plan_.setup.mark;
  iperf3::ClientSession::Callbacks callbacks;
  callbacks.on_running = [this] { OnRunning(); };
  callbacks.on_omit_over = [this] { OnOmitOver(); };
  callbacks.on_test_end = [this] { OnTestEnd(); };
  callbacks.on_done = [this](iperf3::ClientSession::Outcome o) { OnDone(std::move(o)); };
  session_ = std::make_unique<iperf3::ClientSession>(loop_, std::move(spec),
                                                     std::move(callbacks));
  if (!plan_.capture) return session_->Start();
  // The control connection opens once the capture sees the test's packets:
  // TCP (control, TCP data) and UDP (UDP data) with the server's host:port.
  std::string filter = FlowCaptureFilter(IPPROTO_TCP, {target_});
  if (plan_.udp)
    absl::StrAppend(&filter, " or ", FlowCaptureFilter(IPPROTO_UDP, {target_}));
  StartCapture(
      *plan_.capture, work_, std::move(filter),
      [this](const CapturedIp& ip) { return ClassifyCaptured(ip); },
      [this] { session_->Start(); });
}

namespace {

uint16_t LocalPortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace

void ThroughputProbe::LearnCapturePorts() {
  if (session_ == nullptr) return;
  if (!capture_control_known_) {
    if (const uint16_t port = LocalPortOf(session_->control_fd()); port != 0) {
      capture_control_known_ = true;
      capture_ports_[port] = {1, "throughput control"};
      NoteCapture(1, "throughput control");
    }
  }
  const auto& streams = session_->streams();
  for (; capture_streams_known_ < streams.size(); ++capture_streams_known_) {
    const iperf3::DataStream& stream = *streams[capture_streams_known_];
    const uint16_t port = LocalPortOf(stream.fd());
    if (port == 0) break;  // not bound yet: learnt on a later packet
    const uint64_t key = 1 + static_cast<uint64_t>(stream.id());
    std::string comment = absl::StrCat("throughput stream ", stream.id(), " data");
    capture_ports_[port] = {key, comment};
    NoteCapture(key, std::move(comment));
  }
}

std::optional<ProbeCapture::Match> ThroughputProbe::ClassifyCaptured(
    const CapturedIp& ip) {
  std::optional<CapturedFlow> flow = ParseCapturedFlow(ip, IPPROTO_TCP);
  if (!flow && plan_.udp) flow = ParseCapturedFlow(ip, IPPROTO_UDP);
  if (!flow) return std::nullopt;
  const uint16_t local = LocalPortTowards(*flow, target_);
  if (local == 0) return std::nullopt;
  auto it = capture_ports_.find(local);
  if (it == capture_ports_.end() && session_ != nullptr &&
      (!capture_control_known_ || capture_streams_known_ < session_->streams().size())) {
    LearnCapturePorts();  // only while a socket of ours is still unknown
    it = capture_ports_.find(local);
  }
  if (it == capture_ports_.end()) return std::nullopt;
  return ProbeCapture::Match{it->second.first, it->second.second};
}

void ThroughputProbe::OnRunning() {
  // Every socket of the test is connected now, and open: their ports, before
  // the ring hands over their packets (a short test may have closed them by
  // then).
  if (capturing()) LearnCapturePorts();
  started_ = loop_->Now();
  last_sample_ = *started_;
  omitting_ = plan_.omit > absl::ZeroDuration();
  if (!omitting_) measured_from_ = started_;
  v1::ThroughputEvent event;
  v1::ThroughputStarted* started = event.mutable_started();
  ToProto(loop_->clock()->Wall(), started->mutable_time());
  started->mutable_target()->set_host(plan_.host);
  started->mutable_target()->set_port(plan_.port);
  started->mutable_target()->set_address(target_.ip());
  started->set_congestion(plan_.congestion);
  streams_.assign(session_->streams().size(), StreamState{});
  for (size_t i = 0; i < session_->streams().size(); ++i) {
    const iperf3::DataStream& s = *session_->streams()[i];
    v1::ThroughputStream* out = started->add_streams();
    out->set_id(s.id());
    out->set_sender(s.sender());
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (getsockname(s.fd(), reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      SocketAddress address =
          SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&local), len);
      out->set_local_port(address.port());
      if (started->local_address().empty()) {
        started->set_local_address(address.ip());
      }
    }
    if (!plan_.udp && started->congestion().empty()) {
      char name[16] = {};
      socklen_t name_len = sizeof(name);
      if (getsockopt(s.fd(), IPPROTO_TCP, TCP_CONGESTION, name, &name_len) == 0) {
        started->set_congestion(std::string(name, strnlen(name, sizeof(name))));
      }
    }
    streams_[i].last = Read(s, nullptr);
    streams_[i].measured = streams_[i].last;
  }
  Emit(std::move(event));
  ArmInterval();
}

void ThroughputProbe::ArmInterval() {
  loop_->Cancel(interval_timer_);
  interval_timer_ = loop_->RunAt(last_sample_ + plan_.interval, [this] {
    interval_timer_ = 0;
    SampleInterval();
    ArmInterval();
  });
}

void ThroughputProbe::OnOmitOver() {
  // The last omitted interval ends here and the measured part starts. The
  // samples count from the streams' start (the session's counters since the
  // omitted seconds are for its result exchange).
  SampleInterval();
  omitting_ = false;
  measured_from_ = loop_->Now();
  for (size_t i = 0; i < streams_.size() && i < session_->streams().size(); ++i) {
    streams_[i].measured = Read(*session_->streams()[i], nullptr);
    streams_[i].last = streams_[i].measured;
  }
  last_sample_ = *measured_from_;
  ArmInterval();
}

void ThroughputProbe::OnTestEnd() {
  // The senders stop now; their sockets are still open for a last TCP_INFO.
  const absl::Duration now = loop_->Now();
  if (now - last_sample_ >= plan_.interval / 10) SampleInterval();
  ended_ = now;
  loop_->Cancel(interval_timer_);
  interval_timer_ = 0;
  for (size_t i = 0; i < streams_.size() && i < session_->streams().size(); ++i) {
    streams_[i].final = Read(*session_->streams()[i], nullptr);
    streams_[i].has_final = true;
  }
}

ThroughputProbe::Sample ThroughputProbe::Read(const iperf3::DataStream& stream,
                                              v1::TcpInfo* info) const {
  Sample s;
  s.bytes = stream.counters().total_bytes;
  if (stream.udp()) {
    if (stream.sender()) {
      s.datagrams = stream.counters().next_sequence - 1;
      s.not_sent = stream.not_sent_total();
    } else {
      s.datagrams = stream.udp_stats().datagrams();
      s.lost = stream.udp_stats().errors();
      s.out_of_order = static_cast<uint64_t>(stream.udp_stats().out_of_order());
    }
  }
  if (plan_.udp || stream.fd() < 0) return s;
  uint8_t raw[512];
  socklen_t len = sizeof(raw);
  if (getsockopt(stream.fd(), IPPROTO_TCP, TCP_INFO, raw, &len) != 0) return s;
  v1::TcpInfo decoded;
  DecodeTcpInfo(raw, len, &decoded);
  s.total_retrans = decoded.total_retrans();
  s.busy = FromProto(decoded.busy_time());
  s.rwnd_limited = FromProto(decoded.rwnd_limited());
  s.sndbuf_limited = FromProto(decoded.sndbuf_limited());
  if (info != nullptr) *info = std::move(decoded);
  return s;
}

double ThroughputProbe::Since(absl::Duration t) const {
  return started_ ? absl::ToDoubleSeconds(t - *started_) : 0;
}

void ThroughputProbe::SampleInterval() {
  if (!started_ || !session_ || finished()) return;
  const absl::Duration now = loop_->Now();
  if (now - last_sample_ < absl::Milliseconds(1)) return;
  const double seconds = absl::ToDoubleSeconds(now - last_sample_);
  const absl::Time wall = loop_->clock()->Wall();
  v1::ThroughputInterval sums[2];  // [agent receives, agent sends]
  int streams_of[2] = {0, 0};
  for (size_t i = 0; i < streams_.size() && i < session_->streams().size(); ++i) {
    const iperf3::DataStream& stream = *session_->streams()[i];
    v1::ThroughputEvent event;
    v1::ThroughputInterval* out = event.mutable_interval();
    const bool sender_tcp = stream.sender() && !plan_.udp;
    const Sample cur = Read(stream, sender_tcp ? out->mutable_tcp_info() : nullptr);
    const Sample& prev = streams_[i].last;
    out->set_stream_id(stream.id());
    out->set_sender(stream.sender());
    out->set_start(Since(last_sample_));
    out->set_end(Since(now));
    out->set_omitted(omitting_);
    out->set_bytes(cur.bytes >= prev.bytes ? cur.bytes - prev.bytes : cur.bytes);
    out->set_bits_per_second(Bps(out->bytes(), seconds));
    ToProto(wall, out->mutable_time());
    if (sender_tcp) {
      out->set_retransmits(cur.total_retrans - prev.total_retrans);
      ToProto(cur.busy - prev.busy, out->mutable_busy_time());
      ToProto(cur.rwnd_limited - prev.rwnd_limited, out->mutable_rwnd_limited());
      ToProto(cur.sndbuf_limited - prev.sndbuf_limited, out->mutable_sndbuf_limited());
    }
    if (plan_.udp) {
      out->set_datagrams(cur.datagrams - std::min(prev.datagrams, cur.datagrams));
      out->set_not_sent(cur.not_sent - std::min(prev.not_sent, cur.not_sent));
      if (!stream.sender()) {
        out->set_lost(cur.lost - prev.lost);
        out->set_out_of_order(cur.out_of_order -
                              std::min(prev.out_of_order, cur.out_of_order));
        ToProto(absl::Seconds(stream.udp_stats().jitter_seconds()),
                out->mutable_jitter());
      }
    }
    streams_[i].last = cur;
    v1::ThroughputInterval& sum = sums[stream.sender() ? 1 : 0];
    ++streams_of[stream.sender() ? 1 : 0];
    sum.set_bytes(sum.bytes() + out->bytes());
    sum.set_retransmits(sum.retransmits() + out->retransmits());
    sum.set_datagrams(sum.datagrams() + out->datagrams());
    sum.set_lost(sum.lost() + out->lost());
    sum.set_out_of_order(sum.out_of_order() + out->out_of_order());
    Emit(std::move(event));
  }
  if (plan_.parallel > 1) {
    for (int dir = 1; dir >= 0; --dir) {
      if (streams_of[dir] == 0) continue;
      v1::ThroughputEvent event;
      v1::ThroughputInterval* sum = event.mutable_interval();
      *sum = std::move(sums[dir]);
      sum->set_stream_id(0);
      sum->set_sender(dir == 1);
      sum->set_start(Since(last_sample_));
      sum->set_end(Since(now));
      sum->set_omitted(omitting_);
      sum->set_bits_per_second(Bps(sum->bytes(), seconds));
      ToProto(wall, sum->mutable_time());
      Emit(std::move(event));
    }
  }
  last_sample_ = now;
}

void ThroughputProbe::OnDone(iperf3::ClientSession::Outcome outcome) {
  if (finished()) return;
  if (!outcome.ran && !outcome.status.ok()) {
    // Nothing was measured: the far end refused, is not iperf3, is busy.
    error_ = std::string(outcome.status.message());
    outcome_ = std::move(outcome);
    return Complete();
  }
  if (started_) {
    // Ended without TEST_END (the far end went away): what was sampled last.
    if (!ended_) ended_ = last_sample_;
    for (StreamState& st : streams_) {
      if (!st.has_final) st.final = st.last;
    }
  }
  if (!outcome.status.ok()) error_ = std::string(outcome.status.message());
  outcome_ = std::move(outcome);
  Complete();
}

void ThroughputProbe::BeforeCutShort() {
  if (!started_ || finished()) return;
  SampleInterval();
  ended_ = loop_->Now();
  for (StreamState& st : streams_) {
    if (!st.has_final) st.final = st.last;
  }
  error_ = "cut short: the totals are what this end measured until then";
}

std::string ThroughputProbe::CutShortDetail() const {
  return "the test was stopped and its sockets closed";
}

void ThroughputProbe::Release() {
  if (interval_timer_ != 0) {
    loop_->Cancel(interval_timer_);
    interval_timer_ = 0;
  }
  if (session_) session_->Cancel();
}

void ThroughputProbe::AppendSummaries(std::vector<v1::ThroughputEvent>* out) {
  v1::ThroughputEvent event;
  v1::ThroughputSummary* summary = event.mutable_summary();
  ToProto(loop_->clock()->Wall(), summary->mutable_time());
  summary->mutable_target()->set_host(plan_.host);
  summary->mutable_target()->set_port(plan_.port);
  if (target_.family() != AF_UNSPEC) {
    summary->mutable_target()->set_address(target_.ip());
  }
  summary->set_error(error_);
  const iperf3::TestResults* local = outcome_ ? &outcome_->local : nullptr;
  const iperf3::TestResults* remote =
      outcome_ && outcome_->remote ? &*outcome_->remote : nullptr;
  summary->set_remote_results(remote != nullptr);
  if (local != nullptr) {
    summary->set_local_cpu_total(local->cpu_total);
    summary->set_local_cpu_user(local->cpu_user);
    summary->set_local_cpu_system(local->cpu_system);
  }
  if (remote != nullptr) {
    summary->set_remote_cpu_total(remote->cpu_total);
    summary->set_remote_cpu_user(remote->cpu_user);
    summary->set_remote_cpu_system(remote->cpu_system);
    summary->set_remote_congestion(remote->congestion_used);
  }
  double measured = started_ && ended_ && measured_from_
                        ? std::max(0.0, absl::ToDoubleSeconds(*ended_ - *measured_from_))
                        : 0;
  if (outcome_ && outcome_->ran && outcome_->measured > absl::ZeroDuration()) {
    measured = absl::ToDoubleSeconds(outcome_->measured);
  }
  v1::ThroughputTotals sums[2];
  bool any[2] = {false, false};
  // The far end's time per direction: its count's rate in the sums, as
  // iperf3's sum_received (sum_sent where it sends) is over its own time.
  double remote_seconds_of[2] = {0, 0};
  SenderTimes times;
  for (size_t i = 0; session_ && i < streams_.size() && i < session_->streams().size();
       ++i) {
    const iperf3::DataStream& stream = *session_->streams()[i];
    const StreamState& st = streams_[i];
    const iperf3::StreamResult* mine = local ? FindStream(*local, stream.id()) : nullptr;
    const iperf3::StreamResult* theirs =
        remote ? FindStream(*remote, stream.id()) : nullptr;
    const uint64_t local_bytes = mine ? mine->bytes : st.final.bytes - st.measured.bytes;
    const double remote_seconds = theirs && theirs->end_time > theirs->start_time
                                      ? theirs->end_time - theirs->start_time
                                      : measured;
    v1::ThroughputTotals t;
    t.set_stream_id(stream.id());
    t.set_agent_sends(stream.sender());
    t.set_seconds(measured);
    if (stream.sender()) {
      t.set_sender_bytes(local_bytes);
      t.set_sender_bits_per_second(Bps(local_bytes, measured));
      if (theirs) {
        t.set_receiver_bytes(theirs->bytes);
        t.set_receiver_bits_per_second(Bps(theirs->bytes, remote_seconds));
      }
      if (plan_.udp) {
        t.set_datagrams(st.final.datagrams - st.measured.datagrams);
        t.set_not_sent(st.final.not_sent - st.measured.not_sent);
        if (theirs) {
          t.set_lost(theirs->errors);
          ToProto(absl::Seconds(theirs->jitter_seconds), t.mutable_jitter());
        }
        t.set_retransmits(-1);
      } else {
        t.set_retransmits(st.final.total_retrans - st.measured.total_retrans);
        const absl::Duration busy = st.final.busy - st.measured.busy;
        const absl::Duration rwnd = st.final.rwnd_limited - st.measured.rwnd_limited;
        const absl::Duration sndbuf =
            st.final.sndbuf_limited - st.measured.sndbuf_limited;
        ToProto(busy, t.mutable_busy_time());
        ToProto(rwnd, t.mutable_rwnd_limited());
        ToProto(sndbuf, t.mutable_sndbuf_limited());
        const SenderTimes own{busy, rwnd, sndbuf, absl::Seconds(measured)};
        t.set_limited_by(JudgeLimit(own).limit);
        times.busy += busy;
        times.rwnd_limited += rwnd;
        times.sndbuf_limited += sndbuf;
        times.elapsed += absl::Seconds(measured);
      }
    } else {
      t.set_receiver_bytes(local_bytes);
      t.set_receiver_bits_per_second(Bps(local_bytes, measured));
      if (theirs) {
        t.set_sender_bytes(theirs->bytes);
        t.set_sender_bits_per_second(Bps(theirs->bytes, remote_seconds));
        t.set_retransmits(plan_.udp ? -1 : theirs->retransmits);
      } else {
        t.set_retransmits(-1);
      }
      if (plan_.udp) {
        // This end's counts since the omitted seconds: the sender's
        // datagrams are the highest sequence seen, as iperf3 counts them.
        t.set_datagrams(stream.udp_stats().packets_since_reset());
        t.set_lost(stream.udp_stats().errors_since_reset());
        t.set_out_of_order(
            static_cast<uint64_t>(stream.udp_stats().out_of_order_since_reset()));
        ToProto(absl::Seconds(stream.udp_stats().jitter_seconds()), t.mutable_jitter());
      }
    }
    if (plan_.udp && t.datagrams() > 0) {
      t.set_loss_percent(100.0 * static_cast<double>(t.lost()) /
                         static_cast<double>(t.datagrams()));
    }
    const int dir = stream.sender() ? 1 : 0;
    if (theirs) remote_seconds_of[dir] = std::max(remote_seconds_of[dir], remote_seconds);
    if (!any[dir]) {
      sums[dir].set_retransmits(-1);
      any[dir] = true;
    }
    Accumulate(t, &sums[dir]);
    if (plan_.udp) {
      // The sum's jitter: the streams' mean, as iperf3 reports it.
      const absl::Duration j = FromProto(t.jitter());
      ToProto(FromProto(sums[dir].jitter()) + j / static_cast<double>(plan_.parallel),
              sums[dir].mutable_jitter());
    }
    *summary->add_totals() = std::move(t);
  }
  for (int dir = 1; dir >= 0; --dir) {
    if (!any[dir]) continue;
    v1::ThroughputTotals& sum = sums[dir];
    sum.set_stream_id(0);
    sum.set_agent_sends(dir == 1);
    const double remote =
        remote_seconds_of[dir] > 0 ? remote_seconds_of[dir] : sum.seconds();
    sum.set_sender_bits_per_second(
        Bps(sum.sender_bytes(), dir == 1 ? sum.seconds() : remote));
    sum.set_receiver_bits_per_second(
        Bps(sum.receiver_bytes(), dir == 1 ? remote : sum.seconds()));
    if (plan_.udp && sum.datagrams() > 0) {
      sum.set_loss_percent(100.0 * static_cast<double>(sum.lost()) /
                           static_cast<double>(sum.datagrams()));
    }
    if (dir == 1 && !plan_.udp) {
      ToProto(times.busy, sum.mutable_busy_time());
      ToProto(times.rwnd_limited, sum.mutable_rwnd_limited());
      ToProto(times.sndbuf_limited, sum.mutable_sndbuf_limited());
      sum.set_limited_by(JudgeLimit(times).limit);
    }
    *summary->add_totals() = std::move(sum);
  }
  if (!plan_.udp && times.elapsed > absl::ZeroDuration()) {
    const LimitVerdict verdict = JudgeLimit(times);
    summary->set_limited_by(verdict.limit);
    summary->set_limit_detail(verdict.detail);
  } else if (started_ && !plan_.udp) {
    summary->set_limit_detail(
        "unknown here: the far end sent, and its TCP_INFO stays there (iperf3's "
        "protocol does not exchange it); run the test from the other end");
  }
  out->push_back(std::move(event));
}

}  // namespace netprobe
