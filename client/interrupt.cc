#include "client/interrupt.h"

#include <pthread.h>
#include <signal.h>

#include <mutex>
#include <set>
#include <thread>

namespace netprobe::client {
namespace {

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

// The registry of calls to cancel and the thread that waits for the signals.
// Never destroyed: the waiter is blocked in sigwait() for the life of the
// process, and exit() must not wait for it or destroy what it uses.
class InterruptHub {
 public:
  static InterruptHub& Get() {
    static InterruptHub* const hub = new InterruptHub();
    return *hub;
  }

  void Add(CancelOnInterrupt* call) {
    std::lock_guard<std::mutex> lock(mu_);
    if (signalled_) call->Cancel();
    calls_.insert(call);
  }
  void Remove(CancelOnInterrupt* call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call);
  }

 private:
  InterruptHub() {
    // Signals are blocked in every thread (BlockInterruptSignals), so a
    // process-directed SIGINT waits for this sigwait() alone.
    std::thread([this] {
      sigset_t set = InterruptSignals();
      int sig = 0;
      while (sigwait(&set, &sig) == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        signalled_ = true;
        for (CancelOnInterrupt* call : calls_) call->Cancel();
      }
    }).detach();
  }

  std::mutex mu_;
  bool signalled_ = false;
  std::set<CancelOnInterrupt*> calls_;
};

void BlockInterruptSignals() {
  sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

CancelOnInterrupt::CancelOnInterrupt(grpc::ClientContext* context) : context_(context) {
  InterruptHub::Get().Add(this);
}

// After Remove() returns the waiter can no longer reach this call's context.
CancelOnInterrupt::~CancelOnInterrupt() { InterruptHub::Get().Remove(this); }

void CancelOnInterrupt::Cancel() {
  interrupted_.store(true);
  context_->TryCancel();
}

}  // namespace netprobe::client
