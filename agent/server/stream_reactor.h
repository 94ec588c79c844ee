#ifndef NETPROBE_AGENT_SERVER_STREAM_REACTOR_H_
#define NETPROBE_AGENT_SERVER_STREAM_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/probes/stream_bridge.h"
#include "agent/server/grpc_status.h"

namespace netprobe {

// The streams whose reactor has not finished yet (OnDone), process-wide:
// the agent's shutdown waits for them before it shuts gRPC's server down,
// since the server's GOAWAY and closed connections can overtake a status
// that was just finished. Thread-safe.
class LiveStreams {
 public:
  static LiveStreams& Get() {
    static LiveStreams* live = new LiveStreams();
    return *live;
  }
  void Add() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void Remove() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  int count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  // True when none is left by `deadline`.
  bool WaitForNone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(absl::Condition(
                                     +[](int* count) { return *count == 0; }, &count_),
                                 deadline);
  }

 private:
  mutable absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

// A server-streaming reactor that writes what its StreamBridge queues. Owned by
// gRPC: deletes itself in OnDone(). `on_client_gone` runs (once) when the
// client cancels or a write fails, so the probe behind the bridge is stopped.
template <typename Event, typename Batch>
class StreamReactor final : public grpc::ServerWriteReactor<Batch>,
                            public StreamBridge<Event, Batch>::Writer {
 public:
  using Bridge = StreamBridge<Event, Batch>;

  StreamReactor(std::shared_ptr<Bridge> bridge, std::function<void()> on_client_gone)
      : bridge_(std::move(bridge)), on_client_gone_(std::move(on_client_gone)) {
    LiveStreams::Get().Add();
    bridge_->Attach(this);
  }

  // Finishes at once with `status` (a request that could not start).
  static StreamReactor* Rejected(EventLoop* loop, absl::Status status) {
    auto bridge = std::make_shared<Bridge>(loop, StreamLimits{});
    auto* reactor = new StreamReactor(bridge, [] {});
    bridge->Finish(std::move(status));
    return reactor;
  }

  void StartWrite(const Batch* batch, bool /*more_queued*/) override {
    // No buffer hint even when more is queued: a hinted write may not complete
    // until a later write flushes it, and with one write in flight there is
    // no later write. That deadlocked streams of over 256 queued events;
    // batching already amortizes the per-message cost.
    grpc::ServerWriteReactor<Batch>::StartWrite(batch);
  }
  void FinishStream(absl::Status status) override {
    grpc::ServerWriteReactor<Batch>::Finish(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) ClientGone();
    bridge_->OnWriteDone(ok);
  }
  void OnCancel() override {
    ClientGone();
    bridge_->OnCancel();
  }
  void OnDone() override {
    bridge_->Detach();
    LiveStreams::Get().Remove();
    delete this;
  }

 private:
  // OnWriteDone and OnCancel may run concurrently on different threads.
  void ClientGone() {
    if (!gone_.exchange(true)) on_client_gone_();
  }

  std::shared_ptr<Bridge> bridge_;
  const std::function<void()> on_client_gone_;  // thread-safe (it posts)
  std::atomic<bool> gone_{false};
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_STREAM_REACTOR_H_
