#ifndef NETPROBE_AGENT_METRICS_WORKER_POOL_H_
#define NETPROBE_AGENT_METRICS_WORKER_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace netprobe::metrics {

// A bounded pool of threads started on demand: threads are a budgeted
// resource of the agent, so an idle pool has none. Tasks may block (a /probe
// request waits for its probe); concurrency is max_threads, and max_queued
// more tasks wait for a free thread; beyond that TrySubmit refuses.
// Thread-safe.
class WorkerPool {
 public:
  struct Options {
    size_t max_threads = 4;
    size_t max_queued = 8;
    // A thread with nothing to do for this long exits.
    absl::Duration idle_exit = absl::Seconds(30);
    // pthread_setname_np name of the threads (at most 15 characters).
    std::string thread_name = "np-http-work";
  };
  struct Stats {
    size_t threads = 0;  // running (busy or idle)
    size_t busy = 0;     // running a task
    size_t queued = 0;   // submitted, not yet started
  };

  explicit WorkerPool(Options options);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // Shutdown()

  // Runs `task` on an idle thread, a new one (up to max_threads), or the
  // first to become free (up to max_queued waiting). Returns false, without
  // running it, when the pool is full or shut down.
  bool TrySubmit(std::function<void()> task);

  // Refuses new tasks, runs the queued ones, waits for all to finish and
  // joins every thread. Idempotent. Must not be called from a task.
  void Shutdown();

  Stats stats() const;

 private:
  void WorkerLoop(uint64_t id);
  // Joins threads that have exited. Called without mu_ held.
  void JoinExited();

  const Options options_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::thread> threads_ ABSL_GUARDED_BY(mu_);
  // Threads that left WorkerLoop, to be joined (they hold no resources but
  // their stacks once exited; /proc/self/task no longer lists them).
  std::vector<std::thread> exited_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  size_t busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

// Blocks every signal in the calling thread: helper threads leave signals to
// the thread that handles them, and their blocking calls see no EINTR.
void BlockAllSignals();

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_WORKER_POOL_H_
