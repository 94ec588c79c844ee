#ifndef NETPROBE_AGENT_PROBES_PACER_H_
#define NETPROBE_AGENT_PROBES_PACER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

#include "absl/time/time.h"
#include "agent/net/event_loop.h"
#include "agent/net/rate_limiter.h"
#include "agent/probes/send_budget.h"

namespace netprobe {

// The one scheduler of every probe that sends (ping, TCP connect, UDP echo,
// and the coming traceroute and throughput): each target's attempts
// `interval` apart (`count` of them; 0: until stopped), all targets together
// at most `rate` per second, the caller's send budgets, and the probe's own
// gate (room in flight, a writable sink). Late wake-ups lose no credit: up to
// RateLimiter::kCatchUp for the global rate and the budgets, and up to half
// an interval for each target's schedule (a target's attempts are never
// closer than half an interval), so the rate asked is the rate delivered on
// a busy machine. A probe whose answers all arrive on one socket (ping, UDP
// echo) sets `max_burst`: what is due goes at most that many sends at a time,
// the rest after the loop's next poll (a timer due now), so the replies of a
// catch-up are read before they overflow the socket's receive buffer (at
// 100,000/s, 20 ms of catch-up is 2,000 sends; a 208 KiB buffer holds about
// 270 ICMP replies). TCP connect, a socket per attempt, sends unbroken: the
// loop's extra rounds cost it 7% more CPU (measured) and protect nothing.
//
// A round is spread, not a burst (unless `spread` is false): of N targets,
// target k is first due
// k x interval / N after Start() (fping's -p per target, with its targets
// apart), and then every interval on its own schedule, so the steady state
// stays spread. Requests sent together queue behind each other on the way
// out and back, and their RTTs then depend on their place in the list
// (issue 18; in the lab, one host four times: 43-46 us for the first, 9-10
// us for the others, PingLabTest.EveryPositionInTheListMeasuresTheSameRtt).
// The burst allowance: a wake-up also sends what falls due within kGroup
// after it, so targets closer than kGroup on the schedule share a wake-up
// (at most kGroup x N / interval of them, + 1; at 20,000/s over 1,000
// targets, 21; at 1 s over 4 targets, 1) and no attempt leaves more than
// kGroup early. Beyond that only the global
// rate's GCRA window (RateLimiter::kAhead: 1 ms of sends, when the targets ask for more
// than the rate) and the catch-up of a late wake-up (in chunks of at most `max_burst`)
// send several at once.
//
// The probe owns the pacer and calls Pump() whenever its gate may have
// opened (an attempt completed, the sink drained); the pacer arms its own
// timer for due times and rate limits. `send` may stop the probe: the pacer
// checks stopped() after each send. Not thread-safe: loop thread only.
class Pacer {
 public:
  struct Options {
    size_t targets = 0;
    uint32_t count = 0;  // attempts per target; 0: no end
    absl::Duration interval = absl::Seconds(1);
    double rate = 0;  // attempts per second over all targets; 0: unbounded
    SendBudgets budgets;
    int max_burst = 0;  // sends per Pump() before the loop polls again; 0: no bound
    // Target k first due k x interval / targets after Start(); false: every
    // target due at once (a sweep: TCP connect's port scans).
    bool spread = true;
  };
  // True when the attempt for `target` may start now. When false, the probe
  // calls Pump() once that may have changed.
  using Gate = std::function<bool(size_t target)>;
  // Starts attempt `sequence` (1-based, per target) of `target`.
  using Send = std::function<void(size_t target, uint32_t sequence)>;

  // The `max_burst` of probes whose replies share one receive socket.
  static constexpr int kSharedSocketBurst = 64;
  // How far ahead of its due time a wake-up takes an attempt along: a timer
  // per send would cost a wake-up (and a smaller batch of events to the
  // stream) each. Measured, agent CPU for 5 s at 20,000/s over 1,000 loopback
  // targets: 2.7-3.1 s with the round as one burst, 3.7 s spread with 100 us,
  // 3.5 s with 250 us, 3.2 s with 500 us; in the bench at 6,000/s, CPU per
  // 1,000 probes/s (agent+client) 16.2% with 100 us, 7.9% with 1 ms (8.2%
  // in BENCHMARKS.md before the spread). Targets 1 ms or more apart on the
  // schedule (4 targets at the default 1 s are 250 ms apart) never share one.
  static constexpr absl::Duration kGroup = absl::Milliseconds(1);

  Pacer(EventLoop* loop, Options options, Gate gate, Send send);
  ~Pacer() { Stop(); }
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // Target k first due k x interval / targets from now (target 0 at once;
  // every target, without `spread`); sends what is due and the bounds allow.
  void Start();
  // Sends what is due and allowed; re-entrant calls (from inside `send`)
  // return at once.
  void Pump();
  // Cancels the timer; nothing more is sent.
  void Stop();
  // `target` takes no more attempts (a trace's TTLs beyond the target): its
  // pending ones are dropped without taking the rate's or budgets' credit,
  // and it counts as finished for exhausted().
  void Retire(size_t target);

  bool stopped() const { return stopped_; }
  // Every target has started its `count` attempts (never, when count is 0).
  bool exhausted() const {
    return options_.count != 0 && finished_targets_ == sent_.size();
  }
  uint32_t sent(size_t target) const { return sent_[target]; }
  uint64_t total_sent() const { return total_sent_; }

 private:
  struct Due {
    absl::Duration at;
    size_t target;
    // Half an interval after the target's last attempt: it goes no earlier,
    // even within kGroup of `at`.
    absl::Duration not_before;
    bool operator>(const Due& o) const {
      return at > o.at || (at == o.at && target > o.target);
    }
  };

  void ArmTimer(absl::Duration at);
  void Sent(size_t target, absl::Duration now);

  EventLoop* const loop_;
  const Options options_;
  const Gate gate_;
  const Send send_;
  RateLimiter rate_;

  std::vector<uint32_t> sent_;
  std::vector<bool> retired_;
  std::vector<absl::Duration> due_;  // each target's latest due time
  size_t finished_targets_ = 0;
  uint64_t total_sent_ = 0;
  // Targets due by their interval, waiting for the bounds, in due order.
  std::deque<size_t> ready_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> waiting_;
  EventLoop::TimerId timer_ = 0;
  absl::Duration timer_at_ = absl::InfiniteDuration();
  bool pumping_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PACER_H_
