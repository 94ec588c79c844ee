#ifndef NETPROBE_CLIENT_INTERRUPT_H_
#define NETPROBE_CLIENT_INTERRUPT_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

namespace netprobe::client {

// Blocks SIGINT and SIGTERM in the calling thread and every thread created
// after it. main() calls it first, before gRPC starts threads, so that the
// signals reach only a CancelOnInterrupt waiter.
void BlockInterruptSignals();

// Cancels a call on SIGINT/SIGTERM (Ctrl-C), so the agent stops the probe and
// frees its sockets at once. Waits for the signals on its own thread.
// REQUIRES: BlockInterruptSignals() was called at start.
class CancelOnInterrupt {
 public:
  explicit CancelOnInterrupt(grpc::ClientContext* context);
  ~CancelOnInterrupt();
  bool interrupted() const { return interrupted_.load(); }

 private:
  grpc::ClientContext* const context_;
  std::atomic<bool> interrupted_{false};
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_INTERRUPT_H_
