#include "agent/net/blocking_pool.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>

namespace netprobe {

BlockingPool::BlockingPool() : BlockingPool(Options{}) {}

BlockingPool::BlockingPool(Options options) {
  absl::MutexLock lock(&mu_);
  Lane& resolve = lanes_[static_cast<size_t>(Queue::kResolve)];
  resolve.max_threads = std::max(1, options.resolve_threads);
  resolve.thread_name = "np-resolve";
  Lane& diagnostics = lanes_[static_cast<size_t>(Queue::kDiagnostics)];
  diagnostics.max_threads = std::max(1, options.diagnostics_threads);
  diagnostics.thread_name = "np-diagnose";
}

BlockingPool::~BlockingPool() {
  std::vector<std::thread> threads;
  std::vector<std::map<std::string, std::deque<Job>>> dropped;  // destroyed unlocked
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (Lane& lane : lanes_) {
      dropped.push_back(std::move(lane.by_caller));
      lane.by_caller.clear();
      lane.turns.clear();
      lane.queued = 0;
      for (std::thread& t : lane.threads) threads.push_back(std::move(t));
      lane.threads.clear();
    }
  }
  dropped.clear();  // before waiting: a running job may wait for one of these
  for (std::thread& t : threads) t.join();
}

void BlockingPool::Submit(Queue queue, const std::string& caller,
                          std::weak_ptr<const void> alive, std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  Lane& lane = lanes_[static_cast<size_t>(queue)];
  std::deque<Job>& jobs = lane.by_caller[caller];
  if (jobs.empty()) lane.turns.push_back(caller);
  jobs.push_back(Job{std::move(alive), std::move(work)});
  ++lane.queued;
  if (lane.idle < lane.queued &&
      lane.threads.size() < static_cast<size_t>(lane.max_threads)) {
    StartThread(&lane);
  }
}

void BlockingPool::StartThread(Lane* lane) {
  // A new thread inherits the creator's signal mask: block everything while
  // creating it, so no signal meant for the agent's handler lands on a worker
  // (not even before the worker could mask it itself).
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  lane->threads.emplace_back([this, lane] {
    pthread_setname_np(pthread_self(), lane->thread_name);
    Work(lane);
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void BlockingPool::Work(Lane* lane) {
  absl::MutexLock lock(&mu_);
  while (true) {
    ++lane->idle;
    std::pair<BlockingPool*, Lane*> args(this, lane);
    mu_.Await(absl::Condition(
        +[](std::pair<BlockingPool*, Lane*>* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return a->first->stopping_ || !a->second->turns.empty();
        },
        &args));
    --lane->idle;
    if (stopping_) return;
    // The caller whose turn it is gives its oldest job, then goes to the back.
    const std::string caller = std::move(lane->turns.front());
    lane->turns.pop_front();
    auto it = lane->by_caller.find(caller);
    Job job = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) {
      lane->by_caller.erase(it);
    } else {
      lane->turns.push_back(caller);
    }
    --lane->queued;
    if (job.alive.expired()) {
      ++lane->skipped;
      continue;
    }
    ++lane->ran;
    mu_.Unlock();
    job.work();
    job.work = nullptr;  // destroyed off the lock
    mu_.Lock();
  }
}

BlockingPool::Counts BlockingPool::counts(Queue queue) const {
  absl::MutexLock lock(&mu_);
  const Lane& lane = lanes_[static_cast<size_t>(queue)];
  return Counts{lane.ran, lane.skipped, lane.queued, lane.threads.size()};
}

}  // namespace netprobe
