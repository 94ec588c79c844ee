#include "agent/probes/probe_registry.h"

namespace netprobe {

ProbeRegistry::ProbeId ProbeRegistry::NewId() {
  const ProbeId id = next_id_.fetch_add(1);
  absl::MutexLock lock(&pending_mu_);
  pending_.emplace(id, false);
  return id;
}

size_t ProbeRegistry::pending_launches() const {
  absl::MutexLock lock(&pending_mu_);
  return pending_.size();
}

void ProbeRegistry::Launch(ProbeId id, Factory factory, absl::Duration stop_after) {
  loop_->Post([this, id, factory = std::move(factory), stop_after]() mutable {
    bool cancelled = false;
    {
      absl::MutexLock lock(&pending_mu_);
      if (auto it = pending_.find(id); it != pending_.end()) {
        cancelled = it->second;
        pending_.erase(it);
      }
    }
    if (cancelled) {
      // The client went away before its probe existed: build nothing, send
      // nothing. The factory's captures (the stream's sink, the caller's
      // concurrency slot) are released here, on the loop.
      Factory dropped = std::move(factory);
      return;
    }
    // `done` may be called from inside the probe's own callbacks: destroying
    // it there would pull the stack from under it, so erasing is posted.
    auto done = [this, id] { loop_->Post([this, id] { Erase(id); }); };
    std::unique_ptr<Probe> probe = factory(std::move(done));
    if (probe == nullptr) return;
    Probe* raw = probe.get();
    probes_.emplace(id, std::move(probe));
    active_.store(probes_.size());
    raw->Start();
    if (shutting_down_) {
      raw->Stop(StopReason::kAgentShutdown);
    } else if (stop_after != absl::InfiniteDuration() && probes_.count(id) > 0) {
      deadlines_[id] = loop_->RunAfter(stop_after, [this, id] {
        deadlines_.erase(id);
        if (auto it = probes_.find(id); it != probes_.end()) {
          it->second->Stop(StopReason::kDeadline);
        }
      });
    }
  });
}

void ProbeRegistry::Cancel(ProbeId id) {
  {
    // Not launched on the loop yet (the launch may not even be posted): mark
    // it, and the launch drops it. Checked under the same lock the launch
    // takes, so one of the two always sees the other.
    absl::MutexLock lock(&pending_mu_);
    if (auto it = pending_.find(id); it != pending_.end()) {
      it->second = true;
      return;
    }
  }
  loop_->Post([this, id] {
    auto it = probes_.find(id);
    if (it == probes_.end()) return;
    it->second->Stop(StopReason::kClientCancelled);
    Erase(id);
  });
}

void ProbeRegistry::StopAll(StopReason reason) {
  loop_->Post([this, reason] {
    if (reason == StopReason::kAgentShutdown) shutting_down_ = true;
    // Stop() may post erasures but never erases synchronously, so iterating is
    // safe.
    for (auto& [id, probe] : probes_) probe->Stop(reason);
  });
}

void ProbeRegistry::Erase(ProbeId id) {
  if (auto it = deadlines_.find(id); it != deadlines_.end()) {
    loop_->Cancel(it->second);
    deadlines_.erase(it);
  }
  probes_.erase(id);
  active_.store(probes_.size());
}

}  // namespace netprobe
