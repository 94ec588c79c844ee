#ifndef NETPROBE_AGENT_PROBES_PROBE_BASE_H_
#define NETPROBE_AGENT_PROBES_PROBE_BASE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/net/event_loop.h"
#include "agent/probes/event_sink.h"
#include "agent/probes/probe.h"
#include "agent/probes/probe_capture.h"
#include "common/proto_time.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// The one lifecycle of every probe kind. A probe derives from it and adds
// only what is particular to it: Start(), Release() (its sockets and timers),
// AppendSummaries(). The base ends the probe exactly once, from every path:
//  - Complete(): it finished on its own: the summaries, then OK;
//  - Fail(status): the request could not run (resolution, socket): the RPC's
//    error, no summaries;
//  - Stop(kAgentShutdown) and Stop(kDeadline): a StreamEnd saying why and
//    what was cut short, the summaries, then OK;
//  - Stop(kClientCancelled): nothing more is emitted.
// Each releases the probe's resources first, hands the closing events to
// EventSink::Finish (never dropped, whatever the queue holds: their room is
// reserved) and then calls `done`, after which the registry destroys it.
// `Event` is a probe's event proto with an `end` (v1::StreamEnd) field.
// Not thread-safe: loop thread only.
template <typename Event>
class ProbeBase : public Probe {
 public:
  using Sink = EventSink<Event>;

  ~ProbeBase() override = default;

  void Stop(StopReason reason) final {
    if (finished_) return;
    if (reason == StopReason::kClientCancelled) {
      End(absl::CancelledError("cancelled by the client"), {});
      return;
    }
    BeforeCutShort();
    if (finished_) return;  // it ended on its own meanwhile
    if (capture_ != nullptr) capture_->Release(/*read_ring=*/true);
    Release();
    std::vector<Event> closing = CaptureClosing();
    v1::StreamEnd end;
    const bool deadline = reason == StopReason::kDeadline;
    end.set_reason(deadline ? v1::StreamEnd::REASON_DEADLINE
                            : v1::StreamEnd::REASON_AGENT_SHUTDOWN);
    end.set_detail(absl::StrCat(
        deadline ? "the call's deadline was reached" : "the agent is shutting down", "; ",
        CutShortDetail()));
    ToProto(loop_->clock()->Wall(), end.mutable_time());
    AppendShutdownClosing(std::move(end), &closing);
    End(absl::OkStatus(), std::move(closing));
  }

 protected:
  ProbeBase(EventLoop* loop, std::shared_ptr<Sink> sink, std::function<void()> done)
      : loop_(loop), sink_(std::move(sink)), done_(std::move(done)) {}

  // Closes the probe's sockets and cancels its timers. Called before the
  // closing events are built (so counters read at the end are final); must
  // be idempotent: derived destructors call it too.
  virtual void Release() = 0;
  // The per-target summaries (or a capture's final stats), in order.
  virtual void AppendSummaries(std::vector<Event>* out) = 0;
  // The last work before an agent shutdown or the call's deadline releases
  // the probe (a capture delivers what its ring already holds; a prober
  // counts the attempts in flight as sent and lost, as ping does at -w).
  // May end the probe.
  virtual void BeforeCutShort() {}
  // What being cut short did to the work in flight ("the group was left"),
  // after the StreamEnd's reason ("the agent is shutting down; ...").
  virtual std::string CutShortDetail() const = 0;
  // The closing events when cut short: `end`, then the summaries. A probe whose
  // clients expect another order overrides it.
  virtual void AppendShutdownClosing(v1::StreamEnd end, std::vector<Event>* out) {
    Event event;
    *event.mutable_end() = std::move(end);
    out->push_back(std::move(event));
    AppendSummaries(out);
  }

  // Finished on its own: `closing_first` (e.g. a StreamEnd naming the limit
  // reached), then the summaries, then OK. With a capture, its ring is
  // drained first (up to ProbeCapture::kDrainWait; a second Complete while
  // it drains does nothing) and its last packets and stats come before
  // `closing_first`.
  void Complete(std::vector<Event> closing_first = {}) {
    if (finished_) return;
    if (capture_ != nullptr && !capture_->drained()) {
      if (capture_->draining()) return;
      auto closing = std::make_shared<std::vector<Event>>(std::move(closing_first));
      capture_->Drain([this, closing] { Complete(std::move(*closing)); });
      return;
    }
    if (capture_ != nullptr) capture_->Release(/*read_ring=*/true);
    Release();
    std::vector<Event> out = CaptureClosing();
    for (Event& event : closing_first) out.push_back(std::move(event));
    AppendSummaries(&out);
    End(absl::OkStatus(), std::move(out));
  }

  // The capture of the probe's own packets (ProbeCaptureOptions): opens it
  // with `filter` and runs `ready` (the probe's start) once it sees packets;
  // if it cannot (no CAP_NET_RAW), the probe fails and `ready` never runs.
  // Its packets travel as the events' `capture` field.
  void StartCapture(const ProbeCapturePlan& plan, BlockingWork work, std::string filter,
                    ProbeCapture::Classifier classify, std::function<void()> ready) {
    static_assert(kHasCapture, "the probe's event has no capture field");
    ProbeCapture::Hooks hooks;
    hooks.emit = [this](v1::ProbeCaptureEvent capture) {
      Event event;
      *event.mutable_capture() = std::move(capture);
      return Emit(std::move(event));
    };
    hooks.writable = [this] { return Writable(); };
    hooks.fail = [this](absl::Status status) { Fail(std::move(status)); };
    capture_ =
        std::make_unique<ProbeCapture>(loop_, std::move(work), plan, std::move(hooks));
    capture_->Start(std::move(filter), std::move(classify), std::move(ready));
  }
  bool capturing() const { return capture_ != nullptr; }
  // The probe's event `key` happened: the comment of its packets.
  void NoteCapture(uint64_t key, std::string comment) {
    if (capture_ != nullptr) capture_->Note(key, std::move(comment));
  }
  // The request could not run: the RPC ends with `status`.
  void Fail(absl::Status status) {
    if (finished_) return;
    End(std::move(status), {});
  }

  bool finished() const { return finished_; }
  bool Emit(Event event) { return !finished_ && sink_->Emit(std::move(event)); }
  bool Writable() const { return sink_->Writable(); }
  // Runs `resume` once the sink drained, unless the probe ended or is gone by
  // then. One wait at a time: a second call while one is pending is a no-op.
  void WhenWritable(std::function<void()> resume) {
    if (waiting_for_sink_ || finished_) return;
    waiting_for_sink_ = true;
    sink_->NotifyWhenWritable(
        [this, alive = std::weak_ptr<char>(alive_), resume = std::move(resume)] {
          if (!alive.lock()) return;
          waiting_for_sink_ = false;
          if (!finished_) resume();
        });
  }
  // Expires when the probe is destroyed: callbacks from other threads (name
  // resolution, blocking work) hold it and do nothing once it has expired.
  std::weak_ptr<char> alive() const { return alive_; }

  EventLoop* const loop_;

 private:
  static constexpr bool kHasCapture = requires(Event e) { e.mutable_capture(); };

  std::vector<Event> CaptureClosing() {
    std::vector<Event> out;
    if constexpr (kHasCapture) {
      if (capture_ != nullptr) {
        for (v1::ProbeCaptureEvent& capture : capture_->Closing()) {
          *out.emplace_back().mutable_capture() = std::move(capture);
        }
      }
    }
    return out;
  }

  void End(absl::Status status, std::vector<Event> closing) {
    finished_ = true;
    if (capture_ != nullptr) capture_->Release(/*read_ring=*/false);
    Release();
    sink_->Finish(std::move(status), std::move(closing));
    done_();
  }

  const std::shared_ptr<Sink> sink_;
  const std::function<void()> done_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  std::unique_ptr<ProbeCapture> capture_;
  bool finished_ = false;
  bool waiting_for_sink_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PROBE_BASE_H_
