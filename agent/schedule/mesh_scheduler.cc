#include "agent/schedule/mesh_scheduler.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "agent/schedule/fixed_rate.h"
#include "agent/schedule/schedule_config.h"
#include "agent/schedule/single_run.h"
#include "common/proto_time.h"

namespace netprobe {

BlockingRunner PoolRunner(BlockingPool* pool) {
  return [pool](const std::string& caller, std::weak_ptr<const void> alive,
                std::function<void()> work) {
    pool->Submit(BlockingPool::Queue::kResolve, caller, std::move(alive),
                 std::move(work));
  };
}

MeshScheduler::MeshScheduler(EventLoop* loop, ProbeStarter* starter,
                             MeshObserver* observer, MeshSchedulerOptions options)
    : loop_(loop),
      starter_(starter),
      observer_(observer),
      options_(std::move(options)),
      rng_(options_.seed != 0 ? options_.seed : std::random_device()()) {
  if (!options_.host.resolve || !options_.host.is_own) options_.host = RealMeshHost();
  if (!options_.blocking) {
    // No runner given: inline (tests whose resolver is scripted); the agent
    // gives PoolRunner.
    options_.blocking = [](const std::string&, std::weak_ptr<const void>,
                           std::function<void()> work) { work(); };
  }
  if (!options_.log) {
    options_.log = [](const std::string& line) {
      std::fprintf(stderr, "netprobe-agent: %s\n", line.c_str());
    };
  }
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
}

void MeshScheduler::Set(std::vector<MeshSpec> meshes) {
  if (stop_requested_) return;
  loop_->RunAndWait([this, &meshes] {
    if (stopped_) return;
    std::map<std::string, std::vector<std::string>> kept_peers;
    for (const std::unique_ptr<Entry>& old : entries_) {
      const auto same =
          std::find_if(meshes.begin(), meshes.end(), [&](const MeshSpec& m) {
            return m.name == old->spec.name && m.labels == old->spec.labels &&
                   m.interval == old->spec.interval &&
                   m.request.SerializeAsString() == old->spec.request.SerializeAsString();
          });
      if (same == meshes.end()) {
        observer_->OnRemoved(old->spec.name);
      } else {
        kept_peers[old->spec.name] = old->peers;
      }
    }
    Clear();
    const absl::Duration now = loop_->Now();
    for (MeshSpec& spec : meshes) {
      auto entry = std::make_unique<Entry>();
      entry->spec = std::move(spec);
      entry->peers = entry->spec.peers;
      if (!entry->peers.empty()) entry->last_resolve = now;
      std::vector<std::string> gone;
      for (const std::string& peer : kept_peers[entry->spec.name]) {
        if (!std::binary_search(entry->peers.begin(), entry->peers.end(), peer)) {
          gone.push_back(peer);
        }
      }
      observer_->OnPeers(entry->spec, entry->peers, gone);
      entry->next_due = now;
      entries_.push_back(std::move(entry));
    }
    for (size_t i = 0; i < entries_.size(); ++i) Arm(i);
    Publish();
  });
}

void MeshScheduler::Stop() {
  if (stop_requested_.exchange(true)) return;
  loop_->RunAndWait([this] {
    stopped_ = true;
    Clear();
  });
  absl::MutexLock lock(&described_mu_);
  described_.clear();
}

std::vector<v1::ScheduledProbeInfo> MeshScheduler::Describe() const {
  absl::MutexLock lock(&described_mu_);
  return described_;
}

void MeshScheduler::Publish() {
  std::vector<v1::ScheduledProbeInfo> described;
  for (const std::unique_ptr<Entry>& entry : entries_) {
    v1::ScheduledProbeInfo& info = described.emplace_back();
    info.set_name(entry->spec.name);
    info.set_kind("Mesh");
    ToProto(entry->spec.interval, info.mutable_interval());
    for (const std::string& name : entry->spec.plan.names) info.add_targets(name);
    for (const auto& [key, value] : entry->spec.labels)
      (*info.mutable_labels())[key] = value;
    for (const std::string& peer : entry->peers) info.add_peers(peer);
  }
  absl::MutexLock lock(&described_mu_);
  described_ = std::move(described);
}

void MeshScheduler::Clear() {
  ++generation_;
  for (const std::unique_ptr<Entry>& entry : entries_) {
    if (entry->timer != 0) loop_->Cancel(entry->timer);
    if (entry->round == nullptr) continue;
    if (entry->round->timer != 0) loop_->Cancel(entry->round->timer);
    for (const std::shared_ptr<Pending>& pending : entry->round->running) {
      if (!pending->ended && pending->id) starter_->Cancel(*pending->id);
    }
  }
  entries_.clear();
}

void MeshScheduler::Arm(size_t index) {
  Entry& entry = *entries_[index];
  entry.timer = loop_->RunAt(entry.next_due, [this, index, generation = generation_] {
    Due(index, generation);
  });
}

void MeshScheduler::Due(size_t index, uint64_t generation) {
  if (generation != generation_) return;
  Entry& entry = *entries_[index];
  entry.timer = 0;
  const absl::Duration now = loop_->Now();
  entry.next_due = NextDue(entry.next_due, entry.spec.interval, now);
  Arm(index);
  if (entry.round != nullptr) {
    observer_->OnSkipped(entry.spec);
    return;
  }
  const std::optional<absl::Duration>& every = entry.spec.plan.resolve_interval;
  if (!entry.last_resolve || !every || now - *entry.last_resolve >= *every)
    Resolve(index);
  StartRound(index);
}

void MeshScheduler::Resolve(size_t index) {
  Entry& entry = *entries_[index];
  if (entry.resolving) return;
  entry.resolving = true;
  entry.last_resolve = loop_->Now();
  std::weak_ptr<char> alive = entry.alive;
  options_.blocking(
      "mesh:" + entry.spec.name, alive,
      [this, alive, index, generation = generation_, plan = entry.spec.plan,
       field = entry.spec.field, host = options_.host, loop = loop_] {
        absl::StatusOr<std::vector<std::string>> peers = ExpandMesh(plan, host, field);
        loop->Post([this, alive, index, generation, peers = std::move(peers)]() mutable {
          // The entry (and so this scheduler) is gone: nothing to touch.
          if (alive.expired() || generation != generation_) return;
          Resolved(index, std::move(peers));
        });
      });
}

void MeshScheduler::Resolved(size_t index,
                             absl::StatusOr<std::vector<std::string>> peers) {
  Entry& entry = *entries_[index];
  entry.resolving = false;
  if (!peers.ok()) {
    observer_->OnResolveError(entry.spec, peers.status());
    const std::string reason(peers.status().message());
    if (entry.logged.insert(reason).second) {
      options_.log(absl::StrCat("mesh '", entry.spec.name, "': ", reason,
                                "; keeping the last good peers (", entry.peers.size(),
                                ")"));
    }
    return;
  }
  if (entry.round != nullptr) {
    entry.pending_peers = *std::move(peers);
  } else {
    Adopt(entry, *std::move(peers));
  }
}

void MeshScheduler::Adopt(Entry& entry, std::vector<std::string> peers) {
  if (peers == entry.peers) return;
  std::vector<std::string> gone;
  std::set_difference(entry.peers.begin(), entry.peers.end(), peers.begin(), peers.end(),
                      std::back_inserter(gone));
  entry.peers = std::move(peers);
  observer_->OnPeers(entry.spec, entry.peers, gone);
  Publish();
}

void MeshScheduler::StartRound(size_t index) {
  Entry& entry = *entries_[index];
  if (entry.peers.empty()) return;
  const MeshPlan& plan = entry.spec.plan;
  auto round = std::make_unique<Round>();
  round->peers = entry.peers;
  const size_t kinds = plan.kinds.size();
  for (size_t peer = 0; peer < round->peers.size(); ++peer) {
    for (size_t kind = 0; kind < kinds; ++kind) {
      MeshPeerResult& result = round->tally.emplace_back();
      result.peer = round->peers[peer];
      result.kind = plan.kinds[kind].name;
      result.sent = plan.count;
    }
  }
  round->order.reserve(round->tally.size() * plan.count);
  for (uint32_t n = 0; n < plan.count; ++n) {
    for (size_t peer = 0; peer < round->peers.size(); ++peer) {
      for (size_t kind = 0; kind < kinds; ++kind) round->order.push_back({peer, kind});
    }
  }
  std::rotate(
      round->order.begin(),
      round->order.begin() + static_cast<std::ptrdiff_t>(rng_() % round->order.size()),
      round->order.end());
  // Whole nanoseconds (the clocks' resolution): a due time between two
  // would fire its timer before it is due, again and again.
  const absl::Duration ns = absl::Nanoseconds(1);
  round->gap = absl::Ceil(absl::Seconds(1) / static_cast<double>(plan.rate), ns);
  const absl::Duration window = MeshSpreadWindow(plan, entry.spec.interval);
  round->spacing = std::max(
      round->gap, absl::Floor(window / static_cast<double>(round->order.size()), ns));
  round->started = loop_->Now();
  entry.round = std::move(round);
  Pump(index);
}

void MeshScheduler::Pump(size_t index) {
  if (pumping_) return;  // an attempt that ended within Start: the loop below goes on
  Entry& entry = *entries_[index];
  Round& round = *entry.round;
  pumping_ = true;
  while (round.next < round.order.size() && round.in_flight < options_.max_in_flight) {
    absl::Duration due = round.started + round.spacing * static_cast<int64_t>(round.next);
    if (round.last_start) due = std::max(due, *round.last_start + round.gap);
    const absl::Duration now = loop_->Now();
    if (due > now) {
      if (round.timer == 0) {
        round.timer = loop_->RunAt(due, [this, index, generation = generation_] {
          if (generation != generation_) return;
          Entry& e = *entries_[index];
          if (e.round == nullptr) return;
          e.round->timer = 0;
          Pump(index);
        });
      }
      break;
    }
    round.last_start = now;
    StartAttempt(index, round.order[round.next++]);
  }
  pumping_ = false;
  if (round.next == round.order.size() && round.in_flight == 0) EndRound(index);
}

void MeshScheduler::StartAttempt(size_t index, const Attempt& attempt) {
  Entry& entry = *entries_[index];
  Round& round = *entry.round;
  const MeshKind& kind = entry.spec.plan.kinds[attempt.kind];
  auto pending = std::make_shared<Pending>();
  auto rtt = std::make_shared<std::optional<absl::Duration>>();
  ++round.in_flight;
  absl::StatusOr<ProbeRegistry::ProbeId> id = StartRun(
      starter_, SchedulerCaller(entry.spec.name),
      MeshAttemptRequest(entry.spec.plan, kind, round.peers[attempt.peer]),
      [rtt](const v1::Endpoint&, absl::Duration measured) {
        if (!rtt->has_value()) *rtt = measured;
      },
      [this, index, attempt, pending, rtt, generation = generation_](RunOutcome outcome) {
        pending->ended = true;
        if (generation != generation_) return;
        bool answered = false;
        for (const v1::TargetSummary& summary : outcome.summaries) {
          answered = answered || summary.received() > 0;
        }
        if (answered) {
          MeshPeerResult& result = TallyOf(*entries_[index], attempt);
          ++result.answered;
          if (rtt->has_value()) result.rtts.push_back(**rtt);
        }
        AttemptEnded(index);
      });
  if (!id.ok()) {
    ++TallyOf(entry, attempt).errors;
    const std::string reason(id.status().message());
    if (entry.logged.insert(reason).second) {
      options_.log(absl::StrCat("mesh '", entry.spec.name, "': a ", kind.name,
                                " attempt could not start: ", reason));
    }
    AttemptEnded(index);
    return;
  }
  if (!pending->ended) {
    pending->id = *id;
    round.running.push_back(std::move(pending));
  }
}

MeshPeerResult& MeshScheduler::TallyOf(Entry& entry, const Attempt& attempt) {
  return entry.round->tally[attempt.peer * entry.spec.plan.kinds.size() + attempt.kind];
}

void MeshScheduler::AttemptEnded(size_t index) {
  Round& round = *entries_[index]->round;
  --round.in_flight;
  if (round.running.size() > 64) {
    round.running.erase(
        std::remove_if(round.running.begin(), round.running.end(),
                       [](const std::shared_ptr<Pending>& p) { return p->ended; }),
        round.running.end());
  }
  Pump(index);
}

void MeshScheduler::EndRound(size_t index) {
  Entry& entry = *entries_[index];
  std::unique_ptr<Round> round = std::move(entry.round);
  if (round->timer != 0) loop_->Cancel(round->timer);
  MeshRound finished;
  finished.duration = loop_->Now() - round->started;
  finished.results = std::move(round->tally);
  observer_->OnRound(entry.spec, finished);
  if (entry.pending_peers) {
    std::vector<std::string> peers = *std::move(entry.pending_peers);
    entry.pending_peers.reset();
    Adopt(entry, std::move(peers));
  }
}

}  // namespace netprobe
