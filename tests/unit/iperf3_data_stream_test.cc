// iperf3::ByteBudget, and DataStream between two loopback sockets on one
// event loop driven by RunOnce().
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <utility>

#include "agent/iperf3/data_stream.h"
#include "agent/net/event_loop.h"
#include "agent/net/monotonic_clock.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::testing::HasSubstr;

TEST(ByteBudgetTest, FiresOnceAtTheLimitAndAgainAfterReset) {
  int fired = 0;
  ByteBudget budget(100, [&] { ++fired; });
  EXPECT_EQ(budget.available(), 100u);
  budget.Count(60);
  EXPECT_EQ(budget.available(), 40u);
  EXPECT_EQ(fired, 0);
  budget.Count(40);
  EXPECT_TRUE(budget.reached());
  EXPECT_EQ(budget.available(), 0u);
  budget.Count(10);
  EXPECT_EQ(fired, 1);
  budget.Reset();
  EXPECT_EQ(budget.available(), 100u);
  budget.Count(100);
  EXPECT_EQ(fired, 2);
}

TEST(ByteBudgetTest, InactiveItNeitherLimitsNorCounts) {
  int fired = 0;
  ByteBudget budget(10, [&] { ++fired; });
  budget.set_active(false);
  budget.Count(1000);
  EXPECT_EQ(budget.available(), UINT64_MAX);
  EXPECT_FALSE(budget.reached());
  budget.set_active(true);
  EXPECT_EQ(budget.available(), 10u);
  EXPECT_EQ(fired, 0);
}

// A connected pair of loopback sockets of `type`, both non-blocking.
std::pair<UniqueFd, UniqueFd> LoopbackPair(int type) {
  const int flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  UniqueFd a(socket(AF_INET, type | flags, 0));
  if (type == SOCK_STREAM) {
    UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener.get(), 1);
    getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    connect(a.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS
    UniqueFd b(accept4(listener.get(), nullptr, nullptr, flags));
    return {std::move(a), std::move(b)};
  }
  UniqueFd b(socket(AF_INET, type | flags, 0));
  bind(b.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(b.get(), reinterpret_cast<sockaddr*>(&addr), &length);
  connect(a.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  sockaddr_in a_addr{};
  length = sizeof(a_addr);
  getsockname(a.get(), reinterpret_cast<sockaddr*>(&a_addr), &length);
  connect(b.get(), reinterpret_cast<sockaddr*>(&a_addr), sizeof(a_addr));
  return {std::move(a), std::move(b)};
}

class DataStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }
  // Runs the loop until `done` (false after 5 s).
  bool RunUntil(const std::function<bool()>& done) {
    const absl::Duration deadline = MonotonicNow() + absl::Seconds(5);
    while (!done()) {
      if (MonotonicNow() > deadline) return false;
      loop_->RunOnce();
    }
    return true;
  }

  std::unique_ptr<EventLoop> loop_;
};

TEST_F(DataStreamTest, TcpSenderStopsAtTheBudgetAndTheReceiverCountsItAll) {
  auto [a, b] = LoopbackPair(SOCK_STREAM);
  int reached = 0;
  ByteBudget budget(1'000'000, [&] { ++reached; });
  DataStream::Options send_options;
  send_options.id = 1;
  send_options.sender = true;
  send_options.length = 128 * 1024;
  send_options.budget = &budget;
  DataStream sender(loop_.get(), std::move(a), send_options, nullptr);
  DataStream::Options receive_options;
  receive_options.id = 3;
  DataStream receiver(loop_.get(), std::move(b), receive_options, nullptr);
  ASSERT_THAT(sender.Start(), IsOk());
  ASSERT_THAT(receiver.Start(), IsOk());
  ASSERT_TRUE(RunUntil([&] { return receiver.counters().bytes == 1'000'000; }));
  EXPECT_EQ(sender.counters().bytes, 1'000'000u);
  EXPECT_EQ(reached, 1);
  EXPECT_THAT(sender.Retransmits(),
              ::testing::Optional(::testing::Ge(0)));  // TCP_INFO read
  receiver.ResetCounters();
  EXPECT_EQ(receiver.counters().bytes, 0u);
  EXPECT_EQ(receiver.counters().total_bytes, 1'000'000u);
}

TEST_F(DataStreamTest, ThePeersCloseIsReportedOnce) {
  auto [a, b] = LoopbackPair(SOCK_STREAM);
  int closed = 0;
  absl::Status why;
  DataStream::Options options;
  options.id = 4;
  DataStream receiver(loop_.get(), std::move(b), options,
                      [&](const absl::Status& status) {
                        ++closed;
                        why = status;
                      });
  ASSERT_THAT(receiver.Start(), IsOk());
  a.reset();
  ASSERT_TRUE(RunUntil([&] { return closed > 0; }));
  for (int i = 0; i < 10; ++i) loop_->RunOnce();
  EXPECT_EQ(closed, 1);
  EXPECT_THAT(std::string(why.message()),
              HasSubstr("data stream 4: the server closed it"));
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_FALSE(receiver.closed());  // open for TCP_INFO until Close()
  receiver.Close();
  EXPECT_TRUE(receiver.closed());
}

TEST_F(DataStreamTest, UdpDatagramsCarrySequenceNumbersFromOne) {
  auto [a, b] = LoopbackPair(SOCK_DGRAM);
  ByteBudget budget(50 * 1000, nullptr);
  DataStream::Options send_options;
  send_options.id = 1;
  send_options.sender = true;
  send_options.udp = true;
  send_options.length = 1000;
  send_options.budget = &budget;
  DataStream sender(loop_.get(), std::move(a), send_options, nullptr);
  DataStream::Options receive_options = send_options;
  receive_options.sender = false;
  receive_options.budget = nullptr;
  DataStream receiver(loop_.get(), std::move(b), receive_options, nullptr);
  ASSERT_THAT(receiver.Start(), IsOk());
  ASSERT_THAT(sender.Start(), IsOk());
  ASSERT_TRUE(RunUntil([&] { return receiver.counters().datagrams == 50; }));
  EXPECT_EQ(sender.counters().datagrams, 50u);
  EXPECT_EQ(sender.counters().next_sequence, 51u);
  EXPECT_EQ(receiver.counters().bytes, 50'000u);
  EXPECT_EQ(receiver.udp_stats().packet_count(), 50u);
  EXPECT_EQ(receiver.udp_stats().errors(), 0);
  EXPECT_EQ(receiver.udp_stats().out_of_order(), 0);
  sender.Close();
  receiver.Close();
  EXPECT_EQ(loop_->watched_fd_count(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(DataStreamTest, AUdpBitrateIsPacedByATimer) {
  auto [a, b] = LoopbackPair(SOCK_DGRAM);
  DataStream::Options options;
  options.id = 1;
  options.sender = true;
  options.udp = true;
  options.length = 1000;
  options.bitrate = 80'000;  // 10 datagrams a second
  DataStream sender(loop_.get(), std::move(a), options, nullptr);
  ASSERT_THAT(sender.Start(), IsOk());
  // The first goes at once; the next waits for its time on a timer rather
  // than the socket's EPOLLOUT.
  ASSERT_TRUE(RunUntil([&] { return sender.counters().datagrams == 1; }));
  for (int i = 0; i < 20; ++i) loop_->RunOnce();
  EXPECT_EQ(sender.counters().datagrams, 1u);
  EXPECT_EQ(loop_->pending_timer_count(), 1u);
  sender.StopSending();
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
