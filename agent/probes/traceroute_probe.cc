#include "agent/probes/traceroute_probe.h"

#include <errno.h>
#include <sys/epoll.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "agent/net/icmp.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

uint32_t TraceToken() {
  std::random_device device;
  return device();
}

absl::Time KernelOrUser(absl::Time kernel, absl::Time user) {
  return kernel != absl::InfinitePast() ? kernel : user;
}

bool SameAddress(const SocketAddress& a, const SocketAddress& b) {
  return a.valid() && b.valid() && a.family() == b.family() && a.ip() == b.ip();
}

// An ICMP error that ends a trace where it comes from: destination
// unreachable (v4 type 3, v6 type 1), as traceroute stops at !N !H !X.
bool IsUnreachable(bool v6, uint8_t type) { return v6 ? type == 1 : type == 3; }

}  // namespace

TracerouteProbe::TracerouteProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(TraceToken()) {}

TracerouteProbe::~TracerouteProbe() { Release(); }

void TracerouteProbe::Start() {
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void TracerouteProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  target_ = *address;
  target_.set_port(plan_.method == TraceroutePlan::Method::kUdp ? plan_.port : 0);
  if (plan_.setup.source && plan_.setup.source->family() != target_.family()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "target: ", plan_.host, " is ", target_.ip(),
        ", not of the family of options.source_address ", plan_.setup.source->ip())));
  }
  absl::StatusOr<uint32_t> payload = plan_.PayloadSize(target_.family());
  if (!payload.ok()) return Fail(payload.status());
  payload_size_ = *payload;
  const uint32_t hops = plan_.hops();
  attempts_.resize(plan_.attempts());
  hops_.resize(static_cast<size_t>(hops) * plan_.flows);
  cursor_.assign(static_cast<size_t>(plan_.flows) * plan_.probes_per_hop, 0);
  flows_.resize(plan_.flows);
  for (Flow& flow : flows_) flow.end = hops;
  if (absl::Status opened = OpenSockets(); !opened.ok()) return Fail(opened);
  Pacer::Options pacing;
  // A pacer target per (hop, flow), in TTL order; its attempts are the
  // probes of that hop: round after round, every TTL at once.
  pacing.targets = static_cast<size_t>(hops) * plan_.flows;
  pacing.count = plan_.probes_per_hop;
  pacing.interval = absl::ZeroDuration();
  pacing.rate = plan_.rate;
  pacing.budgets = plan_.admission.budgets;
  pacing.max_burst = Pacer::kSharedSocketBurst;
  pacing.spread = false;
  pacer_.emplace(
      loop_, std::move(pacing), [this](size_t) { return MaySend(); },
      [this](size_t target, uint32_t sequence) { Send(target, sequence); });
  pacer_->Start();
  CheckFinished();
}

absl::Status TracerouteProbe::OpenSockets() {
  const int af = target_.family();
  if (plan_.method == TraceroutePlan::Method::kIcmp) {
    const uint16_t id = static_cast<uint16_t>(token_ ^ (token_ >> 16));
    NETPROBE_ASSIGN_OR_RETURN(icmp_, loop_->sockets()->OpenIcmp(af, id, plan_.setup));
    for (uint32_t f = 0; f < plan_.flows; ++f) {
      // The flow's constant checksum, as the first probe of it shows.
      absl::StatusOr<std::vector<uint8_t>> probe =
          icmp::BuildConstantChecksumEchoRequest(af == AF_INET6, icmp_->id(), 0, token_,
                                                 static_cast<uint16_t>(f), payload_size_);
      if (!probe.ok()) return probe.status();
      const std::vector<uint8_t>& m = *probe;
      flows_[f].flow_id =
          af == AF_INET6 ? icmp::Checksum(m) : static_cast<uint32_t>(m[2] << 8 | m[3]);
    }
    return loop_->Watch(icmp_->fd(), EPOLLIN,
                        [this](uint32_t events) { OnIcmpReady(events); });
  }
  for (uint32_t f = 0; f < plan_.flows; ++f) {
    Flow& flow = flows_[f];
    NETPROBE_ASSIGN_OR_RETURN(flow.udp, loop_->sockets()->OpenUdp(af, plan_.setup));
    // Connected: the source port is fixed (the flow) and only this target's
    // errors reach the socket. When the route refuses even the connect, the
    // probes go unconnected, each reporting the kernel's refusal.
    flow.unconnected = !flow.udp->Connect(target_).ok();
    if (absl::StatusOr<SocketAddress> local = flow.udp->LocalAddress(); local.ok()) {
      flow.flow_id = local->port();
    }
    NETPROBE_RETURN_IF_ERROR(loop_->Watch(
        flow.udp->fd(), EPOLLIN, [this, f](uint32_t events) { OnUdpReady(f, events); }));
  }
  return absl::OkStatus();
}

// The pacer's gate: pause while the client reads slowly, and keep 16-bit
// sequences unambiguous.
bool TracerouteProbe::MaySend() {
  if (!Writable()) {
    WhenWritable([this] {
      pacer_->Pump();
      CheckFinished();
    });
    return false;
  }
  return in_flight_.size() < kMaxInFlight;
}

void TracerouteProbe::Send(size_t pacer_target, uint32_t sequence) {
  const uint32_t hop = static_cast<uint32_t>(pacer_target / plan_.flows);
  const uint32_t flow = static_cast<uint32_t>(pacer_target % plan_.flows);
  const uint32_t probe = sequence - 1;
  const size_t index = IndexOf(hop, flow, probe);
  Attempt& attempt = attempts_[index];
  if (hop > flows_[flow].end) {  // beyond where the trace ended
    attempt.state = Attempt::State::kSkipped;
    CheckFinished();
    return;
  }
  const int ttl = static_cast<int>(plan_.first_ttl + hop);
  const uint32_t wire = next_wire_++;
  const bool v6 = target_.family() == AF_INET6;
  attempt.user_sent = loop_->clock()->Wall();
  int err = 0;
  if (icmp_ != nullptr) {
    absl::StatusOr<std::vector<uint8_t>> message = icmp::BuildConstantChecksumEchoRequest(
        v6, icmp_->id(), static_cast<uint16_t>(wire), token_, static_cast<uint16_t>(flow),
        payload_size_);
    err = message.ok() ? icmp_->SendWithTtl(*message, target_, ttl) : EINVAL;
    if (err == 0) icmp_tx_.Sent(static_cast<uint32_t>(index));
  } else {
    Flow& f = flows_[flow];
    const std::vector<uint8_t> payload = icmp::BuildPayload(token_, wire, payload_size_);
    err = f.udp->SendWithTtl(payload, ttl, f.unconnected ? &target_ : nullptr);
    if (err == 0) f.tx.Sent(static_cast<uint32_t>(index));
  }
  if (err == 0) TrafficCounters::Get().Sent(SendingProbe::kTraceroute);
  ++hops_[static_cast<size_t>(hop) * plan_.flows + flow].sent;
  if (err != 0) {
    // Refused at once by the kernel (no route, a local filter, ...).
    v1::TracerouteReply reply;
    NewReply(index, &reply);
    *reply.mutable_result() = ResultFromErrno(err);
    attempt.state = Attempt::State::kInFlight;
    Done(index, std::move(reply));
    CheckFinished();
    return;
  }
  attempt.state = Attempt::State::kInFlight;
  attempt.wire = icmp_ != nullptr ? (wire & 0xffff) : wire;
  attempt.timer = loop_->RunAfter(plan_.wait, [this, index] { OnTimeout(index); });
  in_flight_[attempt.wire] = index;
}

void TracerouteProbe::OnUdpReady(uint32_t flow, uint32_t events) {
  if (events & EPOLLERR) HandleUdpErrorQueue(flow);
  DatagramSocket::Received datagram;
  for (int i = 0; i < 1024 && !finished(); ++i) {
    const int err = flows_[flow].udp->Receive(&datagram, 0);
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0) {
      HandleUdpErrorQueue(flow);  // a pending ICMP error; its entry says which
      continue;
    }
    ++unmatched_;  // a datagram from the target: traceroute ignores them too
  }
  if (!finished() && (events & EPOLLERR)) HandleUdpErrorQueue(flow);
  if (!finished()) pacer_->Pump();
  CheckFinished();
}

void TracerouteProbe::HandleUdpErrorQueue(uint32_t flow) {
  ErrorQueueEntry entry;
  Flow& f = flows_[flow];
  for (int i = 0; i < 4096 && !finished() && f.udp->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == ErrorQueueEntry::Kind::kTxTimestamp) {
      const std::optional<uint32_t> index = f.tx.Take(entry.tx_id);
      if (index) attempts_[*index].kernel_sent = entry.time;
      continue;
    }
    if (entry.kind != ErrorQueueEntry::Kind::kIcmpError) continue;
    // The entry holds our payload as far as the error quoted it.
    const icmp::PayloadHeader payload = icmp::ParsePayload(entry.request);
    if (!payload.token || *payload.token != token_ || !payload.sequence ||
        !entry.offender.valid()) {
      ++unmatched_;  // quotes too little to tell which probe (or not ours)
      continue;
    }
    Answer(*payload.sequence, entry.icmp_type, entry.icmp_code, false, entry.offender,
           entry.time);
  }
}

void TracerouteProbe::OnIcmpReady(uint32_t events) {
  if (events & EPOLLERR) HandleIcmpErrorQueue();
  IcmpSocket::Received packet;
  for (int i = 0; i < 4096 && !finished() && icmp_->Receive(&packet); ++i) {
    HandleIcmpPacket(packet);
  }
  if (finished()) return;
  if (events & EPOLLERR) HandleIcmpErrorQueue();
  pacer_->Pump();
  CheckFinished();
}

void TracerouteProbe::HandleIcmpErrorQueue() {
  IcmpSocket::ErrorEntry entry;
  for (int i = 0; i < 4096 && !finished() && icmp_->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == IcmpSocket::ErrorEntry::Kind::kTxTimestamp) {
      const std::optional<uint32_t> index = icmp_tx_.Take(entry.tx_id);
      if (index) attempts_[*index].kernel_sent = entry.time;
    } else if (entry.kind == IcmpSocket::ErrorEntry::Kind::kIcmpError) {
      // Ping sockets: the kernel hands back our request and the error.
      if (entry.request.size() < 8 || !entry.offender.valid()) {
        ++unmatched_;
        continue;
      }
      const icmp::PayloadHeader payload =
          icmp::ParsePayload(absl::MakeConstSpan(entry.request).subspan(8));
      if (payload.token && *payload.token != token_) continue;
      const uint16_t seq16 =
          static_cast<uint16_t>(entry.request[6] << 8 | entry.request[7]);
      Answer(seq16, entry.icmp_type, entry.icmp_code, false, entry.offender, entry.time);
    }
  }
}

void TracerouteProbe::HandleIcmpPacket(const IcmpSocket::Received& packet) {
  const bool v6 = icmp_->family() == AF_INET6;
  absl::StatusOr<icmp::ParsedIcmp> parsed =
      icmp_->kind() == IcmpSocket::Kind::kDatagram
          ? icmp::ParseDatagramEchoReply(v6, packet.data)
          : (v6 ? icmp::ParseIcmpV6(packet.data) : icmp::ParseIcmpV4(packet.data));
  if (!parsed.ok()) {
    ++unmatched_;
    return;
  }
  switch (parsed->kind) {
    case icmp::ParsedIcmp::Kind::kEchoReply: {
      const icmp::EchoReply& reply = parsed->reply;
      if (reply.id != icmp_->id()) return;
      if (reply.payload.token && *reply.payload.token != token_) return;
      Answer(reply.sequence16, v6 ? icmp::kEchoReplyV6 : icmp::kEchoReplyV4, 0, true,
             packet.from, packet.kernel_time);
      return;
    }
    case icmp::ParsedIcmp::Kind::kError: {
      const icmp::QuotedEchoError& error = parsed->error;
      if (error.id != icmp_->id()) return;
      if (error.payload.token && *error.payload.token != token_) return;
      Answer(error.sequence16, error.type, error.code, false, packet.from,
             packet.kernel_time);
      return;
    }
    case icmp::ParsedIcmp::Kind::kOther:
      return;
  }
}

void TracerouteProbe::Answer(uint32_t wire, uint8_t type, uint8_t code, bool echo_reply,
                             const SocketAddress& from, absl::Time kernel_received) {
  auto it = in_flight_.find(wire);
  if (it == in_flight_.end()) {
    ++unmatched_;  // late (after its wait), or beyond the trace's end
    return;
  }
  const size_t index = it->second;
  in_flight_.erase(it);
  Attempt& attempt = attempts_[index];
  loop_->Cancel(attempt.timer);
  attempt.timer = 0;
  const bool v6 = target_.family() == AF_INET6;
  const absl::Time sent = KernelOrUser(attempt.kernel_sent, attempt.user_sent);
  const absl::Time received = KernelOrUser(kernel_received, loop_->clock()->Wall());
  const absl::Duration rtt = std::max(received - sent, absl::ZeroDuration());
  v1::TracerouteReply reply;
  NewReply(index, &reply);
  const bool from_target = SameAddress(from, target_);
  if (echo_reply) {
    v1::AttemptResult* result = reply.mutable_result();
    result->set_outcome(v1::OUTCOME_OK);
    result->set_detail("Echo Reply");
    result->set_reported_by(from.ip());
    result->set_icmp_type(type);
    result->set_icmp_code(code);
  } else {
    *reply.mutable_result() = ResultFromIcmpError(v6, type, code, from.ip());
  }
  reply.set_address(from.ip());
  ToProto(rtt, reply.mutable_rtt());
  reply.set_reached(from_target && (echo_reply || IsUnreachable(v6, type)));
  const size_t hop = index / (static_cast<size_t>(plan_.flows) * plan_.probes_per_hop);
  const uint32_t flow = reply.flow();
  Hop& h = hops_[hop * plan_.flows + flow];
  ++h.received;
  h.rtt.Add(rtt);
  if (std::find(h.addresses.begin(), h.addresses.end(), from.ip()) == h.addresses.end()) {
    h.addresses.push_back(from.ip());
  }
  Done(index, std::move(reply));
  CheckFinished();
}

void TracerouteProbe::OnTimeout(size_t index) {
  Attempt& attempt = attempts_[index];
  if (finished() || attempt.state != Attempt::State::kInFlight) return;
  attempt.timer = 0;
  in_flight_.erase(attempt.wire);
  v1::TracerouteReply reply;
  NewReply(index, &reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.wait)));
  Done(index, std::move(reply));
  pacer_->Pump();
  CheckFinished();
}

void TracerouteProbe::Done(size_t index, v1::TracerouteReply reply) {
  Attempt& attempt = attempts_[index];
  attempt.state = Attempt::State::kDone;
  const uint32_t flow = reply.flow(), probe = reply.probe();
  attempt.reply = std::move(reply);
  Advance(flow, probe);
}

void TracerouteProbe::Advance(uint32_t flow, uint32_t probe) {
  uint32_t& cursor = cursor_[static_cast<size_t>(flow) * plan_.probes_per_hop + probe];
  while (cursor < plan_.hops() && cursor <= flows_[flow].end) {
    Attempt& attempt = attempts_[IndexOf(cursor, flow, probe)];
    if (attempt.state != Attempt::State::kDone) return;
    const v1::TracerouteReply& reply = attempt.reply;
    const v1::Outcome outcome = reply.result().outcome();
    const bool ends = reply.reached() || outcome == v1::OUTCOME_NET_UNREACHABLE ||
                      outcome == v1::OUTCOME_HOST_UNREACHABLE ||
                      outcome == v1::OUTCOME_PROHIBITED;
    if (reply.reached()) hops_[cursor * plan_.flows + flow].reached = true;
    v1::TracerouteEvent event;
    *event.mutable_reply() = std::move(attempt.reply);
    attempt.reply.Clear();
    Emit(std::move(event));
    if (finished()) return;
    if (ends && outcome != v1::OUTCOME_ERROR) EndFlowAt(flow, cursor);
    ++cursor;
  }
}

void TracerouteProbe::EndFlowAt(uint32_t flow, uint32_t end) {
  if (end >= flows_[flow].end) return;
  flows_[flow].end = end;
  // Probes beyond the end: not sent any more; in flight, dropped unreported
  // (their hops are not part of the trace), and not counted.
  for (uint32_t hop = end + 1; hop < plan_.hops(); ++hop) {
    for (uint32_t probe = 0; probe < plan_.probes_per_hop; ++probe) {
      Attempt& attempt = attempts_[IndexOf(hop, flow, probe)];
      if (attempt.state == Attempt::State::kInFlight) Forget(attempt);
      if (attempt.state != Attempt::State::kUnsent)
        attempt.state = Attempt::State::kSkipped;
    }
  }
}

void TracerouteProbe::Forget(Attempt& attempt) {
  loop_->Cancel(attempt.timer);
  attempt.timer = 0;
  in_flight_.erase(attempt.wire);
}

void TracerouteProbe::CheckFinished() {
  if (finished() || !pacer_) return;
  for (uint32_t flow = 0; flow < plan_.flows; ++flow) {
    const uint32_t last = std::min(flows_[flow].end, plan_.hops() - 1);
    for (uint32_t probe = 0; probe < plan_.probes_per_hop; ++probe) {
      if (cursor_[static_cast<size_t>(flow) * plan_.probes_per_hop + probe] <= last) {
        return;
      }
    }
  }
  Complete();
}

void TracerouteProbe::NewReply(size_t index, v1::TracerouteReply* reply) const {
  const size_t per_hop = static_cast<size_t>(plan_.flows) * plan_.probes_per_hop;
  const uint32_t hop = static_cast<uint32_t>(index / per_hop);
  const uint32_t flow = static_cast<uint32_t>(index % per_hop / plan_.probes_per_hop);
  FillTarget(reply->mutable_target());
  reply->set_ttl(plan_.first_ttl + hop);
  reply->set_flow(flow);
  reply->set_probe(static_cast<uint32_t>(index % plan_.probes_per_hop));
  reply->set_flow_id(flows_[flow].flow_id);
  ToProto(attempts_[index].user_sent, reply->mutable_time());
}

void TracerouteProbe::FillTarget(v1::Endpoint* out) const {
  out->set_host(plan_.host);
  if (target_.valid()) {
    out->set_address(target_.ip());
    out->set_port(target_.port());
    out->set_family(target_.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                 : v1::ADDRESS_FAMILY_IPV4);
  }
}

void TracerouteProbe::AppendSummaries(std::vector<v1::TracerouteEvent>* out) {
  if (unmatched_ > 0) {
    LogLine(absl::StrCat("traceroute ", plan_.host, ": ", unmatched_,
                         " answers matched no probe in flight"));
  }
  uint32_t reached_ttl = 0;
  uint64_t sent = 0, received = 0;  // of the hops reported
  for (uint32_t flow = 0; flow < flows_.size(); ++flow) {
    const uint32_t last = std::min(flows_[flow].end, plan_.hops() - 1);
    for (uint32_t hop = 0; hop <= last; ++hop) {
      const Hop& h = hops_[static_cast<size_t>(hop) * plan_.flows + flow];
      if (h.sent == 0) continue;
      v1::TracerouteEvent event;
      v1::TracerouteHop* out_hop = event.mutable_hop();
      out_hop->set_ttl(plan_.first_ttl + hop);
      out_hop->set_flow(flow);
      for (const std::string& a : h.addresses) out_hop->add_addresses(a);
      out_hop->set_sent(h.sent);
      out_hop->set_received(h.received);
      out_hop->set_loss_percent(100.0 * static_cast<double>(h.sent - h.received) /
                                static_cast<double>(h.sent));
      h.rtt.Fill(out_hop->mutable_rtt());
      out_hop->set_reached(h.reached);
      sent += h.sent;
      received += h.received;
      if (h.reached && (reached_ttl == 0 || plan_.first_ttl + hop < reached_ttl)) {
        reached_ttl = plan_.first_ttl + hop;
      }
      out->push_back(std::move(event));
    }
  }
  v1::TracerouteEvent event;
  v1::TracerouteSummary* summary = event.mutable_summary();
  FillTarget(summary->mutable_target());
  summary->set_reached_ttl(reached_ttl);
  summary->set_sent(sent);
  summary->set_received(received);
  summary->set_unmatched(unmatched_);
  out->push_back(std::move(event));
}

std::string TracerouteProbe::CutShortDetail() const {
  return "probes in flight are counted as sent and lost";
}

void TracerouteProbe::Release() {
  if (pacer_) pacer_->Stop();
  for (Attempt& attempt : attempts_) {
    if (attempt.timer != 0) loop_->Cancel(attempt.timer);
    attempt.timer = 0;
  }
  in_flight_.clear();
  if (icmp_ != nullptr) {
    loop_->Unwatch(icmp_->fd());
    icmp_.reset();
  }
  for (Flow& flow : flows_) {
    if (flow.udp != nullptr) {
      loop_->Unwatch(flow.udp->fd());
      flow.udp.reset();
    }
  }
}

}  // namespace netprobe
