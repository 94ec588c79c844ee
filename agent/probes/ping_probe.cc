#include "agent/probes/ping_probe.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/net/icmp.h"
#include "agent/net/random_token.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/attempt_sent.h"
#include "agent/probes/ping_capture.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

SocketAddress AddressFromBytes(const icmp::AddressBytes& bytes) {
  SocketAddress out;
  if (bytes.size() == 4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, bytes.data(), 4);
    out = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  } else if (bytes.size() == 16) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, bytes.data(), 16);
    out = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
  }
  return out;
}

// The address bytes (and an IPv6 scope), not ip()'s text: inet_ntop per reply
// (glibc formats IPv4 with sprintf; a scoped IPv6 address costs an
// if_indextoname) showed in the profile.
bool SameIp(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(b.get())->sin_addr,
                       sizeof(in_addr)) == 0;
  }
  if (a.family() == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(a.get());
    const auto* b6 = reinterpret_cast<const sockaddr_in6*>(b.get());
    return std::memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(in6_addr)) == 0 &&
           a6->sin6_scope_id == b6->sin6_scope_id;
  }
  return a.ip() == b.ip();
}

}  // namespace

PingProbe::PingProbe(PingPlan plan, EventLoop* loop, BlockingWork work,
                     std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(RandomToken()) {}

PingProbe::~PingProbe() { Release(); }

void PingProbe::Start() {
  targets_.resize(plan_.targets.size());
  unresolved_ = targets_.size();
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].host = plan_.targets[i];
    const std::string field = absl::StrCat("targets[", i, "]");
    ResolveOnLoop(
        work_, loop_, alive(), targets_[i].host, plan_.family, field,
        plan_.admission.AddressCheck(),
        [this, i](absl::StatusOr<SocketAddress> r) { OnResolved(i, std::move(r)); });
    if (finished()) return;
  }
}

void PingProbe::OnResolved(size_t target, absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  address->set_port(0);
  // The unspecified address names this host (the kernel delivers to it; its
  // replies come from loopback), so it is pinged as loopback, as iputils does.
  if (address->ip() == "0.0.0.0" || address->ip() == "::") {
    address = *SocketAddress::FromLiteral(
        address->family() == AF_INET ? "127.0.0.1" : "::1", 0);
  }
  targets_[target].address = *address;
  targets_[target].address_text = address->ip();
  if (--unresolved_ == 0) Begin();
}

void PingProbe::Begin() {
  // One socket per family in use, with one identifier for the request.
  const uint16_t id = static_cast<uint16_t>(token_ ^ (token_ >> 16));
  for (const Target& target : targets_) {
    Family& family = FamilyOf(target.address.family());
    if (family.socket != nullptr) continue;
    if (plan_.setup.source && plan_.setup.source->family() != target.address.family()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "targets: ", target.host, " is ", target.address.ip(),
          ", not of the family of options.source_address ", plan_.setup.source->ip())));
    }
    auto socket = loop_->sockets()->OpenIcmp(target.address.family(), id, plan_.setup);
    if (!socket.ok()) return Fail(socket.status());
    family.socket = *std::move(socket);
    family.tx.Reset();
    Family* f = &family;
    absl::Status watched =
        loop_->Watch(f->socket->fd(), EPOLLIN,
                     [this, f](uint32_t events) { OnSocketReady(*f, events); });
    if (!watched.ok()) return Fail(watched);
  }
  if (!plan_.capture) return StartPacing();
  // The first request leaves once the capture sees the probe's packets.
  PingCaptureScope scope;
  if (v4_.socket != nullptr) scope.id_v4 = v4_.socket->id();
  if (v6_.socket != nullptr) scope.id_v6 = v6_.socket->id();
  for (const Target& target : targets_) {
    std::vector<std::string>& list =
        target.address.family() == AF_INET6 ? scope.v6 : scope.v4;
    if (std::find(list.begin(), list.end(), target.address_text) == list.end()) {
      list.push_back(target.address_text);
    }
  }
  StartCapture(
      *plan_.capture, work_, PingCaptureFilter(scope),
      [this](const CapturedIp& ip) { return ClassifyCaptured(ip); },
      [this] { StartPacing(); });
}

void PingProbe::StartPacing() {
  Pacer::Options pacing;
  pacing.targets = targets_.size();
  pacing.count = plan_.count;
  pacing.interval = plan_.interval;
  pacing.rate = plan_.rate;
  pacing.budgets = plan_.admission.budgets;
  pacing.max_burst = Pacer::kSharedSocketBurst;  // every reply on one socket
  pacer_.emplace(
      loop_, std::move(pacing), [this](size_t target) { return MaySend(target); },
      [this](size_t target, uint32_t sequence) { Send(target, sequence); });
  pacer_->Start();
  CheckFinished();
}

// The pacer's gate: a writable sink (else pause until it drains) and room in
// the family's table (requests answered or timed out make room; they pump).
bool PingProbe::MaySend(size_t target) {
  if (!Writable()) {
    WhenWritable([this] {
      pacer_->Pump();
      CheckFinished();
    });
    return false;
  }
  return FamilyOf(targets_[target].address.family()).pending.size() < kMaxInFlight;
}

void PingProbe::Send(size_t index, uint32_t sequence) {
  Target& target = targets_[index];
  Family& family = FamilyOf(target.address.family());
  const uint32_t wire = family.next_wire_sequence++;
  const uint16_t seq16 = static_cast<uint16_t>(wire);
  const std::vector<uint8_t> message = icmp::BuildEchoRequest(
      target.address.family() == AF_INET6, family.socket->id(), wire, token_, plan_.size);
  const absl::Time now = loop_->clock()->Wall();
  if (plan_.report_sends) {
    v1::Endpoint endpoint;
    FillEndpoint(target, &endpoint);
    Emit(AttemptSentEvent<v1::PingEvent>(std::move(endpoint), sequence, now));
  }
  const int err = family.socket->Send(message, target.address);
  if (err == 0) TrafficCounters::Get().Sent(SendingProbe::kPing);
  if (err != 0) {
    // The kernel refused at once (no route, filtered locally, ...).
    v1::PingReply reply;
    FillEndpoint(target, reply.mutable_target());
    reply.set_sequence(sequence);
    *reply.mutable_result() = ResultFromErrno(err);
    ToProto(now, reply.mutable_time());
    target.tally.Record(reply.result().outcome());
    EmitReply(std::move(reply));
    CheckFinished();  // the last attempt may have failed at once
    return;
  }
  Pending pending;
  pending.target = index;
  pending.sequence = sequence;
  pending.wire_sequence = wire;
  pending.user_sent = now;
  family.tx.Sent(seq16);
  family.pending[seq16] = pending;
  family.deadlines.push_back(Deadline{loop_->Now() + plan_.timeout, wire, seq16});
  if (family.timeout_timer == 0) TrimDeadlines(family, /*arm=*/true);
}

void PingProbe::OnSocketReady(Family& family, uint32_t events) {
  // Transmit timestamps first, so replies find their requests' send times.
  if (events & EPOLLERR) HandleErrorQueue(family);
  // A burst's replies with one system call (recvmmsg). Bounded per round so
  // one busy socket cannot starve the loop.
  if (received_.empty()) received_.resize(IcmpSocket::kMaxReceiveBatch);
  for (size_t total = 0; total < 4096 && !finished();) {
    const size_t n = family.socket->ReceiveBatch(absl::MakeSpan(received_));
    for (size_t i = 0; i < n && !finished(); ++i) {
      const IcmpSocket::Received& packet = received_[i];
      if (packet.kernel_drops) {
        family.kernel_drops =
            std::max<uint64_t>(family.kernel_drops, *packet.kernel_drops);
      }
      HandlePacket(family, packet);
    }
    // Fewer than asked: the queue was empty (the socket polls readable again
    // when more come), so no read that only finds EAGAIN.
    if (n < received_.size()) break;
    total += n;
  }
  if (finished()) return;
  if (events & EPOLLERR) HandleErrorQueue(family);
  pacer_->Pump();
  CheckFinished();
}

void PingProbe::HandleErrorQueue(Family& family) {
  // A burst's transmit timestamps with one system call (recvmmsg).
  if (errors_.empty()) errors_.resize(kMaxErrorQueueBatch);
  for (size_t total = 0; total < 4096 && !finished();) {
    const size_t n = family.socket->ReadErrorQueueBatch(absl::MakeSpan(errors_));
    for (size_t i = 0; i < n && !finished(); ++i) HandleErrorEntry(family, errors_[i]);
    if (n < errors_.size()) break;
    total += n;
  }
}

void PingProbe::HandleErrorEntry(Family& family, const IcmpSocket::ErrorEntry& entry) {
  {
    if (entry.kind == IcmpSocket::ErrorEntry::Kind::kTxTimestamp) {
      const std::optional<uint16_t> seq16 = family.tx.Take(entry.tx_id);
      if (!seq16) return;
      auto it = family.pending.find(*seq16);
      if (it != family.pending.end()) it->second.kernel_sent = entry.time;
    } else if (entry.kind == IcmpSocket::ErrorEntry::Kind::kIcmpError &&
               entry.request.size() >= 8) {
      // Datagram sockets: the kernel hands back our request and the error.
      const uint16_t seq16 =
          static_cast<uint16_t>(entry.request[6] << 8 | entry.request[7]);
      const icmp::PayloadHeader payload =
          icmp::ParsePayload(absl::MakeConstSpan(entry.request).subspan(8));
      auto it = family.pending.find(seq16);
      if (it == family.pending.end()) return;
      const SocketAddress destination = targets_[it->second.target].address;
      FailAttempt(
          family, seq16, payload.sequence, destination,
          ResultFromIcmpError(family.socket->family() == AF_INET6, entry.icmp_type,
                              entry.icmp_code, entry.offender.ip()));
    }
  }
}

void PingProbe::HandlePacket(Family& family, const IcmpSocket::Received& packet) {
  const bool v6 = family.socket->family() == AF_INET6;
  absl::StatusOr<icmp::ParsedIcmp> parsed =
      family.socket->kind() == IcmpSocket::Kind::kDatagram
          ? icmp::ParseDatagramEchoReply(v6, packet.data)
          : (v6 ? icmp::ParseIcmpV6(packet.data) : icmp::ParseIcmpV4(packet.data));
  if (!parsed.ok()) {
    ++malformed_;
    return;
  }
  switch (parsed->kind) {
    case icmp::ParsedIcmp::Kind::kEchoReply: {
      const icmp::EchoReply& reply = parsed->reply;
      if (reply.id != family.socket->id()) return;
      if (reply.payload.token && *reply.payload.token != token_) return;
      const int ttl = packet.hop_limit >= 0 ? packet.hop_limit : reply.ttl;
      Answer(family, reply.sequence16, reply.payload.sequence, packet, ttl,
             reply.payload_size + 8, reply.payload.pattern_intact);
      return;
    }
    case icmp::ParsedIcmp::Kind::kError: {
      const icmp::QuotedEchoError& error = parsed->error;
      if (error.id != family.socket->id()) return;
      if (error.payload.token && *error.payload.token != token_) return;
      FailAttempt(family, error.sequence16, error.payload.sequence,
                  AddressFromBytes(error.quoted_destination),
                  ResultFromIcmpError(v6, error.type, error.code, packet.from.ip()));
      return;
    }
    case icmp::ParsedIcmp::Kind::kOther:
      return;
  }
}

void PingProbe::Answer(Family& family, uint16_t seq16, std::optional<uint32_t> wire,
                       const IcmpSocket::Received& packet, int ttl, size_t bytes,
                       bool intact) {
  auto it = family.pending.find(seq16);
  if (it == family.pending.end() || (wire && *wire != it->second.wire_sequence) ||
      !SameIp(packet.from, targets_[it->second.target].address)) {
    // Not in flight: a duplicate, a late answer, or not ours.
    auto found = family.recent.find(seq16);
    if (found == family.recent.end()) return;
    const Recent& recent = found->second;
    if (recent.state == Recent::State::kNone || (wire && *wire != recent.wire_sequence) ||
        !SameIp(packet.from, targets_[recent.target].address)) {
      return;
    }
    Target& target = targets_[recent.target];
    const uint64_t key = CaptureKey(family, recent.wire_sequence);
    if (recent.state == Recent::State::kTimedOut) {
      NoteCapture(key, absl::StrCat(CaptureLabel(recent.target, recent.sequence),
                                    " late reply (after its timeout)"));
      target.tally.RecordLate();
      return;
    }
    NoteCapture(key, absl::StrCat(CaptureLabel(recent.target, recent.sequence),
                                  " duplicate reply"));
    target.tally.RecordDuplicate();
    v1::PingReply reply;
    FillEndpoint(target, reply.mutable_target());
    reply.set_sequence(recent.sequence);
    reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
    reply.set_duplicate(true);
    reply.set_reply_ttl(ttl);
    reply.set_bytes(bytes);
    EmitReply(std::move(reply));
    return;
  }
  Pending pending = it->second;
  family.pending.erase(it);
  TrimDeadlines(family, /*arm=*/false);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kAnswered};
  Target& target = targets_[pending.target];
  const absl::Time sent = pending.kernel_sent != absl::InfinitePast()
                              ? pending.kernel_sent
                              : pending.user_sent;
  const absl::Time received = packet.kernel_time != absl::InfinitePast()
                                  ? packet.kernel_time
                                  : loop_->clock()->Wall();
  const absl::Duration rtt = std::max(received - sent, absl::ZeroDuration());
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
  ToProto(rtt, reply.mutable_rtt());
  reply.set_reply_ttl(ttl);
  reply.set_bytes(bytes);
  ToProto(pending.user_sent, reply.mutable_time());
  NoteCapture(CaptureKey(family, pending.wire_sequence),
              absl::StrCat(CaptureLabel(pending.target, pending.sequence), " reply ",
                           CaptureMs(rtt)));
  if (pending.sequence < target.highest_answered) {
    reply.set_out_of_order(true);
    target.tally.RecordReordered();
  }
  target.highest_answered = std::max(target.highest_answered, pending.sequence);
  if (!intact) {
    reply.set_corrupted(true);
    target.tally.RecordCorrupted();
  }
  target.tally.Record(v1::OUTCOME_OK, rtt);
  EmitReply(std::move(reply));
}

void PingProbe::FailAttempt(Family& family, uint16_t seq16, std::optional<uint32_t> wire,
                            const SocketAddress& quoted_destination,
                            v1::AttemptResult result) {
  auto it = family.pending.find(seq16);
  if (it == family.pending.end() || (wire && *wire != it->second.wire_sequence) ||
      !SameIp(quoted_destination, targets_[it->second.target].address)) {
    return;  // Quotes a request that is not (or no longer) ours in flight.
  }
  Pending pending = it->second;
  family.pending.erase(it);
  TrimDeadlines(family, /*arm=*/false);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kTimedOut};
  Target& target = targets_[pending.target];
  NoteCapture(CaptureKey(family, pending.wire_sequence),
              absl::StrCat(CaptureLabel(pending.target, pending.sequence), " ",
                           CaptureOutcome(result)));
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  ToProto(pending.user_sent, reply.mutable_time());
  target.tally.Record(result.outcome());
  *reply.mutable_result() = std::move(result);
  EmitReply(std::move(reply));
}

bool PingProbe::InFlight(const Family& family, const Deadline& deadline) {
  auto it = family.pending.find(deadline.sequence16);
  return it != family.pending.end() && it->second.wire_sequence == deadline.wire_sequence;
}

void PingProbe::TrimDeadlines(Family& family, bool arm) {
  std::deque<Deadline>& deadlines = family.deadlines;
  while (!deadlines.empty() && !InFlight(family, deadlines.front()))
    deadlines.pop_front();
  // Answers out of send order (a slow target among fast ones) leave settled
  // entries behind a pending front: bounded by compaction, amortized O(1).
  if (deadlines.size() > 64 && deadlines.size() > 4 * family.pending.size()) {
    std::deque<Deadline> live;
    for (const Deadline& deadline : deadlines) {
      if (InFlight(family, deadline)) live.push_back(deadline);
    }
    deadlines.swap(live);
  }
  if (!arm || family.timeout_timer != 0 || deadlines.empty()) return;
  Family* f = &family;
  family.timeout_timer = loop_->RunAt(deadlines.front().at, [this, f] {
    f->timeout_timer = 0;
    OnTimeouts(*f);
  });
}

void PingProbe::OnTimeouts(Family& family) {
  const absl::Duration now = loop_->Now();
  bool expired = false;
  while (!finished() && !family.deadlines.empty() && family.deadlines.front().at <= now) {
    const Deadline deadline = family.deadlines.front();
    family.deadlines.pop_front();
    expired |= Expire(family, deadline.sequence16, deadline.wire_sequence);
  }
  if (finished()) return;
  TrimDeadlines(family, /*arm=*/true);
  if (!expired) return;
  pacer_->Pump();
  CheckFinished();
}

bool PingProbe::Expire(Family& family, uint16_t seq16, uint32_t wire) {
  auto it = family.pending.find(seq16);
  if (it == family.pending.end() || it->second.wire_sequence != wire) return false;
  Pending pending = it->second;
  family.pending.erase(it);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kTimedOut};
  Target& target = targets_[pending.target];
  NoteCapture(CaptureKey(family, pending.wire_sequence),
              absl::StrCat(CaptureLabel(pending.target, pending.sequence), " timeout"));
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no reply within ", absl::FormatDuration(plan_.timeout)));
  ToProto(pending.user_sent, reply.mutable_time());
  target.tally.Record(v1::OUTCOME_TIMEOUT);
  EmitReply(std::move(reply));
  return true;
}

void PingProbe::EmitReply(v1::PingReply reply) {
  v1::PingEvent event;
  *event.mutable_reply() = std::move(reply);
  Emit(std::move(event));
}

void PingProbe::CheckFinished() {
  if (finished() || !pacer_ || !pacer_->exhausted()) return;
  if (!v4_.pending.empty() || !v6_.pending.empty()) return;
  Complete();
}

void PingProbe::AppendSummaries(std::vector<v1::PingEvent>* out) {
  if (malformed_ > 0) {
    LogLine(absl::StrCat("ping: ignored ", malformed_, " malformed ICMP packets"));
  }
  for (const Target& target : targets_) {
    v1::PingEvent event;
    v1::TargetSummary* summary = event.mutable_summary();
    FillEndpoint(target, summary->mutable_target());
    target.tally.Fill(summary);
    if (target.address.valid()) {
      summary->set_kernel_drops(FamilyOf(target.address.family()).kernel_drops);
    }
    out->push_back(std::move(event));
  }
}

void PingProbe::BeforeCutShort() {
  for (Family* family : {&v4_, &v6_}) {
    for (const auto& [seq, pending] : family->pending) {
      targets_[pending.target].tally.RecordUnanswered();
    }
  }
}

std::string PingProbe::CutShortDetail() const {
  return "requests in flight are counted as sent and lost";
}

void PingProbe::Release() {
  if (pacer_) pacer_->Stop();
  for (Family* family : {&v4_, &v6_}) {
    if (family->timeout_timer != 0) loop_->Cancel(family->timeout_timer);
    family->timeout_timer = 0;
    family->deadlines.clear();
    family->pending.clear();
    if (family->socket != nullptr) {
      loop_->Unwatch(family->socket->fd());
      family->socket.reset();
    }
  }
}

uint64_t PingProbe::CaptureKey(const Family& family, uint32_t wire_sequence) {
  const bool v6 = family.socket != nullptr && family.socket->family() == AF_INET6;
  return uint64_t{v6} << 32 | wire_sequence;
}

std::string PingProbe::CaptureLabel(size_t target, uint32_t sequence) const {
  if (targets_.size() == 1) return absl::StrCat("ping seq=", sequence);
  return absl::StrCat("ping ", targets_[target].address_text, " seq=", sequence);
}

std::optional<ProbeCapture::Match> PingProbe::ClassifyCaptured(const CapturedIp& ip) {
  const std::optional<PingPacket> packet = ParsePingPacket(ip);
  if (!packet) return std::nullopt;
  Family& family = FamilyOf(packet->v6 ? AF_INET6 : AF_INET);
  if (family.socket == nullptr || packet->id != family.socket->id()) return std::nullopt;
  if (packet->token && *packet->token != token_) return std::nullopt;
  // The attempt: in flight, or settled recently (the ring hands packets over
  // after the socket saw them).
  size_t target = 0;
  uint32_t sequence = 0, wire = 0;
  if (auto it = family.pending.find(packet->sequence16);
      it != family.pending.end() &&
      (!packet->wire_sequence || *packet->wire_sequence == it->second.wire_sequence)) {
    target = it->second.target;
    sequence = it->second.sequence;
    wire = it->second.wire_sequence;
  } else if (auto found = family.recent.find(packet->sequence16);
             found != family.recent.end() &&
             found->second.state != Recent::State::kNone &&
             (!packet->wire_sequence ||
              *packet->wire_sequence == found->second.wire_sequence)) {
    target = found->second.target;
    sequence = found->second.sequence;
    wire = found->second.wire_sequence;
  } else {
    return std::nullopt;
  }
  if (!SameIp(packet->target, targets_[target].address)) return std::nullopt;
  ProbeCapture::Match match;
  match.key = CaptureKey(family, wire);
  const char* what =
      packet->kind == PingPacket::Kind::kRequest ? " request, no reply by the end"
      : packet->kind == PingPacket::Kind::kReply ? " reply, after the end"
                                                 : " ICMP error, after the end";
  match.unmatched = absl::StrCat(CaptureLabel(target, sequence), what);
  return match;
}

void PingProbe::FillEndpoint(const Target& target, v1::Endpoint* out) const {
  out->set_host(target.host);
  if (target.address.valid()) {
    out->set_address(target.address_text);
    out->set_family(target.address.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                        : v1::ADDRESS_FAMILY_IPV4);
  }
}

}  // namespace netprobe
