#include "agent/probes/mtr_probe.h"

#include <errno.h>

#include "absl/strings/str_cat.h"
#include "agent/probes/attempt_result.h"
#include "agent/probes/traffic_counters.h"
#include "agent/util/log.h"
#include "common/proto_time.h"

namespace netprobe {

MtrProbe::MtrProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                   std::shared_ptr<Sink> sink, std::function<void()> done)
    : TraceProbe(std::move(plan), loop, std::move(work), std::move(sink),
                 std::move(done)) {}

MtrProbe::~MtrProbe() { Release(); }

void MtrProbe::Prepare() {
  hops_.resize(static_cast<size_t>(plan_.hops()) * plan_.flows);
  end_.assign(plan_.flows, plan_.hops() - 1);
  last_hop_.assign(plan_.flows, std::nullopt);
  retired_.assign(hops_.size(), false);
  issued_.assign(hops_.size(), 0);
  outstanding_.assign(plan_.flows, 0);
}

// The wake-up after an answer, or the timeout, pumps again.
bool MtrProbe::MayStart(size_t pacer_target) const {
  return !(plan_.method == TraceroutePlan::Method::kTcp && pacer_target < plan_.flows &&
           issued_[pacer_target] > 0 && outstanding_[pacer_target] > 0);
}

void MtrProbe::Send(size_t pacer_target, uint32_t sequence) {
  Pending probe;
  probe.hop = static_cast<uint32_t>(pacer_target / plan_.flows);
  probe.flow = static_cast<uint32_t>(pacer_target % plan_.flows);
  probe.round = sequence - 1;
  Round& round = rounds_[probe.round];
  ++round.issued;
  ++issued_[pacer_target];
  if (probe.hop > LastHop(probe.flow)) {  // beyond the end or a silent run
    Closed(probe.round, false);
    CheckFinished();  // this may have been the last of the last round
    return;
  }
  const int ttl = static_cast<int>(plan_.first_ttl + probe.hop);
  const uint32_t wire = next_wire_++;
  probe.user_sent = loop_->clock()->Wall();
  const int err = transport_->Send(probe.flow, ttl, wire, payload_size_);
  ++HopOf(probe.hop, probe.flow).stats.sent;
  if (err != 0) {
    // Refused at once by the kernel (no route, a local filter, ...): a
    // reply with the error, a probe sent and lost.
    v1::TracerouteReply reply;
    NewReply(probe, &reply);
    *reply.mutable_result() = ResultFromErrno(err);
    v1::TracerouteEvent event;
    *event.mutable_reply() = std::move(reply);
    Emit(std::move(event));
    Closed(probe.round, false);
    CheckFinished();
    return;
  }
  TrafficCounters::Get().Sent(SendingProbe::kTraceroute);
  ++round.open;
  ++outstanding_[probe.flow];
  const uint32_t key = transport_->WireKey(wire);
  probe.timer = loop_->RunAfter(plan_.wait, [this, key] { OnTimeout(key); });
  in_flight_[key] = probe;
}

void MtrProbe::OnSentAt(uint32_t wire, absl::Time sent) {
  auto it = in_flight_.find(wire);
  if (it != in_flight_.end()) it->second.kernel_sent = sent;
}

void MtrProbe::OnAnswer(const TraceTransport::Answer& answer) {
  auto it = in_flight_.find(answer.wire);
  if (it == in_flight_.end()) {
    ++unmatched_;  // late (after its wait), or beyond the trace's end
    return;
  }
  const Pending probe = it->second;
  in_flight_.erase(it);
  --outstanding_[probe.flow];
  loop_->Cancel(probe.timer);
  v1::TracerouteReply reply;
  NewReply(probe, &reply);
  FillTraceReply(answer, target_, KernelOrUser(probe.kernel_sent, probe.user_sent),
                 loop_->clock()->Wall(), &reply);
  if (names_ && !reply.address().empty()) {
    // Replies stream as they come: a name still being looked up is on the
    // later replies of the address and on the hop summaries.
    if (std::optional<std::string> name = names_->Find(reply.address(), [] {})) {
      reply.set_hostname(*name);
    }
  }
  Hop& hop = HopOf(probe.hop, probe.flow);
  hop.stats.Answered(reply);
  if (reply.reached()) hop.stats.reached = true;
  std::optional<v1::TracerouteEvent> change;
  if (!hop.last_address.empty() && hop.last_address != reply.address()) {
    ++hop.stats.path_changes;
    ++path_changes_;
    change.emplace();
    v1::TraceroutePathChange* c = change->mutable_path_change();
    c->set_ttl(reply.ttl());
    c->set_flow(probe.flow);
    c->set_round(probe.round);
    c->set_previous(hop.last_address);
    c->set_address(reply.address());
    ToProto(loop_->clock()->Wall(), c->mutable_time());
  }
  hop.last_address = reply.address();
  const bool ends = EndsTrace(reply);
  v1::TracerouteEvent event;
  *event.mutable_reply() = std::move(reply);
  Emit(std::move(event));
  if (change) Emit(*std::move(change));
  if (finished()) return;
  last_hop_[probe.flow].reset();
  if (ends) EndFlowAt(probe.flow, probe.hop);
  Closed(probe.round, true);
  CheckFinished();
}

void MtrProbe::OnTimeout(uint32_t wire) {
  auto it = in_flight_.find(wire);
  if (finished() || it == in_flight_.end()) return;
  const Pending probe = it->second;
  in_flight_.erase(it);
  --outstanding_[probe.flow];
  ++HopOf(probe.hop, probe.flow).stats.timed_out;
  last_hop_[probe.flow].reset();
  v1::TracerouteReply reply;
  NewReply(probe, &reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.wait)));
  v1::TracerouteEvent event;
  *event.mutable_reply() = std::move(reply);
  Emit(std::move(event));
  if (finished()) return;
  Closed(probe.round, true);
  pacer_->Pump();
  CheckFinished();
}

void MtrProbe::Closed(uint32_t round, bool was_in_flight) {
  auto it = rounds_.find(round);
  if (it == rounds_.end()) return;
  if (was_in_flight) --it->second.open;
  // Rounds complete in order: every probe issued (but those of targets
  // retired before it) and none in flight.
  const size_t targets = static_cast<size_t>(plan_.hops()) * plan_.flows;
  size_t missing = 0;
  auto gone = missing_from_.begin();
  for (auto r = rounds_.begin(); r != rounds_.end() && r->first == rounds_done_;
       r = rounds_.erase(r)) {
    for (; gone != missing_from_.end() && gone->first <= r->first; ++gone) {
      missing += gone->second;
    }
    if (r->second.issued + missing < targets || r->second.open != 0) break;
    ++rounds_done_;
  }
}

void MtrProbe::EndFlowAt(uint32_t flow, uint32_t end) {
  if (end >= end_[flow]) return;
  end_[flow] = end;
  last_hop_[flow].reset();
  // The pacer sends nothing more beyond the end, nor charges the rate for it.
  for (uint32_t hop = end + 1; hop < plan_.hops(); ++hop) {
    const size_t target = static_cast<size_t>(hop) * plan_.flows + flow;
    if (retired_[target]) continue;
    retired_[target] = true;
    ++missing_from_[issued_[target]];
    pacer_->Retire(target);
  }
  // In flight beyond the end: dropped unreported, their sends uncounted
  // (their hops are not part of the trace).
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    const Pending& probe = it->second;
    if (probe.flow != flow || probe.hop <= end) {
      ++it;
      continue;
    }
    loop_->Cancel(probe.timer);
    const uint32_t round = probe.round;
    --outstanding_[flow];
    it = in_flight_.erase(it);
    Closed(round, true);
  }
}

uint32_t MtrProbe::LastHop(uint32_t flow) const {
  std::optional<uint32_t>& last = last_hop_[flow];
  if (!last) {
    const std::optional<uint32_t> silent =
        SilentRunEnd(plan_.max_silent_hops, end_[flow], [&](uint32_t hop) {
          const TraceHopStats& s =
              hops_[static_cast<size_t>(hop) * plan_.flows + flow].stats;
          return s.received == 0 && s.timed_out > 0;
        });
    last = silent ? *silent : end_[flow];
  }
  return *last;
}

bool MtrProbe::CutBySilence(uint32_t flow) const { return LastHop(flow) < end_[flow]; }

void MtrProbe::CheckFinished() {
  if (finished() || !pacer_) return;
  if (pacer_->exhausted() && in_flight_.empty()) Complete();
}

void MtrProbe::NewReply(const Pending& probe, v1::TracerouteReply* reply) const {
  FillTarget(reply->mutable_target());
  reply->set_ttl(plan_.first_ttl + probe.hop);
  reply->set_flow(probe.flow);
  reply->set_probe(0);
  reply->set_round(probe.round);
  reply->set_flow_id(transport_->flow_id(probe.flow));
  reply->set_packet_length(plan_.LengthFor(target_.family()));
  ToProto(probe.user_sent, reply->mutable_time());
}

// Cut short (deadline, shutdown): the probes still in flight are not
// counted, as if the last rounds had not gone (their answers could still
// come; counting them lost would inflate the loss of every hop).
void MtrProbe::BeforeCutShort() {
  for (const auto& [wire, probe] : in_flight_) {
    --HopOf(probe.hop, probe.flow).stats.sent;
  }
}

void MtrProbe::AppendSummaries(std::vector<v1::TracerouteEvent>* out) {
  bool stopped_silent = false;
  for (uint32_t flow = 0; flow < end_.size(); ++flow) {
    stopped_silent = stopped_silent || CutBySilence(flow);
  }
  v1::TracerouteSummary* summary = AppendHopsAndSummary(
      [this](uint32_t flow) { return LastHop(flow); },
      [this](uint32_t hop, uint32_t flow) -> const TraceHopStats& {
        return hops_[static_cast<size_t>(hop) * plan_.flows + flow].stats;
      },
      unmatched_, out);
  summary->set_path_changes(path_changes_);
  summary->set_rounds(rounds_done_);
  summary->set_stopped_silent(stopped_silent);
}

std::string MtrProbe::CutShortDetail() const {
  return "probes in flight are not counted";
}

void MtrProbe::Release() {
  for (auto& [wire, probe] : in_flight_) {
    if (probe.timer != 0) loop_->Cancel(probe.timer);
  }
  in_flight_.clear();
  ReleaseTransport();
}

}  // namespace netprobe
