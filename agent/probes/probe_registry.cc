#include "agent/probes/probe_registry.h"

namespace netprobe {

void ProbeRegistry::Launch(ProbeId id, Factory factory) {
  loop_->Post([this, id, factory = std::move(factory)] {
    // `done` may be called from inside the probe's own callbacks: destroying
    // it there would pull the stack from under it, so erasing is posted.
    auto done = [this, id] { loop_->Post([this, id] { Erase(id); }); };
    std::unique_ptr<Probe> probe = factory(std::move(done));
    if (probe == nullptr) return;
    Probe* raw = probe.get();
    probes_.emplace(id, std::move(probe));
    active_.store(probes_.size());
    raw->Start();
    if (shutting_down_) raw->Stop(StopReason::kAgentShutdown);
  });
}

void ProbeRegistry::Cancel(ProbeId id) {
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
  probes_.erase(id);
  active_.store(probes_.size());
}

}  // namespace netprobe
