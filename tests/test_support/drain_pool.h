#ifndef NETPROBE_TESTS_TEST_SUPPORT_DRAIN_POOL_H_
#define NETPROBE_TESTS_TEST_SUPPORT_DRAIN_POOL_H_

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "agent/net/blocking_pool.h"

namespace netprobe {

// Returns once every job `work`'s caller queued on `queue` before this call
// has run (the queue runs one caller's jobs in order; a queue of one thread
// has finished them too).
inline void DrainPool(const BlockingWork& work, BlockingPool::Queue queue) {
  absl::Notification ran;
  auto owner = std::make_shared<char>();
  work.Submit(queue, owner, [&] { ran.Notify(); });
  ran.WaitForNotification();
}

}  // namespace netprobe

#endif  // NETPROBE_TESTS_TEST_SUPPORT_DRAIN_POOL_H_
