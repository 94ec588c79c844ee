#ifndef NETPROBE_AGENT_NET_BLOCKING_POOL_H_
#define NETPROBE_AGENT_NET_BLOCKING_POOL_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace netprobe {

// The agent's threads for calls that block (getaddrinfo, sock_diag dumps and
// /proc scans, pcap_compile), which neither the event loop nor gRPC's
// callback threads may make. Each queue has its own threads, so a slow
// Sockets watch never delays a name lookup. Within a queue, callers take
// turns: the next job is the oldest of the caller after the one served last,
// so one caller's 4,096 names wait behind each other, not in front of
// everybody else's. A job whose owner is gone (the probe was cancelled) is
// skipped, not run. Threads start with the first job that finds none idle
// (an idle agent has none) and block every signal. Thread-safe.
class BlockingPool {
 public:
  enum class Queue { kResolve, kDiagnostics };
  static constexpr size_t kQueues = 2;

  struct Options {
    int resolve_threads = 2;
    int diagnostics_threads = 1;
  };

  // What a queue has done, for tests and metrics.
  struct Counts {
    uint64_t ran = 0;      // jobs started
    uint64_t skipped = 0;  // the owner was gone when the job's turn came
    size_t queued = 0;
    size_t threads = 0;
  };

  BlockingPool();
  explicit BlockingPool(Options options);
  // Drops the jobs still queued (they never run); waits for running ones.
  ~BlockingPool();

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work` on a thread of `queue`, in `caller`'s turn, unless `alive`
  // has expired by then. Jobs of one caller start in the order submitted.
  void Submit(Queue queue, const std::string& caller, std::weak_ptr<const void> alive,
              std::function<void()> work);

  Counts counts(Queue queue) const;

 private:
  struct Job {
    std::weak_ptr<const void> alive;
    std::function<void()> work;
  };
  struct Lane {
    int max_threads = 1;
    const char* thread_name = "";
    std::map<std::string, std::deque<Job>> by_caller;
    std::deque<std::string> turns;  // callers with jobs, next first
    std::vector<std::thread> threads;
    size_t idle = 0;
    size_t queued = 0;
    uint64_t ran = 0;  // jobs started
    uint64_t skipped = 0;
  };

  void Work(Lane* lane);
  void StartThread(Lane* lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::array<Lane, kQueues> lanes_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// A caller's handle on the pool: what a probe submits is queued in its
// caller's turn. Copyable; the pool outlives every probe.
struct BlockingWork {
  BlockingPool* pool = nullptr;
  std::string caller;

  void Submit(BlockingPool::Queue queue, std::weak_ptr<const void> alive,
              std::function<void()> work) const {
    pool->Submit(queue, caller, std::move(alive), std::move(work));
  }
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_BLOCKING_POOL_H_
