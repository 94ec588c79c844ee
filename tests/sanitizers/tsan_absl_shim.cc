// ThreadSanitizer annotations for Debian's uninstrumented Abseil.
//
// Debian's libabsl_synchronization.so is not built with -fsanitize=thread, so
// TSan never sees absl::Mutex, CondVar or Notification synchronize (their fast
// paths are atomics and futexes in uninstrumented code): every field guarded
// by an absl::Mutex would be reported as a race. Abseil built with TSan
// annotates these itself (ABSL_TSAN_MUTEX_* in mutex.cc); this file tells TSan
// the same happens-before edges from outside. Linked only into the `tsan`
// preset's test binaries (tests/CMakeLists.txt), it defines the out-of-line
// members our code calls (the executable exports them, so Abseil's own calls
// through the PLT land here too); each tells TSan what happens (lock, unlock,
// wait, notify) and calls Abseil's function, found with dlsym(RTLD_NEXT). Races between our threads are still reported; only
// the happens-before edges Abseil really provides are added.
#if !defined(__SANITIZE_THREAD__)
#error "tsan_absl_shim.cc is for -fsanitize=thread builds only"
#endif

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define NETPROBE_STR2(x) #x
#define NETPROBE_STR(x) NETPROBE_STR2(x)

// Abseil's symbol: "_ZN" or "_ZNK", then absl::<inline namespace>, then
// `rest` (which may refer back to that namespace as NS0_).
void* Real(const char* rest, bool is_const = false) {
  const char* ns = NETPROBE_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string(is_const ? "_ZNK" : "_ZN") + "4absl" +
                           std::to_string(std::strlen(ns)) + ns + rest;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_shim: %s not found in Abseil\n", name.c_str());
    std::abort();
  }
  return fn;
}

template <typename Fn>
Fn RealFn(const char* rest, bool is_const = false) {
  return reinterpret_cast<Fn>(Real(rest, is_const));
}

// TSan learns only the happens-before edges, not mutex ownership: a lock (or
// a wait's return) acquires the mutex's clock, an unlock (or a wait's start)
// releases into it. That is what race detection needs. (TSan's mutex model,
// __tsan_mutex_pre_lock & co., reported bogus double locks of Notification's
// mutex when wrapped around Debian's Abseil this way, so it is not used.)
void Acquire(const void* addr) { __tsan_acquire(const_cast<void*>(addr)); }
void Release(const void* addr) { __tsan_release(const_cast<void*>(addr)); }

// Abseil evaluates Conditions (our instrumented code, reading what the mutex
// guards) inside its own calls, holding the mutex internally: the waiter's in
// LockWhen/Await, other waiters' in whichever call releases the mutex
// (Unlock, Await, CondVar::Wait). The mutex of this thread's current Abseil
// call, so that Condition::Eval() below brackets the evaluation as a
// critical section of it.
thread_local const void* in_call_on = nullptr;

struct InCall {
  explicit InCall(const void* mu) : saved(in_call_on) { in_call_on = mu; }
  ~InCall() { in_call_on = saved; }
  const void* saved;
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// ---- Mutex: lock and unlock ---------------------------------------------------

void Mutex::Lock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex4LockEv");
  InCall in_call(this);
  real(this);
  Acquire(this);
}

void Mutex::ReaderLock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  InCall in_call(this);
  real(this);
  Acquire(this);
}

void Mutex::Unlock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex6UnlockEv");
  InCall in_call(this);
  Release(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  InCall in_call(this);
  Release(this);
  real(this);
}

bool Mutex::TryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  InCall in_call(this);
  const bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  InCall in_call(this);
  const bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

// ---- Mutex: lock when a condition holds -----------------------------------------

void Mutex::LockWhen(const Condition& cond) {
  static auto real =
      RealFn<void (*)(Mutex*, const Condition&)>("5Mutex8LockWhenERKNS0_9ConditionE");
  InCall in_call(this);
  real(this, cond);
  Acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  InCall in_call(this);
  const bool result = real(this, cond, timeout);
  Acquire(this);  // held again, whatever the condition
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  InCall in_call(this);
  const bool result = real(this, cond, deadline);
  Acquire(this);  // held again, whatever the condition
  return result;
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real = RealFn<void (*)(Mutex*, const Condition&)>(
      "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  InCall in_call(this);
  real(this, cond);
  Acquire(this);
}

// Called by Abseil (through the PLT) while the mutex is held internally.
bool Condition::Eval() const {
  static auto real = RealFn<bool (*)(const Condition*)>("9Condition4EvalEv", true);
  const void* mu = in_call_on;
  if (mu != nullptr) Acquire(mu);
  const bool result = real(this);
  if (mu != nullptr) Release(mu);
  return result;
}

// ---- Mutex: wait while holding it (released inside, held again on return) -------

void Mutex::Await(const Condition& cond) {
  static auto real =
      RealFn<void (*)(Mutex*, const Condition&)>("5Mutex5AwaitERKNS0_9ConditionE");
  InCall in_call(this);
  Release(this);
  real(this, cond);
  Acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  InCall in_call(this);
  Release(this);
  const bool result = real(this, cond, timeout);
  Acquire(this);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  InCall in_call(this);
  Release(this);
  const bool result = real(this, cond, deadline);
  Acquire(this);
  return result;
}

void CondVar::Wait(Mutex* mu) {
  static auto real =
      RealFn<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  InCall in_call(mu);
  Release(mu);
  real(this, mu);
  Acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  InCall in_call(mu);
  Release(mu);
  const bool result = real(this, mu, timeout);
  Acquire(mu);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  InCall in_call(mu);
  Release(mu);
  const bool result = real(this, mu, deadline);
  Acquire(mu);
  return result;
}

// ---- Notification, BlockingCounter, Barrier: release before, acquire after ------

// HasBeenNotified() is inline (instrumented): an acquire load of notified_yet_,
// the member after the Mutex. Releasing on that address too pairs with it.
static_assert(sizeof(Notification) == 2 * sizeof(Mutex));

void Notification::Notify() {
  static auto real = RealFn<void (*)(Notification*)>("12Notification6NotifyEv");
  Release(this);
  Release(reinterpret_cast<char*>(this) + sizeof(Mutex));
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = RealFn<void (*)(const Notification*)>(
      "12Notification19WaitForNotificationEv", /*is_const=*/true);
  real(this);
  Acquire(this);
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  static auto real = RealFn<bool (*)(const Notification*, absl::Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  const bool notified = real(this, timeout);
  if (notified) Acquire(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static auto real = RealFn<bool (*)(const Notification*, absl::Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true);
  const bool notified = real(this, deadline);
  if (notified) Acquire(this);
  return notified;
}

bool BlockingCounter::DecrementCount() {
  static auto real =
      RealFn<bool (*)(BlockingCounter*)>("15BlockingCounter14DecrementCountEv");
  Release(this);
  return real(this);
}

void BlockingCounter::Wait() {
  static auto real = RealFn<void (*)(BlockingCounter*)>("15BlockingCounter4WaitEv");
  real(this);
  Acquire(this);
}

bool Barrier::Block() {
  static auto real = RealFn<bool (*)(Barrier*)>("7Barrier5BlockEv");
  Release(this);
  const bool last = real(this);
  Acquire(this);
  return last;
}

ABSL_NAMESPACE_END
}  // namespace absl
