#ifndef NETPROBE_AGENT_PROBES_PROBE_H_
#define NETPROBE_AGENT_PROBES_PROBE_H_

#include <string>

namespace netprobe {

// Why a probe is asked to stop before it completes on its own.
enum class StopReason {
  kClientCancelled,  // the client went away: release everything, emit nothing
  kAgentShutdown,    // SIGTERM: emit StreamEnd and summaries, then finish
  kDeadline,         // the call's deadline is near: the same, with REASON_DEADLINE
};

// A running probe. Knows nothing of gRPC: it was built from a validated
// request, runs on the event loop and writes events to its EventSink.
// Not thread-safe: owned by the loop (see ProbeRegistry).
class Probe {
 public:
  virtual ~Probe() = default;

  // Starts sending. Called once, on the loop thread.
  virtual void Start() = 0;

  // Stops early. Idempotent. After it returns the probe holds no sockets or
  // timers and has finished (or abandoned, when cancelled) its sink.
  virtual void Stop(StopReason reason) = 0;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PROBE_H_
