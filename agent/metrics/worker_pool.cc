#include "agent/metrics/worker_pool.h"

#include <pthread.h>
#include <signal.h>

#include <system_error>
#include <utility>

namespace netprobe::metrics {

void BlockAllSignals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

WorkerPool::WorkerPool(Options options) : options_(std::move(options)) {}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  JoinExited();
  absl::MutexLock lock(&mu_);
  if (shutdown_) return false;
  // Each thread not running a task takes a queued one (idle threads, and new
  // ones not yet started); the rest of the queue waits for a thread.
  if (queue_.size() + busy_ >= options_.max_threads + options_.max_queued) return false;
  queue_.push_back(std::move(task));
  if (queue_.size() > threads_.size() - busy_ && threads_.size() < options_.max_threads) {
    uint64_t id = next_id_++;
    // The thread needs mu_ to start, so it finds itself in threads_.
    try {
      threads_.emplace(id, std::thread([this, id] { WorkerLoop(id); }));
    } catch (const std::system_error&) {  // out of threads: refuse, not crash
      queue_.pop_back();
      return false;
    }
  }
  return true;
}

void WorkerPool::WorkerLoop(uint64_t id) {
  pthread_setname_np(pthread_self(), options_.thread_name.c_str());
  BlockAllSignals();
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || shutdown_;
  };
  mu_.Lock();
  for (;;) {
    if (queue_.empty()) {
      if (shutdown_) break;
      if (!mu_.AwaitWithTimeout(absl::Condition(&has_work), options_.idle_exit))
        break;  // idle for idle_exit
      continue;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    mu_.Unlock();
    task();
    task = nullptr;  // whatever it holds is released outside mu_
    mu_.Lock();
    --busy_;
  }
  auto self = threads_.find(id);
  exited_.push_back(std::move(self->second));
  threads_.erase(self);
  mu_.Unlock();
}

void WorkerPool::JoinExited() {
  std::vector<std::thread> exited;
  {
    absl::MutexLock lock(&mu_);
    exited.swap(exited_);
  }
  for (std::thread& t : exited) t.join();
}

void WorkerPool::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    // Threads run what is queued before they exit.
    mu_.Await(absl::Condition(
        +[](std::map<uint64_t, std::thread>* threads) { return threads->empty(); },
        &threads_));
  }
  JoinExited();
}

WorkerPool::Stats WorkerPool::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{threads_.size(), busy_, queue_.size()};
}

}  // namespace netprobe::metrics
