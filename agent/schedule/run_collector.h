#ifndef NETPROBE_AGENT_SCHEDULE_RUN_COLLECTOR_H_
#define NETPROBE_AGENT_SCHEDULE_RUN_COLLECTOR_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/probes/event_sink.h"
#include "common/proto_time.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/schedule.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "netprobe/v1/throughput.pb.h"
#include "netprobe/v1/traceroute.pb.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// What one in-process run produced.
struct RunOutcome {
  // Why the run could not start or ended early; OK when it completed.
  absl::Status status;
  // One per target that was probed, as the stream's summaries.
  std::vector<v1::TargetSummary> summaries;
  absl::Time started;
  absl::Duration duration;
  // Traceroute runs whose summary came: its hops and summary (the summary
  // is also in `summaries`, as TraceTargetSummary makes it).
  std::optional<v1::ScheduledTrace> trace;
  // Throughput runs whose summary came (also in `summaries`, as
  // ThroughputTargetSummary makes it).
  std::optional<v1::ThroughputSummary> throughput;
};

// Whether a throughput test succeeded: it ran to its end with the result
// exchange (no error) and the receiving end counted data.
bool ThroughputSucceeded(const v1::ThroughputSummary& summary);

// Whether the run got to `summary`'s target: an answer came back (echo
// reply, connection, echoed datagram); for a traceroute, the target itself
// answered (a router's time exceeded is not success); for a throughput test,
// ThroughputSucceeded.
inline bool Reached(const RunOutcome& outcome, const v1::TargetSummary& summary) {
  if (outcome.trace) return outcome.trace->summary().reached_ttl() > 0;
  if (outcome.throughput) return ThroughputSucceeded(*outcome.throughput);
  return summary.received() > 0;
}

// A traceroute's TargetSummary, for what every kind reports (sent, received,
// loss, RTT): the probes of every hop reported, and the RTT statistics of
// the hop (of the lowest flow) where the target answered. Its target has no
// port: a traceroute's target is a host (as in its request and in
// RequestTargets), so it is labelled by the host alone.
v1::TargetSummary TraceTargetSummary(const v1::ScheduledTrace& trace);

// A throughput test's TargetSummary: one attempt (the test), received 1 when
// it succeeded (ThroughputSucceeded), so the loss ratio is that of failed
// tests; no RTT. Its target is the summary's (host and port).
v1::TargetSummary ThroughputTargetSummary(const v1::ThroughputSummary& summary);

// Called for each answered attempt: its target and RTT (connect time).
using RttObserver = std::function<void(const v1::Endpoint& target, absl::Duration rtt)>;

// The answered attempt an event reports, if it is one.
inline std::optional<std::pair<const v1::Endpoint*, absl::Duration>> AnsweredAttempt(
    const v1::PingEvent& event) {
  if (!event.has_reply() || event.reply().result().outcome() != v1::OUTCOME_OK ||
      event.reply().duplicate()) {
    return std::nullopt;
  }
  return std::make_pair(&event.reply().target(), FromProto(event.reply().rtt()));
}
inline std::optional<std::pair<const v1::Endpoint*, absl::Duration>> AnsweredAttempt(
    const v1::TcpConnectEvent& event) {
  if (!event.has_attempt() || event.attempt().result().outcome() != v1::OUTCOME_OK) {
    return std::nullopt;
  }
  return std::make_pair(&event.attempt().target(),
                        FromProto(event.attempt().connect_time()));
}
inline std::optional<std::pair<const v1::Endpoint*, absl::Duration>> AnsweredAttempt(
    const v1::UdpEchoEvent& event) {
  if (!event.has_reply() || event.reply().result().outcome() != v1::OUTCOME_OK ||
      event.reply().duplicate()) {
    return std::nullopt;
  }
  return std::make_pair(&event.reply().target(), FromProto(event.reply().rtt()));
}
// Traceroute: a probe the target itself answered.
inline std::optional<std::pair<const v1::Endpoint*, absl::Duration>> AnsweredAttempt(
    const v1::TracerouteEvent& event) {
  if (!event.has_reply() || !event.reply().reached()) return std::nullopt;
  return std::make_pair(&event.reply().target(), FromProto(event.reply().rtt()));
}

// Throughput: no attempts of its own to time.
inline std::optional<std::pair<const v1::Endpoint*, absl::Duration>> AnsweredAttempt(
    const v1::ThroughputEvent&) {
  return std::nullopt;
}

// Keeps what `event` tells of the run's result in `outcome`: the summaries;
// a traceroute's hops and summary too; a throughput test's summary (its
// interval events are not kept). True when it was one of those.
// Traceroute replies lose their target's port, as TraceTargetSummary's.
template <typename Event>
bool KeepResult(Event& event, RunOutcome* outcome) {
  if (!event.has_summary()) return false;
  outcome->summaries.push_back(std::move(*event.mutable_summary()));
  return true;
}
bool KeepResult(v1::TracerouteEvent& event, RunOutcome* outcome);
bool KeepResult(v1::ThroughputEvent& event, RunOutcome* outcome);

// The sink of an in-process run: keeps the summaries (bounded by the
// targets; a traceroute's hops, by max_ttl and flows), hands each RTT to an
// observer, and reports once when the probe finishes. Never full: a run's
// probe never pauses. Loop thread only.
template <typename Event>
class RunCollector final : public EventSink<Event> {
 public:
  RunCollector(RttObserver on_rtt, std::function<void(RunOutcome)> done)
      : on_rtt_(std::move(on_rtt)), done_(std::move(done)) {
    outcome_.started = absl::Now();
  }

  bool Emit(Event event) override {
    if (finished_) return false;
    if (!KeepResult(event, &outcome_)) {
      if (auto answered = AnsweredAttempt(event); answered && on_rtt_) {
        on_rtt_(*answered->first, answered->second);
      }
    }
    return true;
  }
  bool Writable() const override { return true; }
  void NotifyWhenWritable(std::function<void()> resume) override { resume(); }
  using EventSink<Event>::Finish;
  void Finish(absl::Status status, std::vector<Event> closing) override {
    if (finished_) return;
    for (Event& event : closing) Emit(std::move(event));
    finished_ = true;
    outcome_.status = std::move(status);
    outcome_.duration = absl::Now() - outcome_.started;
    if (done_) std::exchange(done_, nullptr)(std::move(outcome_));
  }

 private:
  RttObserver on_rtt_;
  std::function<void(RunOutcome)> done_;
  RunOutcome outcome_;
  bool finished_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_RUN_COLLECTOR_H_
