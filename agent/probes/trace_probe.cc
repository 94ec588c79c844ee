#include "agent/probes/trace_probe.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/probes/trace_capture.h"
#include "agent/util/log.h"

namespace netprobe {

TraceProbe::TraceProbe(TraceroutePlan plan, EventLoop* loop, BlockingWork work,
                       std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::move(plan)),
      work_(std::move(work)),
      token_(TraceTransport::NewToken()) {}

void TraceProbe::Start() {
  if (plan_.resolve) names_.emplace(work_, loop_, alive());
  ResolveOnLoop(work_, loop_, alive(), plan_.host, plan_.family, "target",
                plan_.admission.AddressCheck(),
                [this](absl::StatusOr<SocketAddress> r) { OnResolved(std::move(r)); });
}

void TraceProbe::OnResolved(absl::StatusOr<SocketAddress> address) {
  if (finished()) return;
  if (!address.ok()) return Fail(address.status());
  TraceTransport::Callbacks callbacks;
  callbacks.on_answer = [this](const TraceTransport::Answer& a) { OnAnswer(a); };
  callbacks.on_sent = [this](uint32_t wire, absl::Time sent) { OnSentAt(wire, sent); };
  callbacks.on_wake = [this] { Resume(); };
  callbacks.finished = [this] { return finished(); };
  absl::StatusOr<std::unique_ptr<TraceTransport>> transport =
      TraceTransport::ForPlan(loop_, plan_, *address, token_, std::move(callbacks));
  if (!transport.ok()) return Fail(transport.status());
  transport_ = *std::move(transport);
  target_ = transport_->target();
  payload_size_ = transport_->payload_size();
  Prepare();
  if (!plan_.capture) return StartPacing();
  // The first probe leaves once the capture sees the trace's packets.
  StartCapture(
      *plan_.capture, work_, TraceCaptureFilter(*transport_),
      [this](const CapturedIp& ip) -> std::optional<ProbeCapture::Match> {
        const std::optional<uint32_t> wire = TraceCapturedWire(*transport_, ip);
        if (!wire) return std::nullopt;
        std::optional<std::string> label = CaptureLabel(*wire);
        if (!label) return std::nullopt;
        return ProbeCapture::Match{*wire, absl::StrCat(*label, ", no answer by the end")};
      },
      [this] { StartPacing(); });
}

void TraceProbe::StartPacing() {
  pacer_.emplace(
      loop_, TracePacing(plan_, PacerCount(), PacerInterval()),
      [this](size_t target) { return MaySend(target); },
      [this](size_t target, uint32_t sequence) { Send(target, sequence); });
  pacer_->Start();
  CheckFinished();
}

// The pacer's gate: pause while the client reads slowly, the kind's own
// gate, and keep 16-bit sequences unambiguous.
bool TraceProbe::MaySend(size_t target) {
  if (!Writable()) {
    WhenWritable([this] { Resume(); });
    return false;
  }
  if (!MayStart(target)) return false;
  return InFlight() < transport_->MaxInFlight();
}

void TraceProbe::Resume() {
  pacer_->Pump();
  CheckFinished();
}

v1::TracerouteSummary* TraceProbe::AppendHopsAndSummary(
    absl::FunctionRef<uint32_t(uint32_t flow)> last,
    absl::FunctionRef<const TraceHopStats&(uint32_t hop, uint32_t flow)> stats,
    uint64_t unmatched, std::vector<v1::TracerouteEvent>* out) const {
  if (transport_) unmatched += transport_->unmatched();
  if (unmatched > 0) {
    LogLine(absl::StrCat(plan_.mtr() ? "mtr " : "traceroute ", plan_.host, ": ",
                         unmatched, " answers matched no probe in flight"));
  }
  uint32_t reached_ttl = 0;
  uint64_t sent = 0, received = 0;  // of the hops reported
  for (uint32_t flow = 0; transport_ && flow < plan_.flows; ++flow) {
    const uint32_t end = last(flow);
    for (uint32_t hop = 0; hop <= end; ++hop) {
      const TraceHopStats& h = stats(hop, flow);
      if (h.sent == 0) continue;
      const uint32_t ttl = plan_.first_ttl + hop;
      v1::TracerouteEvent event;
      h.Fill(ttl, flow, event.mutable_hop());
      if (names_) {
        for (const std::string& a : h.addresses) {
          event.mutable_hop()->add_hostnames(names_->Known(a));
        }
      }
      sent += h.sent;
      received += h.received;
      if (h.reached && (reached_ttl == 0 || ttl < reached_ttl)) reached_ttl = ttl;
      out->push_back(std::move(event));
    }
  }
  v1::TracerouteSummary* summary = out->emplace_back().mutable_summary();
  FillTarget(summary->mutable_target());
  summary->set_reached_ttl(reached_ttl);
  summary->set_sent(sent);
  summary->set_received(received);
  summary->set_unmatched(unmatched);
  return summary;
}

void TraceProbe::ReleaseTransport() {
  if (pacer_) pacer_->Stop();
  if (transport_) transport_->Close();
}

}  // namespace netprobe
