#include "agent/probes/sockets_probe.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"

namespace netprobe {

SocketsProbe::SocketsProbe(SocketsPlan plan, EventLoop* loop, BlockingWork work,
                           std::shared_ptr<Sink> sink, std::function<void()> done)
    : ProbeBase(loop, std::move(sink), std::move(done)),
      plan_(std::make_shared<const SocketsPlan>(std::move(plan))),
      work_(std::move(work)) {}

SocketsProbe::~SocketsProbe() { Release(); }

void SocketsProbe::Start() {
  started_ = loop_->Now();
  StartRound();
}

void SocketsProbe::StartRound() {
  next_round_ = 0;
  if (finished() || dumping_) return;
  dumping_ = true;
  round_started_ = loop_->Now();
  // The worker owns the listing until the round comes back; it shares the
  // plan, since the probe may be gone by the time the worker runs. The
  // opener outlives the loop.
  std::weak_ptr<char> alive = this->alive();
  work_.Submit(BlockingPool::Queue::kDiagnostics, alive,
               [this, alive, loop = loop_, plan = plan_, listing = listing_,
                first = first_round_, sockets = loop_->sockets()] {
                 // Without a watch there is no next round to compare with.
                 const bool watching = plan->watch_interval > absl::ZeroDuration();
                 auto round = std::make_shared<SocketsRound>(ListSockets(
                     *plan, first, watching ? listing.get() : nullptr, sockets));
                 loop->Post([this, alive, round] {
                   if (!alive.lock()) return;
                   OnRound(std::move(*round));
                 });
               });
}

void SocketsProbe::OnRound(SocketsRound round) {
  dumping_ = false;
  if (finished()) return;
  if (!round.error.ok()) return Fail(std::move(round.error));
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
      if (round.summary) *snapshot->mutable_summary() = std::move(*round.summary);
    }
    pending_.push_back(std::move(event));
  } while (taken < total);
  first_round_ = false;
  Pump();
}

void SocketsProbe::Pump() {
  while (!pending_.empty() && !finished()) {
    if (!Writable()) {
      WhenWritable([this] { Pump(); });
      return;
    }
    Emit(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (finished()) return;
  if (plan_->watch_interval == absl::ZeroDuration()) return Complete();
  ScheduleNextRound();
}

void SocketsProbe::ScheduleNextRound() {
  // On the interval's grid from this round's start; a round that took longer
  // than the interval is followed at once. None starts at or past the bound.
  const absl::Duration now = loop_->Now();
  const absl::Duration at = std::max(round_started_ + plan_->watch_interval, now);
  const absl::Duration bound = plan_->watch_duration > absl::ZeroDuration()
                                   ? started_ + plan_->watch_duration
                                   : absl::InfiniteDuration();
  if (at >= bound) {
    next_round_ = loop_->RunAt(std::max(bound, now), [this] {
      next_round_ = 0;
      EndWatch();
    });
    return;
  }
  next_round_ = loop_->RunAt(at, [this] { StartRound(); });
}

void SocketsProbe::EndWatch() {
  std::vector<v1::SocketsEvent> closing(1);
  v1::StreamEnd* end = closing[0].mutable_end();
  end->set_reason(v1::StreamEnd::REASON_LIMIT);
  end->set_detail(absl::StrCat("watch_duration ",
                               absl::FormatDuration(plan_->watch_duration), " reached"));
  ToProto(loop_->clock()->Wall(), end->mutable_time());
  Complete(std::move(closing));
}

void SocketsProbe::Release() {
  if (next_round_ != 0) loop_->Cancel(next_round_);
  next_round_ = 0;
  pending_.clear();
}

}  // namespace netprobe
