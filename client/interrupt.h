#ifndef NETPROBE_CLIENT_INTERRUPT_H_
#define NETPROBE_CLIENT_INTERRUPT_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

namespace netprobe::client {

// Cancels a streaming call on SIGINT/SIGTERM (Ctrl-C), so the agent stops the
// probe and frees its sockets at once. Blocks those signals in the calling
// thread (and threads created after) and waits for them on its own thread.
// Create it before the channel starts its threads.
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
