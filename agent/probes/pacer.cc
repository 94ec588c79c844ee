#include "agent/probes/pacer.h"

#include <algorithm>

namespace netprobe {

Pacer::Pacer(EventLoop* loop, Options options, Gate gate, Send send)
    : loop_(loop),
      options_(std::move(options)),
      gate_(std::move(gate)),
      send_(std::move(send)),
      rate_(options_.rate),
      sent_(options_.targets, 0),
      retired_(options_.targets, false),
      due_(options_.targets, absl::ZeroDuration()) {}

void Pacer::Start() {
  if (started_ || stopped_) return;
  started_ = true;
  const absl::Duration now = loop_->Now();
  // The round spread over one interval (see the class comment), in whole
  // nanoseconds: the clocks' unit, or a due time between two ticks is never
  // reached by a clock that reads the tick before it.
  const int64_t targets = static_cast<int64_t>(options_.targets);
  for (size_t i = 0; i < options_.targets; ++i) {
    due_[i] =
        options_.spread
            ? now + absl::Trunc(options_.interval * static_cast<int64_t>(i) / targets,
                                absl::Nanoseconds(1))
            : now;
    if (due_[i] <= now) {
      ready_.push_back(i);
    } else {
      waiting_.push(Due{due_[i], i, now});
    }
  }
  if (options_.count == 0 && options_.targets == 0) return;
  Pump();
}

void Pacer::Pump() {
  if (pumping_ || stopped_ || !started_) return;
  pumping_ = true;
  for (int burst = 0; !stopped_; ++burst) {
    const absl::Duration now = loop_->Now();
    // What falls due within kGroup goes with this wake-up (the burst
    // allowance), unless its target's last attempt was under half an
    // interval ago; the timer is armed for the next due time.
    while (!waiting_.empty() &&
           (waiting_.top().at <= now ||
            (waiting_.top().at <= now + kGroup && waiting_.top().not_before <= now))) {
      ready_.push_back(waiting_.top().target);
      waiting_.pop();
    }
    while (!ready_.empty() && retired_[ready_.front()]) ready_.pop_front();
    if (ready_.empty()) {
      while (!waiting_.empty() && retired_[waiting_.top().target]) waiting_.pop();
      if (!waiting_.empty()) ArmTimer(waiting_.top().at);
      break;
    }
    // The global rate, then the caller's budgets: wait on a timer for them.
    const absl::Duration rate_at = rate_.NextSend(now);
    const absl::Duration budget_at = options_.budgets.NextSend(now);
    if (rate_at > now || budget_at > now) {
      ArmTimer(std::max(rate_.WakeAt(now), options_.budgets.WakeAt(now)));
      break;
    }
    if (options_.max_burst > 0 && burst == options_.max_burst) {
      ArmTimer(now);
      break;
    }
    const size_t target = ready_.front();
    // The probe's gate: it calls Pump() again once it may open.
    if (!gate_(target)) break;
    ready_.pop_front();
    rate_.Consume(now);
    options_.budgets.Consume(now);
    Sent(target, now);
    send_(target, sent_[target]);
  }
  pumping_ = false;
}

void Pacer::Sent(size_t target, absl::Duration now) {
  ++total_sent_;
  const uint32_t sequence = ++sent_[target];
  if (options_.count != 0 && sequence >= options_.count) {
    ++finished_targets_;
    return;
  }
  // The next attempt `interval` after this one was due, so a late wake-up
  // keeps the target's schedule; but never sooner than half an interval after
  // this one: one target never gets two attempts back to back (an echo
  // server may merge them, a router rate-limit its answers).
  due_[target] = std::max(due_[target] + options_.interval, now + options_.interval / 2);
  if (due_[target] <= now) {
    ready_.push_back(target);
  } else {
    waiting_.push(Due{due_[target], target, now + options_.interval / 2});
  }
}

void Pacer::Retire(size_t target) {
  if (target >= retired_.size() || retired_[target]) return;
  retired_[target] = true;
  if (options_.count != 0 && sent_[target] < options_.count) ++finished_targets_;
}

void Pacer::ArmTimer(absl::Duration at) {
  if (timer_ != 0 && timer_at_ <= at) return;
  if (timer_ != 0) loop_->Cancel(timer_);
  timer_at_ = at;
  timer_ = loop_->RunAt(at, [this] {
    timer_ = 0;
    timer_at_ = absl::InfiniteDuration();
    Pump();
  });
}

void Pacer::Stop() {
  stopped_ = true;
  if (timer_ != 0) loop_->Cancel(timer_);
  timer_ = 0;
  ready_.clear();
  waiting_ = {};
}

}  // namespace netprobe
