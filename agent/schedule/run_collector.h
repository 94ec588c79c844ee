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
#include "netprobe/v1/tcp.pb.h"
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
};

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

// The sink of an in-process run: keeps the summaries (bounded by the
// targets), hands each RTT to an observer, and reports once when the probe
// finishes. Never full: a run's probe never pauses. Loop thread only.
template <typename Event>
class RunCollector final : public EventSink<Event> {
 public:
  RunCollector(RttObserver on_rtt, std::function<void(RunOutcome)> done)
      : on_rtt_(std::move(on_rtt)), done_(std::move(done)) {
    outcome_.started = absl::Now();
  }

  bool Emit(Event event) override {
    if (finished_) return false;
    if (event.has_summary()) {
      outcome_.summaries.push_back(std::move(*event.mutable_summary()));
    } else if (auto answered = AnsweredAttempt(event); answered && on_rtt_) {
      on_rtt_(*answered->first, answered->second);
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
