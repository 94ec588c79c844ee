#include "agent/probes/sockets_probe.h"

#include <algorithm>
#include <utility>

#include "agent/net/monotonic_clock.h"
#include "agent/probes/stream_end.h"

namespace netprobe {

SocketsProbe::SocketsProbe(SocketsPlan plan, EventLoop* loop, Resolver* worker,
                           std::shared_ptr<Sink> sink, std::function<void()> done)
    : plan_(std::make_shared<const SocketsPlan>(std::move(plan))),
      loop_(loop),
      worker_(worker),
      sink_(std::move(sink)),
      done_(std::move(done)) {}

SocketsProbe::~SocketsProbe() { Release(); }

void SocketsProbe::Start() {
  if (plan_->watch_duration > absl::ZeroDuration()) {
    watch_end_ = loop_->RunAfter(plan_->watch_duration, [this] {
      watch_end_ = 0;
      End(absl::OkStatus());
    });
  }
  StartRound();
}

void SocketsProbe::StartRound() {
  next_round_ = 0;
  if (released_ || dumping_) return;
  dumping_ = true;
  round_started_ = MonotonicNow();
  // The worker owns the listing until the round comes back; it shares the
  // plan, since the probe may be gone by the time the worker runs.
  std::weak_ptr<char> alive = alive_;
  worker_->RunBlocking([this, alive, loop = loop_, plan = plan_, listing = listing_,
                        first = first_round_] {
    auto round = std::make_shared<SocketsRound>(ListSockets(*plan, first, listing.get()));
    loop->Post([this, alive, round] {
      if (!alive.lock()) return;
      OnRound(std::move(*round));
    });
  });
}

void SocketsProbe::OnRound(SocketsRound round) {
  dumping_ = false;
  if (released_) return;
  if (!round.error.ok()) {
    End(std::move(round.error));
    return;
  }
  // Events of at most kSocketsPerEvent sockets, removed ones after the rest;
  // at least one, carrying `complete`, except in a watch round where nothing
  // changed.
  const size_t total = round.changed.size() + round.removed.size();
  if (!first_round_ && total == 0 && round.unavailable.empty()) {
    Pump();
    return;
  }
  size_t taken = 0;
  do {
    v1::SocketsEvent event;
    v1::SocketsSnapshot* snapshot = event.mutable_snapshot();
    for (int n = 0; n < kSocketsPerEvent && taken < total; ++n, ++taken) {
      if (taken < round.changed.size()) {
        *snapshot->add_sockets() = std::move(round.changed[taken]);
      } else {
        *snapshot->add_removed() = std::move(round.removed[taken - round.changed.size()]);
      }
    }
    if (taken == total) {
      snapshot->set_complete(true);
      for (std::string& kind : round.unavailable)
        snapshot->add_unavailable(std::move(kind));
    }
    pending_.push_back(std::move(event));
  } while (taken < total);
  first_round_ = false;
  Pump();
}

void SocketsProbe::Pump() {
  while (!pending_.empty() && !released_) {
    if (!sink_->Writable()) {
      ResumeWhenWritable(*sink_, &waiting_, alive_, [this] { Pump(); });
      return;
    }
    sink_->Emit(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (released_) return;
  if (plan_->watch_interval == absl::ZeroDuration()) {
    End(absl::OkStatus());
    return;
  }
  ScheduleNextRound();
}

void SocketsProbe::ScheduleNextRound() {
  // On the interval's grid from this round's start; a round that took longer
  // than the interval is followed at once.
  const absl::Duration at =
      std::max(round_started_ + plan_->watch_interval, MonotonicNow());
  next_round_ = loop_->RunAt(at, [this] { StartRound(); });
}

void SocketsProbe::End(absl::Status status) {
  if (ended_) return;
  ended_ = true;
  Release();
  sink_->Finish(std::move(status));
  done_();
}

void SocketsProbe::Stop(StopReason reason) {
  if (ended_) return;
  Release();
  if (reason == StopReason::kAgentShutdown) {
    v1::SocketsEvent end;
    FillShutdownEnd("the agent is shutting down", end.mutable_end());
    sink_->Emit(std::move(end));
    End(absl::OkStatus());
  } else {
    End(absl::CancelledError("cancelled by the client"));
  }
}

void SocketsProbe::Release() {
  if (released_) return;
  released_ = true;
  if (next_round_ != 0) loop_->Cancel(next_round_);
  if (watch_end_ != 0) loop_->Cancel(watch_end_);
  next_round_ = watch_end_ = 0;
  pending_.clear();
}

}  // namespace netprobe
