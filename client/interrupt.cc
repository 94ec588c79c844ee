#include "client/interrupt.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>

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

CancelOnInterrupt::CancelOnInterrupt(grpc::ClientContext* context) : context_(context) {
  sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this] {
    sigset_t set = InterruptSignals();
    const timespec tick{0, 100 * 1000 * 1000};
    // sigtimedwait so the destructor can end this thread without a signal.
    while (!done_.load()) {
      if (sigtimedwait(&set, nullptr, &tick) > 0) {
        interrupted_.store(true);
        context_->TryCancel();
        return;
      }
    }
  });
}

CancelOnInterrupt::~CancelOnInterrupt() {
  done_.store(true);
  waiter_.join();
}

}  // namespace netprobe::client
