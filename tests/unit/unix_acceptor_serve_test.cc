// Issue 21: the unix acceptor served on its owner's thread (netprobe-agent's
// main thread): it ticks while it waits and returns, leaving the stop fd
// readable, when the stop fd becomes readable.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/net/unique_fd.h"
#include "agent/server/unix_acceptor.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

// A listening, non-blocking unix socket at a fresh path.
UniqueFd Listener(const std::string& name) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/", name, "-", getpid(), ".sock");
  unlink(path.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd) << strerror(errno);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << strerror(errno);
  EXPECT_EQ(listen(fd.get(), 8), 0) << strerror(errno);
  unlink(path.c_str());  // the socket stays listening
  return fd;
}

// Writes to `stop` once `ticks` reached `want` (or after 10 s).
std::thread StopAfter(const std::atomic<int>& ticks, int want, int stop) {
  return std::thread([&ticks, want, stop] {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (ticks.load() < want && absl::Now() < give_up)
      absl::SleepFor(absl::Milliseconds(1));
    const uint64_t one = 1;
    EXPECT_EQ(write(stop, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  });
}

TEST(UnixAcceptorServeTest, TicksWhileItWaitsAndReturnsLeavingTheStopFdReadable) {
  std::vector<UniqueFd> listeners;
  listeners.push_back(Listener("serve-ticks"));
  UnixAcceptor acceptor(std::move(listeners), UnixAcceptorOptions{});
  acceptor.Attach(nullptr);  // nothing connects: gRPC is never handed a connection
  UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(stop);
  std::atomic<int> ticks{0};
  std::thread stopper = StopAfter(ticks, 3, stop.get());
  acceptor.ServeUntilReadable(stop.get(), absl::Milliseconds(5), [&ticks] { ++ticks; });
  stopper.join();
  EXPECT_GE(ticks.load(), 3);
  uint64_t value = 0;
  EXPECT_EQ(read(stop.get(), &value, sizeof(value)), static_cast<ssize_t>(sizeof(value)));
  EXPECT_EQ(value, 1u);
  acceptor.Stop();  // no thread: nothing to join
  EXPECT_EQ(acceptor.accepted(), 0u);
}

TEST(UnixAcceptorServeTest, WithoutATickItOnlyWaitsForTheStopFd) {
  std::vector<UniqueFd> listeners;
  listeners.push_back(Listener("serve-no-tick"));
  UnixAcceptor acceptor(std::move(listeners), UnixAcceptorOptions{});
  acceptor.Attach(nullptr);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(stop);
  const uint64_t one = 1;
  ASSERT_EQ(write(stop.get(), &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  int ticks = 0;
  acceptor.ServeUntilReadable(stop.get(), absl::InfiniteDuration(),
                              [&ticks] { ++ticks; });
  EXPECT_EQ(ticks, 0);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
