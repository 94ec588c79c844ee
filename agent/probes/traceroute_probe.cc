#include "agent/probes/traceroute_probe.h"

#include <errno.h>
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "agent/net/icmp.h"
#include "agent/net/socket_opener.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

absl::Time KernelOrUser(absl::Time kernel, absl::Time user) {
  return kernel != absl::InfinitePast() ? kernel : user;
}

}  // namespace

TracerouteProbe::TracerouteProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(TraceTransport::NewToken()) {}

TracerouteProbe::~TracerouteProbe() { Release(); }

void TracerouteProbe::Start() {
  if (plan_.resolve) names_.emplace(work_, loop_, alive());
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void TracerouteProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  const uint32_t hops = plan_.hops();
  attempts_.resize(plan_.attempts());
  hops_.resize(static_cast<size_t>(hops) * plan_.flows);
  cursor_.assign(static_cast<size_t>(plan_.flows) * plan_.probes_per_hop, 0);
  taken_.assign(static_cast<size_t>(hops) * plan_.flows, 0);
  flows_.resize(plan_.flows);
  for (Flow& flow : flows_) flow.end = hops;
  TraceTransport::Callbacks callbacks;
  callbacks.on_answer = [this](const TraceTransport::Answer& a) { OnAnswer(a); };
  callbacks.on_sent = [this](uint32_t wire, absl::Time sent) { OnSentAt(wire, sent); };
  callbacks.on_wake = [this] {
    pacer_->Pump();
    CheckFinished();
  };
  callbacks.finished = [this] { return finished(); };
  absl::StatusOr<std::unique_ptr<TraceTransport>> transport =
      TraceTransport::ForPlan(loop_, plan_, *address, token_, std::move(callbacks));
  if (!transport.ok()) return Fail(transport.status());
  transport_ = std::move(*transport);
  target_ = transport_->target();
  payload_size_ = transport_->payload_size();
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
      loop_, std::move(pacing), [this](size_t target) { return MaySend(target); },
      [this](size_t target, uint32_t sequence) { Send(target, sequence); });
  pacer_->Start();
  CheckFinished();
}

// The pacer's gate: pause while the client reads slowly, and keep 16-bit
// sequences unambiguous. TCP: a flow's round (its probe index) starts once
// nothing of its previous round is in flight, beyond the end included. All
// SYNs of a flow share one 4-tuple, and the target keeps a half-open
// connection for a SYN it answered until our kernel's RST for the SYN-ACK
// arrives; a second SYN meeting it draws RST (in window) or a bare ACK, not
// its own answer. The first TTL that reaches the target is the first SYN
// there in a round; the next round finds the target clean. The pacer takes
// targets in order (every (hop, flow) once per round), so the gate holds at
// a flow's first hop.
bool TracerouteProbe::MaySend(size_t pacer_target) {
  if (!Writable()) {
    WhenWritable([this] {
      pacer_->Pump();
      CheckFinished();
    });
    return false;
  }
  if (plan_.method == TraceroutePlan::Method::kTcp && pacer_target < plan_.flows &&
      taken_[pacer_target] > 0 && flows_[pacer_target].outstanding > 0) {
    return false;  // Landed() pumps again
  }
  return in_flight_.size() < transport_->MaxInFlight();
}

void TracerouteProbe::Landed(size_t index) {
  Attempt& attempt = attempts_[index];
  if (attempt.timer != 0) loop_->Cancel(attempt.timer);
  attempt.timer = 0;
  in_flight_.erase(attempt.wire);
  --flows_[FlowOf(index)].outstanding;
}

void TracerouteProbe::Send(size_t pacer_target, uint32_t sequence) {
  const uint32_t hop = static_cast<uint32_t>(pacer_target / plan_.flows);
  const uint32_t flow = static_cast<uint32_t>(pacer_target % plan_.flows);
  const uint32_t probe = sequence - 1;
  const size_t index = IndexOf(hop, flow, probe);
  Attempt& attempt = attempts_[index];
  ++taken_[pacer_target];
  if (hop > flows_[flow].end) {  // beyond where the trace ended
    attempt.state = Attempt::State::kSkipped;
    CheckFinished();
    return;
  }
  const int ttl = static_cast<int>(plan_.first_ttl + hop);
  const uint32_t wire = next_wire_++;
  attempt.user_sent = loop_->clock()->Wall();
  const int err = transport_->Send(flow, ttl, wire, payload_size_);
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
  attempt.wire = transport_->WireKey(wire);
  ++flows_[flow].outstanding;
  attempt.timer = loop_->RunAfter(plan_.wait, [this, index] { OnTimeout(index); });
  in_flight_[attempt.wire] = index;
}

void TracerouteProbe::OnSentAt(uint32_t wire, absl::Time sent) {
  auto it = in_flight_.find(wire);
  if (it != in_flight_.end()) attempts_[it->second].kernel_sent = sent;
}

void TracerouteProbe::OnAnswer(const TraceTransport::Answer& answer) {
  auto it = in_flight_.find(answer.wire);
  if (it == in_flight_.end()) {
    ++unmatched_;  // late (after its wait), or beyond the trace's end
    return;
  }
  const size_t index = it->second;
  Attempt& attempt = attempts_[index];
  Landed(index);
  if (attempt.state == Attempt::State::kDraining) {
    attempt.state = Attempt::State::kSkipped;  // beyond the end: unreported
    return;                                    // on_wake pumps
  }
  v1::TracerouteReply reply;
  NewReply(index, &reply);
  FillTraceReply(answer, target_, KernelOrUser(attempt.kernel_sent, attempt.user_sent),
                 loop_->clock()->Wall(), &reply);
  const size_t hop = index / (static_cast<size_t>(plan_.flows) * plan_.probes_per_hop);
  hops_[hop * plan_.flows + reply.flow()].Answered(reply);
  Done(index, std::move(reply));
  CheckFinished();
}

void TracerouteProbe::OnTimeout(size_t index) {
  Attempt& attempt = attempts_[index];
  if (finished()) return;
  if (attempt.state == Attempt::State::kDraining) {
    attempt.timer = 0;
    Landed(index);
    attempt.state = Attempt::State::kSkipped;
    pacer_->Pump();
    CheckFinished();
    return;
  }
  if (attempt.state != Attempt::State::kInFlight) return;
  attempt.timer = 0;
  Landed(index);
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
  if (finished()) return;
  uint32_t& cursor = cursor_[static_cast<size_t>(flow) * plan_.probes_per_hop + probe];
  while (cursor < plan_.hops() && cursor <= flows_[flow].end) {
    Attempt& attempt = attempts_[IndexOf(cursor, flow, probe)];
    if (attempt.state != Attempt::State::kDone) return;
    v1::TracerouteReply& reply = attempt.reply;
    if (names_ && !reply.address().empty()) {
      // Lines wait for their names, in TTL order like the rest.
      std::optional<std::string> name =
          names_->Find(reply.address(), [this, flow, probe] {
            Advance(flow, probe);
            CheckFinished();
          });
      if (!name) return;
      reply.set_hostname(*name);
    }
    const v1::Outcome outcome = reply.result().outcome();
    const bool ends = EndsTrace(reply);
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
  // (their hops are not part of the trace), and not counted (TCP: they drain,
  // see MaySend()).
  for (uint32_t hop = end + 1; hop < plan_.hops(); ++hop) {
    pacer_->Retire(static_cast<size_t>(hop) * plan_.flows + flow);
    for (uint32_t probe = 0; probe < plan_.probes_per_hop; ++probe) {
      const size_t index = IndexOf(hop, flow, probe);
      Attempt& attempt = attempts_[index];
      if (attempt.state == Attempt::State::kInFlight &&
          plan_.method == TraceroutePlan::Method::kTcp) {
        attempt.state = Attempt::State::kDraining;  // see MaySend()
        continue;
      }
      if (attempt.state == Attempt::State::kInFlight) Landed(index);
      if (attempt.state != Attempt::State::kUnsent &&
          attempt.state != Attempt::State::kDraining)
        attempt.state = Attempt::State::kSkipped;
    }
  }
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
  reply->set_flow_id(transport_->flow_id(flow));
  reply->set_packet_length(plan_.LengthFor(target_.family()));
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
  const uint64_t unmatched = unmatched_ + (transport_ ? transport_->unmatched() : 0);

  if (unmatched > 0) {
    LogLine(absl::StrCat("traceroute ", plan_.host, ": ", unmatched,
                         " answers matched no probe in flight"));
  }
  uint32_t reached_ttl = 0;
  uint64_t sent = 0, received = 0;  // of the hops reported
  for (uint32_t flow = 0; flow < flows_.size(); ++flow) {
    const uint32_t last = std::min(flows_[flow].end, plan_.hops() - 1);
    for (uint32_t hop = 0; hop <= last; ++hop) {
      const TraceHopStats& h = hops_[static_cast<size_t>(hop) * plan_.flows + flow];
      if (h.sent == 0) continue;
      v1::TracerouteEvent event;
      h.Fill(plan_.first_ttl + hop, flow, event.mutable_hop());
      if (names_) {
        for (const std::string& a : h.addresses)
          event.mutable_hop()->add_hostnames(names_->Known(a));
      }
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
  summary->set_unmatched(unmatched);
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
  if (transport_) transport_->Close();
}

}  // namespace netprobe
