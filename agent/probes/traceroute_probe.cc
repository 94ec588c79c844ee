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

TracerouteProbe::TracerouteProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                                 std::shared_ptr<Sink> sink, std::function<void()> done)
    : TraceProbe(std::move(plan), loop, std::move(work), std::move(sink),
                 std::move(done)) {}

TracerouteProbe::~TracerouteProbe() { Release(); }

void TracerouteProbe::Prepare() {
  const uint32_t hops = plan_.hops();
  attempts_.resize(plan_.attempts());
  hops_.resize(static_cast<size_t>(hops) * plan_.flows);
  cursor_.assign(static_cast<size_t>(plan_.flows) * plan_.probes_per_hop, 0);
  taken_.assign(static_cast<size_t>(hops) * plan_.flows, 0);
  flows_.resize(plan_.flows);
  for (Flow& flow : flows_) flow.end = hops;
}

// TCP: a flow's round (its probe index) starts once nothing of its previous
// round is in flight, beyond the end included. All SYNs of a flow share one
// 4-tuple, and the target keeps a half-open connection for a SYN it answered
// until our kernel's RST for the SYN-ACK arrives; a second SYN meeting it
// draws RST (in window) or a bare ACK, not its own answer. The first TTL that
// reaches the target is the first SYN there in a round; the next round finds
// the target clean. The pacer takes targets in order (every (hop, flow) once
// per round), so the gate holds at a flow's first hop.
// Landed() pumps again.
bool TracerouteProbe::MayStart(size_t pacer_target) const {
  return !(plan_.method == TraceroutePlan::Method::kTcp && pacer_target < plan_.flows &&
           taken_[pacer_target] > 0 && flows_[pacer_target].outstanding > 0);
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
  if (capturing()) captured_wires_[attempt.wire] = index;
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
    NoteCapture(answer.wire,
                absl::StrCat(CaptureLabelOf(index), " beyond the end of the trace"));
    attempt.state = Attempt::State::kSkipped;  // beyond the end: unreported
    return;                                    // on_wake pumps
  }
  v1::TracerouteReply reply;
  NewReply(index, &reply);
  FillTraceReply(answer, target_, KernelOrUser(attempt.kernel_sent, attempt.user_sent),
                 loop_->clock()->Wall(), &reply);
  if (capturing()) {
    const std::string rtt = CaptureMs(FromProto(reply.rtt()));
    const v1::Outcome outcome = reply.result().outcome();
    NoteCapture(
        answer.wire,
        absl::StrCat(CaptureLabelOf(index), " ",
                     outcome == v1::OUTCOME_OK || outcome == v1::OUTCOME_TIME_EXCEEDED
                         ? absl::StrCat("reply from ", reply.address(), " ", rtt)
                         : absl::StrCat(CaptureOutcome(reply.result()), " ", rtt),
                     reply.reached() ? " (the target)" : ""));
  }
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
  NoteCapture(attempt.wire, absl::StrCat(CaptureLabelOf(index), " timeout"));
  v1::TracerouteReply reply;
  NewReply(index, &reply);
  reply.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  reply.mutable_result()->set_detail(
      absl::StrCat("no answer within ", absl::FormatDuration(plan_.wait)));
  const size_t hop = index / (static_cast<size_t>(plan_.flows) * plan_.probes_per_hop);
  const uint32_t flow = reply.flow();
  ++hops_[hop * plan_.flows + flow].timed_out;
  StopIfSilent(flow);  // before Done emits what follows the hop
  Done(index, std::move(reply));
  if (finished()) return;
  pacer_->Pump();
  CheckFinished();
}

// A hop is silent once every probe of it timed out (traceroute's "* * *").
void TracerouteProbe::StopIfSilent(uint32_t flow) {
  const uint32_t last = std::min(flows_[flow].end, plan_.hops() - 1);
  const std::optional<uint32_t> end =
      SilentRunEnd(plan_.max_silent_hops, last, [&](uint32_t hop) {
        return hops_[static_cast<size_t>(hop) * plan_.flows + flow].timed_out ==
               plan_.probes_per_hop;
      });
  if (!end || *end >= flows_[flow].end) return;
  stopped_silent_ = true;
  EndFlowAt(flow, *end);
}

void TracerouteProbe::Done(size_t index, v1::TracerouteReply reply) {
  Attempt& attempt = attempts_[index];
  attempt.state = Attempt::State::kDone;
  const uint32_t flow = reply.flow(), probe = reply.probe();
  attempt.reply = std::move(reply);
  if (plan_.max_silent_hops == 0) return Advance(flow, probe);
  // A column may wait for the hops before its cursor (see Advance).
  for (uint32_t p = 0; p < plan_.probes_per_hop && !finished(); ++p) Advance(flow, p);
}

bool TracerouteProbe::HopComplete(uint32_t hop, uint32_t flow) const {
  for (uint32_t probe = 0; probe < plan_.probes_per_hop; ++probe) {
    if (attempts_[IndexOf(hop, flow, probe)].state != Attempt::State::kDone) return false;
  }
  return true;
}

void TracerouteProbe::Advance(uint32_t flow, uint32_t probe) {
  if (finished()) return;
  uint32_t& cursor = cursor_[static_cast<size_t>(flow) * plan_.probes_per_hop + probe];
  while (cursor < plan_.hops() && cursor <= flows_[flow].end) {
    Attempt& attempt = attempts_[IndexOf(cursor, flow, probe)];
    if (attempt.state != Attempt::State::kDone) return;
    // With max_silent_hops N, a hop is reported once the N before it are
    // complete: until then they may yet end the trace before it.
    for (uint32_t h = cursor - std::min(cursor, plan_.max_silent_hops); h < cursor; ++h) {
      if (!HopComplete(h, flow)) return;
    }
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
      if (attempt.state == Attempt::State::kInFlight) {
        NoteCapture(attempt.wire,
                    absl::StrCat(CaptureLabelOf(index), " beyond the end of the trace"));
        Landed(index);
      }
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

std::string TracerouteProbe::CaptureLabelOf(size_t index) const {
  const size_t per_hop = static_cast<size_t>(plan_.flows) * plan_.probes_per_hop;
  const uint32_t hop = static_cast<uint32_t>(index / per_hop);
  const uint32_t flow = static_cast<uint32_t>(index % per_hop / plan_.probes_per_hop);
  return absl::StrCat("traceroute ttl=", plan_.first_ttl + hop,
                      plan_.flows > 1 ? absl::StrCat(" flow ", flow) : "", " probe ",
                      index % plan_.probes_per_hop + 1);
}

std::optional<std::string> TracerouteProbe::CaptureLabel(uint32_t wire) const {
  auto it = captured_wires_.find(wire);
  if (it == captured_wires_.end()) return std::nullopt;
  return CaptureLabelOf(it->second);
}

void TracerouteProbe::AppendSummaries(std::vector<v1::TracerouteEvent>* out) {
  v1::TracerouteSummary* summary = AppendHopsAndSummary(
      [this](uint32_t flow) { return std::min(flows_[flow].end, plan_.hops() - 1); },
      [this](uint32_t hop, uint32_t flow) -> const TraceHopStats& {
        return hops_[static_cast<size_t>(hop) * plan_.flows + flow];
      },
      unmatched_, out);
  summary->set_stopped_silent(stopped_silent_);
}

std::string TracerouteProbe::CutShortDetail() const {
  return "probes in flight are counted as sent and lost";
}

void TracerouteProbe::Release() {
  for (Attempt& attempt : attempts_) {
    if (attempt.timer != 0) loop_->Cancel(attempt.timer);
    attempt.timer = 0;
  }
  in_flight_.clear();
  ReleaseTransport();
}

}  // namespace netprobe
