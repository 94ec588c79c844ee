#include "agent/probes/ping_probe.h"
#include "agent/probes/traffic_counters.h"

#include <sys/epoll.h>

#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "agent/net/icmp.h"
#include "agent/net/monotonic_clock.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/proto_time.h"
#include "agent/probes/stream_end.h"
#include "agent/util/log.h"

namespace netprobe {
namespace {

uint32_t RandomToken() {
  std::random_device device;
  return device();
}

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

bool SameIp(const SocketAddress& a, const SocketAddress& b) {
  return a.family() == b.family() && a.ip() == b.ip();
}

}  // namespace

PingProbe::PingProbe(PingPlan plan, EventLoop* loop, Resolver* resolver,
                     std::shared_ptr<Sink> sink, std::function<void()> done)
    : plan_(std::move(plan)),
      loop_(loop),
      resolver_(resolver),
      sink_(std::move(sink)),
      done_(std::move(done)),
      token_(RandomToken()),
      send_spacing_(absl::Seconds(1) / static_cast<double>(plan_.rate)) {}

PingProbe::~PingProbe() { ReleaseAll(); }

void PingProbe::Start() {
  targets_.resize(plan_.targets.size());
  unresolved_ = targets_.size();
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].host = plan_.targets[i];
    const std::string field = absl::StrCat("targets[", i, "]");
    ResolveOnLoop(
        resolver_, loop_, alive_, targets_[i].host, plan_.family, field,
        plan_.admission.AddressCheck(),
        [this, i](absl::StatusOr<SocketAddress> r) { OnResolved(i, std::move(r)); });
    if (finished_) return;
  }
}

void PingProbe::OnResolved(size_t target, absl::StatusOr<SocketAddress> address) {
  if (finished_) return;
  if (!address.ok()) {
    finished_ = true;
    sink_->Finish(address.status());
    done_();
    return;
  }
  address->set_port(0);
  targets_[target].address = *address;
  if (--unresolved_ == 0) Begin();
}

void PingProbe::Begin() {
  // One socket per family in use, with one identifier for the request.
  const uint16_t id = static_cast<uint16_t>(token_ ^ (token_ >> 16));
  for (const Target& target : targets_) {
    Family& family = FamilyOf(target.address.family());
    if (family.socket.has_value()) continue;
    if (plan_.setup.source && plan_.setup.source->family() != target.address.family()) {
      finished_ = true;
      sink_->Finish(absl::InvalidArgumentError(absl::StrCat(
          "targets: ", target.host, " is ", target.address.ip(),
          ", not of the family of options.source_address ", plan_.setup.source->ip())));
      done_();
      return;
    }
    auto socket = IcmpSocket::Open(target.address.family(), id, plan_.setup);
    if (!socket.ok()) {
      finished_ = true;
      sink_->Finish(socket.status());
      done_();
      return;
    }
    family.socket.emplace(*std::move(socket));
    Family* f = &family;
    absl::Status watched =
        loop_->Watch(f->socket->fd(), EPOLLIN,
                     [this, f](uint32_t events) { OnSocketReady(*f, events); });
    if (!watched.ok()) {
      finished_ = true;
      sink_->Finish(watched);
      done_();
      return;
    }
  }
  begun_ = true;
  const absl::Duration now = MonotonicNow();
  next_send_ = now;
  for (size_t i = 0; i < targets_.size(); ++i) {
    targets_[i].next_due = now;
    ready_.push_back(i);
  }
  Pump();
}

void PingProbe::Pump() {
  if (pumping_ || finished_) return;
  pumping_ = true;
  while (!finished_ && !ready_.empty()) {
    if (!sink_->Writable()) {
      ResumeWhenWritable(*sink_, &waiting_for_sink_, alive_, [this] { Pump(); });
      break;
    }
    const absl::Duration now = MonotonicNow();
    const size_t index = ready_.front();
    Family& family = FamilyOf(targets_[index].address.family());
    // The global rate bound: a token bucket holding 1 ms of sends (GCRA:
    // next_send_ is when the bucket would be empty). Refill wakes come when it
    // is half full, so high rates cost a wakeup per half millisecond, not per
    // packet, and a late wakeup loses no credit. Also room in the table.
    // The policy's budgets (the caller's and the agent's total) on top.
    const absl::Duration budget_at = plan_.admission.budgets.NextSend(now);
    if (next_send_ > now + kBurstWindow || family.pending.size() >= kMaxInFlight ||
        budget_at > now) {
      if (pace_timer_ == 0) {
        const absl::Duration at = budget_at > now ? budget_at
                                  : next_send_ > now + kBurstWindow
                                      ? next_send_ - kBurstWindow / 2
                                      : now + absl::Milliseconds(1);
        pace_timer_ = loop_->RunAt(at, [this] {
          pace_timer_ = 0;
          Pump();
        });
      }
      break;
    }
    ready_.pop_front();
    next_send_ = std::max(next_send_, now) + send_spacing_;
    plan_.admission.budgets.Consume(now);
    Send(index);
    ScheduleNext(index);
  }
  pumping_ = false;
  CheckFinished();
}

void PingProbe::ScheduleNext(size_t index) {
  Target& target = targets_[index];
  if ((plan_.count != 0 && target.sent >= plan_.count) || finished_) return;
  const absl::Duration now = MonotonicNow();
  target.next_due = std::max(target.next_due + plan_.interval, now);
  if (target.next_due <= now) {
    ready_.push_back(index);
    return;
  }
  target.timer = loop_->RunAt(target.next_due, [this, index] {
    targets_[index].timer = 0;
    ready_.push_back(index);
    Pump();
  });
}

void PingProbe::Send(size_t index) {
  Target& target = targets_[index];
  Family& family = FamilyOf(target.address.family());
  const uint32_t wire = family.next_wire_sequence++;
  const uint16_t seq16 = static_cast<uint16_t>(wire);
  const std::vector<uint8_t> message = icmp::BuildEchoRequest(
      target.address.family() == AF_INET6, family.socket->id(), wire, token_, plan_.size);
  const uint32_t sequence = ++target.sent;
  const absl::Time now = absl::Now();
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
    Emit(std::move(reply));
    return;
  }
  Pending pending;
  pending.target = index;
  pending.sequence = sequence;
  pending.wire_sequence = wire;
  pending.user_sent = now;
  Family* f = &family;
  pending.timer = loop_->RunAfter(plan_.timeout,
                                  [this, f, seq16, wire] { OnTimeout(*f, seq16, wire); });
  family.tx_ids[family.next_tx_id++] = seq16;
  family.pending[seq16] = pending;
}

void PingProbe::OnSocketReady(Family& family, uint32_t events) {
  // Transmit timestamps first, so replies find their requests' send times.
  if (events & EPOLLERR) HandleErrorQueue(family);
  IcmpSocket::Received packet;
  // Bounded per round so one busy socket cannot starve the loop.
  for (int i = 0; i < 4096 && family.socket->Receive(&packet); ++i) {
    HandlePacket(family, packet);
  }
  if (events & EPOLLERR) HandleErrorQueue(family);
  Pump();
}

void PingProbe::HandleErrorQueue(Family& family) {
  IcmpSocket::ErrorEntry entry;
  for (int i = 0; i < 4096 && family.socket->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == IcmpSocket::ErrorEntry::Kind::kTxTimestamp) {
      auto id = family.tx_ids.find(entry.tx_id);
      if (id == family.tx_ids.end()) continue;
      auto it = family.pending.find(id->second);
      if (it != family.pending.end()) it->second.kernel_sent = entry.time;
      family.tx_ids.erase(id);
    } else if (entry.kind == IcmpSocket::ErrorEntry::Kind::kIcmpError &&
               entry.request.size() >= 8) {
      // Datagram sockets: the kernel hands back our request and the error.
      const uint16_t seq16 =
          static_cast<uint16_t>(entry.request[6] << 8 | entry.request[7]);
      const icmp::PayloadHeader payload =
          icmp::ParsePayload(absl::MakeConstSpan(entry.request).subspan(8));
      auto it = family.pending.find(seq16);
      if (it == family.pending.end()) continue;
      const SocketAddress destination = targets_[it->second.target].address;
      Fail(family, seq16, payload.sequence, destination,
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
      Fail(family, error.sequence16, error.payload.sequence,
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
    if (recent.state == Recent::State::kTimedOut) {
      target.tally.RecordLate();
      return;
    }
    target.tally.RecordDuplicate();
    v1::PingReply reply;
    FillEndpoint(target, reply.mutable_target());
    reply.set_sequence(recent.sequence);
    reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
    reply.set_duplicate(true);
    reply.set_reply_ttl(ttl);
    reply.set_bytes(bytes);
    Emit(std::move(reply));
    return;
  }
  Pending pending = it->second;
  family.pending.erase(it);
  loop_->Cancel(pending.timer);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kAnswered};
  Target& target = targets_[pending.target];
  const absl::Time sent = pending.kernel_sent != absl::InfinitePast()
                              ? pending.kernel_sent
                              : pending.user_sent;
  const absl::Time received =
      packet.kernel_time != absl::InfinitePast() ? packet.kernel_time : absl::Now();
  const absl::Duration rtt = std::max(received - sent, absl::ZeroDuration());
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
  ToProto(rtt, reply.mutable_rtt());
  reply.set_reply_ttl(ttl);
  reply.set_bytes(bytes);
  ToProto(pending.user_sent, reply.mutable_time());
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
  Emit(std::move(reply));
}

void PingProbe::Fail(Family& family, uint16_t seq16, std::optional<uint32_t> wire,
                     const SocketAddress& quoted_destination, v1::AttemptResult result) {
  auto it = family.pending.find(seq16);
  if (it == family.pending.end() || (wire && *wire != it->second.wire_sequence) ||
      !SameIp(quoted_destination, targets_[it->second.target].address)) {
    return;  // Quotes a request that is not (or no longer) ours in flight.
  }
  Pending pending = it->second;
  family.pending.erase(it);
  loop_->Cancel(pending.timer);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kTimedOut};
  Target& target = targets_[pending.target];
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  ToProto(pending.user_sent, reply.mutable_time());
  target.tally.Record(result.outcome());
  *reply.mutable_result() = std::move(result);
  Emit(std::move(reply));
}

void PingProbe::OnTimeout(Family& family, uint16_t seq16, uint32_t wire) {
  auto it = family.pending.find(seq16);
  if (it == family.pending.end() || it->second.wire_sequence != wire) return;
  Pending pending = it->second;
  family.pending.erase(it);
  family.recent[seq16] =
      Recent{pending.wire_sequence, static_cast<uint32_t>(pending.target),
             pending.sequence, Recent::State::kTimedOut};
  Target& target = targets_[pending.target];
  v1::PingReply reply;
  FillEndpoint(target, reply.mutable_target());
  reply.set_sequence(pending.sequence);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no reply within ", absl::FormatDuration(plan_.timeout)));
  ToProto(pending.user_sent, reply.mutable_time());
  target.tally.Record(v1::OUTCOME_TIMEOUT);
  Emit(std::move(reply));
  Pump();
}

void PingProbe::Emit(v1::PingReply reply) {
  v1::PingEvent event;
  *event.mutable_reply() = std::move(reply);
  sink_->Emit(std::move(event));
}

void PingProbe::CheckFinished() {
  if (finished_ || !begun_ || !ready_.empty() || plan_.count == 0) return;
  if (!v4_.pending.empty() || !v6_.pending.empty()) return;
  for (const Target& target : targets_) {
    if (target.sent < plan_.count) return;
  }
  finished_ = true;
  EmitSummaries();
  ReleaseAll();
  sink_->Finish(absl::OkStatus());
  done_();
}

void PingProbe::EmitSummaries() {
  if (malformed_ > 0) {
    LogLine(absl::StrCat("ping: ignored ", malformed_, " malformed ICMP packets"));
  }
  for (const Target& target : targets_) {
    v1::PingEvent event;
    v1::TargetSummary* summary = event.mutable_summary();
    FillEndpoint(target, summary->mutable_target());
    target.tally.Fill(summary);
    sink_->Emit(std::move(event));
  }
}

void PingProbe::Stop(StopReason reason) {
  if (finished_) return;
  finished_ = true;
  ReleaseAll();
  if (reason == StopReason::kAgentShutdown) {
    v1::PingEvent end;
    FillShutdownEnd(
        "the agent is shutting down; requests in flight were abandoned uncounted",
        end.mutable_end());
    sink_->Emit(std::move(end));
    EmitSummaries();
    sink_->Finish(absl::OkStatus());
  } else {
    sink_->Finish(absl::CancelledError("cancelled by the client"));
  }
  done_();
}

void PingProbe::ReleaseAll() {
  for (Family* family : {&v4_, &v6_}) {
    for (auto& [seq, pending] : family->pending) loop_->Cancel(pending.timer);
    family->pending.clear();
    family->tx_ids.clear();
    if (family->socket.has_value()) {
      loop_->Unwatch(family->socket->fd());
      family->socket.reset();
    }
  }
  for (Target& target : targets_) {
    if (target.timer != 0) loop_->Cancel(target.timer);
    target.timer = 0;
  }
  if (pace_timer_ != 0) loop_->Cancel(pace_timer_);
  pace_timer_ = 0;
  ready_.clear();
}

void PingProbe::FillEndpoint(const Target& target, v1::Endpoint* out) const {
  out->set_host(target.host);
  if (target.address.valid()) {
    out->set_address(target.address.ip());
    out->set_family(target.address.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                        : v1::ADDRESS_FAMILY_IPV4);
  }
}

}  // namespace netprobe
