#ifndef NETPROBE_AGENT_PROBES_EVENT_SINK_H_
#define NETPROBE_AGENT_PROBES_EVENT_SINK_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"

namespace netprobe {

// Where a probe's events go. The gRPC stream is one implementation; tests and
// (later) the scheduler are others. Called from the loop thread only.
template <typename Event>
class EventSink {
 public:
  virtual ~EventSink() = default;

  // Queues one event for delivery. Returns false when it was not queued: the
  // queue is full (the event is counted as dropped and a Dropped notice reaches
  // the client before the next event) or the client is gone.
  virtual bool Emit(Event event) = 0;

  // True while the queue is below its high-water mark. Probes that can pause
  // (ping, tcp, udp) check this before starting new work rather than drop.
  virtual bool Writable() const = 0;

  // Runs `resume` on the loop thread once the queue has drained to its
  // low-water mark. One pending callback at a time; a new one replaces it.
  virtual void NotifyWhenWritable(std::function<void()> resume) = 0;

  // Queues `closing` (the StreamEnd, the summaries, a capture's final stats)
  // whatever the queue holds, and ends the stream with `status` once every
  // queued event is delivered. The closing events are never dropped: their
  // room is reserved (ProbeBase calls this exactly once, with a number of
  // events its plan bounds). The first call wins; later ones are ignored.
  virtual void Finish(absl::Status status, std::vector<Event> closing) = 0;
  void Finish(absl::Status status) { Finish(std::move(status), {}); }
};

// Runs `resume` once `sink` is writable again, unless `alive` has expired by
// then (its owner is gone). `*waiting` is true while such a wait is pending,
// so a caller that finds the queue full again does not stack waits.
template <typename Event>
void ResumeWhenWritable(EventSink<Event>& sink, bool* waiting, std::weak_ptr<char> alive,
                        std::function<void()> resume) {
  if (*waiting) return;
  *waiting = true;
  sink.NotifyWhenWritable(
      [waiting, alive = std::move(alive), resume = std::move(resume)] {
        if (!alive.lock()) return;
        *waiting = false;
        resume();
      });
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_EVENT_SINK_H_
