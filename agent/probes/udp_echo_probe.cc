#include "agent/probes/udp_echo_probe.h"

#include <errno.h>
#include <sys/epoll.h>


#include "absl/strings/str_cat.h"
#include "agent/net/random_token.h"
#include "agent/net/socket_opener.h"
#include "agent/net/udp_echo_payload.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/attempt_sent.h"
#include "agent/probes/flow_capture.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

absl::Time KernelOr(absl::Time kernel, absl::Time user) {
  return kernel != absl::InfinitePast() ? kernel : user;
}

}  // namespace

size_t UdpEchoProbe::MaxEventsBeyondHighWater(const UdpEchoPlan& plan) {
  // Datagrams in flight are bounded by timeout / interval; each ends in one
  // event, plus duplicates of answered ones (bounded by the Recent ring).
  const double in_flight = absl::FDivDuration(plan.timeout, plan.interval) + 1;
  return static_cast<size_t>(in_flight) * 2 + 2 +
         (plan.capture ? ProbeCapture::kEventsBeyondHighWater : 0);
}

UdpEchoProbe::UdpEchoProbe(UdpEchoPlan plan, EventLoop* loop, BlockingWork work,
                           std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(RandomToken()) {}

UdpEchoProbe::~UdpEchoProbe() { Release(); }

void UdpEchoProbe::Start() {
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void UdpEchoProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  target_ = *address;
  target_.set_port(plan_.port);
  if (plan_.setup.source && plan_.setup.source->family() != target_.family()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "target: ", plan_.host, " is ", target_.ip(),
        ", not of the family of options.source_address ", plan_.setup.source->ip())));
  }
  auto socket = loop_->sockets()->OpenUdp(target_.family(), plan_.setup);
  if (!socket.ok()) return Fail(socket.status());
  socket_ = *std::move(socket);
  // A connected socket hears the target's ICMP errors as send errors. When
  // the route refuses even the connect (blackhole, unreachable, prohibit,
  // a filter), each datagram goes unconnected instead, so every attempt
  // reports the kernel's error and sends recover if the route heals: a
  // target failure is a result, not the end of the call.
  unconnected_ = !socket_->Connect(target_).ok();
  absl::Status watched = loop_->Watch(socket_->fd(), EPOLLIN,
                                      [this](uint32_t events) { OnReadable(events); });
  if (!watched.ok()) return Fail(watched);
  if (!plan_.capture) return StartPacing();
  // The first datagram leaves once the capture sees the probe's packets.
  if (absl::StatusOr<SocketAddress> local = socket_->LocalAddress(); local.ok()) {
    local_port_ = local->port();
  }
  StartCapture(
      *plan_.capture, work_, FlowCaptureFilter(IPPROTO_UDP, {target_}),
      [this](const CapturedIp& ip) { return ClassifyCaptured(ip); },
      [this] { StartPacing(); });
}

void UdpEchoProbe::StartPacing() {
  Pacer::Options pacing;
  pacing.targets = 1;
  pacing.count = plan_.count;
  pacing.interval = plan_.interval;
  pacing.budgets = plan_.admission.budgets;
  pacing.max_burst = Pacer::kSharedSocketBurst;  // every echo on one socket
  pacer_.emplace(
      loop_, std::move(pacing), [this](size_t) { return MaySend(); },
      [this](size_t, uint32_t sequence) { Send(sequence); });
  pacer_->Start();
  CheckFinished();
}

// The pacer's gate: pause rather than drop while the client reads slowly.
bool UdpEchoProbe::MaySend() {
  if (Writable()) return true;
  WhenWritable([this] {
    pacer_->Pump();
    CheckFinished();
  });
  return false;
}

void UdpEchoProbe::Send(uint32_t sequence) {
  const absl::Time now = loop_->clock()->Wall();
  const std::vector<uint8_t> datagram =
      udp_echo::Build({.token = token_, .sequence = sequence, .sent = now}, plan_.size);
  if (plan_.report_sends) {
    v1::Endpoint endpoint;
    FillTarget(&endpoint);
    Emit(AttemptSentEvent<v1::UdpEchoEvent>(std::move(endpoint), sequence, now));
  }
  const int err = socket_->Send(datagram, unconnected_ ? &target_ : nullptr);
  if (err == 0) TrafficCounters::Get().Sent(SendingProbe::kUdpEcho);
  if (err != 0) {
    // Refused at once by the kernel (no route, a pending ICMP error, ...).
    v1::UdpEchoReply reply;
    NewReply(sequence, now, &reply);
    *reply.mutable_result() = ResultFromErrno(err);
    tally_.Record(reply.result().outcome());
    Settle(sequence, Recent::State::kTimedOut);
    EmitReply(std::move(reply));
  } else {
    Pending& pending = pending_[sequence];
    pending.user_sent = now;
    pending.timer =
        loop_->RunAfter(plan_.timeout, [this, sequence] { OnTimeout(sequence); });
    tx_.Sent(sequence);
  }
  CheckFinished();
}

void UdpEchoProbe::OnReadable(uint32_t events) {
  // Transmit timestamps first, so replies find their send times.
  if (events & EPOLLERR) HandleErrorQueue();
  DatagramSocket::Received datagram;
  // Bounded per wakeup so one busy socket cannot starve the loop.
  for (int i = 0; i < 1024 && !finished(); ++i) {
    const int err = socket_->Receive(&datagram);
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0) {
      HandleErrorQueue();  // a pending ICMP error; its entry says which datagram
      continue;
    }
    HandleDatagram(datagram);
  }
  if (!finished() && (events & EPOLLERR)) HandleErrorQueue();
  CheckFinished();
}

void UdpEchoProbe::HandleErrorQueue() {
  ErrorQueueEntry entry;
  for (int i = 0; i < 1024 && !finished() && socket_->ReadErrorQueue(&entry); ++i) {
    if (entry.kind == ErrorQueueEntry::Kind::kTxTimestamp) {
      const std::optional<uint32_t> sequence = tx_.Take(entry.tx_id);
      if (!sequence) continue;
      auto it = pending_.find(*sequence);
      if (it != pending_.end()) it->second.kernel_sent = entry.time;
      continue;
    }
    if (entry.kind != ErrorQueueEntry::Kind::kIcmpError || pending_.empty()) continue;
    // The entry holds what we sent, as far as the ICMP error quoted it; when
    // too little for our header, it is about the oldest datagram in flight.
    uint32_t sequence = 0;
    auto parsed = udp_echo::Parse(entry.request);
    if (parsed && parsed->header.token == token_) {
      sequence = parsed->header.sequence;
    } else {
      sequence = pending_.begin()->first;
      for (const auto& [seq, p] : pending_) sequence = std::min(sequence, seq);
    }
    auto it = pending_.find(sequence);
    if (it == pending_.end()) continue;
    v1::UdpEchoReply reply;
    NewReply(sequence, it->second.user_sent, &reply);
    *reply.mutable_result() =
        entry.err != 0 && entry.offender.valid()
            ? ResultFromIcmpError(target_.family() == AF_INET6, entry.icmp_type,
                                  entry.icmp_code, entry.offender.ip())
            : ResultFromErrno(entry.err);
    tally_.Record(reply.result().outcome());
    NoteCapture(sequence, absl::StrCat(CaptureLabel(sequence), " ",
                                       CaptureOutcome(reply.result())));
    Settle(sequence, Recent::State::kTimedOut);
    EmitReply(std::move(reply));
  }
}

void UdpEchoProbe::HandleDatagram(const DatagramSocket::Received& datagram) {
  auto parsed = udp_echo::Parse(datagram.data);
  if (!parsed || parsed->header.token != token_) {
    ++strays_;  // not an echo of ours (a connected socket hears only the target)
    return;
  }
  const uint32_t sequence = parsed->header.sequence;
  const bool intact = parsed->intact && datagram.bytes == plan_.size;
  auto it = pending_.find(sequence);
  if (it == pending_.end()) {
    const Recent& recent = recent_[sequence % kRecent];
    if (recent.sequence != sequence || recent.state == Recent::State::kNone) {
      ++strays_;
      return;
    }
    if (recent.state == Recent::State::kTimedOut) {
      NoteCapture(sequence,
                  absl::StrCat(CaptureLabel(sequence), " late echo (after its timeout)"));
      tally_.RecordLate();
      return;
    }
    NoteCapture(sequence, absl::StrCat(CaptureLabel(sequence), " duplicate echo"));
    tally_.RecordDuplicate();
    v1::UdpEchoReply reply;
    NewReply(sequence, parsed->header.sent, &reply);
    reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
    reply.set_duplicate(true);
    reply.set_bytes(datagram.bytes);
    EmitReply(std::move(reply));
    return;
  }
  const Pending pending = it->second;
  const absl::Time sent = KernelOr(pending.kernel_sent, pending.user_sent);
  const absl::Time received = KernelOr(datagram.meta.kernel_time, loop_->clock()->Wall());
  const absl::Duration rtt = std::max(received - sent, absl::ZeroDuration());
  Settle(sequence, Recent::State::kAnswered);
  NoteCapture(sequence, absl::StrCat(CaptureLabel(sequence), " echo ", CaptureMs(rtt)));
  v1::UdpEchoReply reply;
  NewReply(sequence, pending.user_sent, &reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_OK);
  ToProto(rtt, reply.mutable_rtt());
  reply.set_bytes(datagram.bytes);
  if (sequence < highest_answered_) {
    reply.set_out_of_order(true);
    tally_.RecordReordered();
  }
  highest_answered_ = std::max(highest_answered_, sequence);
  if (!intact) {
    reply.set_corrupted(true);
    tally_.RecordCorrupted();
  }
  tally_.Record(v1::OUTCOME_OK, rtt);
  tally_.RecordTransit(rtt);
  EmitReply(std::move(reply));
}

void UdpEchoProbe::Settle(uint32_t sequence, Recent::State state) {
  auto it = pending_.find(sequence);
  if (it != pending_.end()) {
    loop_->Cancel(it->second.timer);
    pending_.erase(it);
  }
  recent_[sequence % kRecent] = Recent{sequence, state};
}

void UdpEchoProbe::OnTimeout(uint32_t sequence) {
  auto it = pending_.find(sequence);
  if (it == pending_.end() || finished()) return;
  v1::UdpEchoReply reply;
  NewReply(sequence, it->second.user_sent, &reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no reply within ", absl::FormatDuration(plan_.timeout)));
  it->second.timer = 0;
  NoteCapture(sequence, absl::StrCat(CaptureLabel(sequence), " timeout"));
  Settle(sequence, Recent::State::kTimedOut);
  tally_.Record(v1::OUTCOME_TIMEOUT);
  EmitReply(std::move(reply));
  CheckFinished();
}

std::string UdpEchoProbe::CaptureLabel(uint32_t sequence) const {
  return absl::StrCat("udp seq=", sequence);
}

std::optional<ProbeCapture::Match> UdpEchoProbe::ClassifyCaptured(const CapturedIp& ip) {
  const std::optional<CapturedFlow> flow = ParseCapturedFlow(ip, IPPROTO_UDP);
  if (!flow) return std::nullopt;
  const uint16_t local = LocalPortTowards(*flow, target_);
  if (local == 0) return std::nullopt;
  if (local_port_ == 0 && socket_ != nullptr) {
    // Unconnected: bound by the first send.
    if (absl::StatusOr<SocketAddress> bound = socket_->LocalAddress(); bound.ok()) {
      local_port_ = bound->port();
    }
  }
  if (local != local_port_) return std::nullopt;
  const bool outgoing = SameEndpoint(flow->destination, target_);
  uint32_t sequence = 0;
  if (auto parsed = udp_echo::Parse(flow->payload);
      parsed && parsed->header.token == token_) {
    sequence = parsed->header.sequence;
  } else if (flow->quoted && !pending_.empty()) {
    // Quoted too short for our header: as the probe does, the oldest in flight.
    sequence = pending_.begin()->first;
    for (const auto& [seq, p] : pending_) sequence = std::min(sequence, seq);
  } else {
    return std::nullopt;
  }
  ProbeCapture::Match match;
  match.key = sequence;
  match.unmatched =
      absl::StrCat(CaptureLabel(sequence), flow->quoted ? " ICMP error, after the end"
                                           : outgoing   ? " datagram, no echo by the end"
                                                        : " echo, after the end");
  return match;
}

void UdpEchoProbe::FillTarget(v1::Endpoint* target) const {
  target->set_host(plan_.host);
  target->set_port(plan_.port);
  if (target_.valid()) {
    target->set_address(target_.ip());
    target->set_family(target_.family() == AF_INET6 ? v1::ADDRESS_FAMILY_IPV6
                                                    : v1::ADDRESS_FAMILY_IPV4);
  }
}

void UdpEchoProbe::NewReply(uint32_t sequence, absl::Time sent,
                            v1::UdpEchoReply* reply) const {
  FillTarget(reply->mutable_target());
  reply->set_sequence(sequence);
  ToProto(sent, reply->mutable_time());
}

void UdpEchoProbe::EmitReply(v1::UdpEchoReply reply) {
  v1::UdpEchoEvent event;
  *event.mutable_reply() = std::move(reply);
  Emit(std::move(event));
}

void UdpEchoProbe::CheckFinished() {
  if (finished() || !pacer_ || !pacer_->exhausted() || !pending_.empty()) return;
  Complete();
}

void UdpEchoProbe::AppendSummaries(std::vector<v1::UdpEchoEvent>* out) {
  if (strays_ > 0) {
    LogLine(absl::StrCat("udp echo ", plan_.host, ":", plan_.port, ": ignored ", strays_,
                         " datagrams that were not echoes of ours"));
  }
  v1::UdpEchoEvent event;
  v1::TargetSummary* summary = event.mutable_summary();
  FillTarget(summary->mutable_target());
  tally_.Fill(summary);
  out->push_back(std::move(event));
}

void UdpEchoProbe::BeforeCutShort() {
  for (size_t i = 0; i < pending_.size(); ++i) tally_.RecordUnanswered();
}

std::string UdpEchoProbe::CutShortDetail() const {
  return "datagrams in flight are counted as sent and lost";
}

void UdpEchoProbe::Release() {
  if (pacer_) pacer_->Stop();
  for (auto& [sequence, pending] : pending_) loop_->Cancel(pending.timer);
  pending_.clear();
  if (socket_ != nullptr) {
    loop_->Unwatch(socket_->fd());
    socket_.reset();
  }
}

}  // namespace netprobe
