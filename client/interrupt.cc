#include "client/interrupt.h"

#include <pthread.h>
#include <signal.h>

namespace netprobe::client {
namespace {

// SIGUSR2 is not an interrupt: the destructor sends it to end the waiter.
constexpr int kWakeWaiter = SIGUSR2;

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, kWakeWaiter);
  return set;
}

}  // namespace

void BlockInterruptSignals() {
  sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

CancelOnInterrupt::CancelOnInterrupt(grpc::ClientContext* context) : context_(context) {
  waiter_ = std::thread([this] {
    sigset_t set = InterruptSignals();
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == kWakeWaiter) {
        if (done_.load()) return;
        continue;  // A stray SIGUSR2 from outside: keep waiting.
      }
      interrupted_.store(true);
      context_->TryCancel();
      return;
    }
  });
}

CancelOnInterrupt::~CancelOnInterrupt() {
  done_.store(true);
  pthread_kill(waiter_.native_handle(), kWakeWaiter);
  waiter_.join();
}

}  // namespace netprobe::client
