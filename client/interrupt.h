#ifndef NETPROBE_CLIENT_INTERRUPT_H_
#define NETPROBE_CLIENT_INTERRUPT_H_

#include <grpcpp/client_context.h>

#include <atomic>

namespace netprobe::client {

// Blocks SIGINT and SIGTERM in the calling thread and every thread created
// after it. main() calls it first, before gRPC starts threads, so that the
// signals reach only the interrupt waiter.
void BlockInterruptSignals();

// Cancels a call on SIGINT/SIGTERM (Ctrl-C), so the agent stops the probe and
// frees its sockets at once. Any number may be alive at once (one per agent
// when a command runs on many): one process-wide waiter thread, started with
// the first of them, takes the signal and cancels every registered call. A
// call registered after a signal was taken is cancelled at once, so an agent
// whose thread starts late is not left running.
// REQUIRES: BlockInterruptSignals() was called at start.
class CancelOnInterrupt {
 public:
  explicit CancelOnInterrupt(grpc::ClientContext* context);
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  // A signal came while this call was registered (or before it was).
  bool interrupted() const { return interrupted_.load(); }

 private:
  friend class InterruptHub;
  // Called by the waiter with the registry locked.
  void Cancel();

  grpc::ClientContext* const context_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_INTERRUPT_H_
