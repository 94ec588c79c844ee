#include "agent/probes/sockets_probe.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/net/socket_opener.h"
#include "tests/test_support/drain_pool.h"
#include "tests/test_support/fake_clock.h"
#include "tests/test_support/recording_sink.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::RecordingSink;
using testing::RunFor;

sock_diag::Socket Tcp(uint16_t local_port, uint64_t cookie) {
  sock_diag::Socket s;
  s.family = AF_INET;
  s.protocol = IPPROTO_TCP;
  s.type = SOCK_STREAM;
  s.state = 1;  // ESTABLISHED
  s.local.address = {127, 0, 0, 1};
  s.local.port = local_port;
  s.remote.address = {127, 0, 0, 1};
  s.remote.port = 40000;
  s.inode = cookie + 100;
  s.cookie = cookie;
  return s;
}

// The host's socket table as the test scripts it: each dump lists the
// current table. Dumps run on the worker thread.
class FakeOpener final : public SocketOpener {
 public:
  absl::StatusOr<sock_diag::ReplySummary> DumpSockets(
      const sock_diag::Query& query, std::vector<sock_diag::Socket>* out) override {
    absl::MutexLock lock(&mu_);
    ++dumps_;
    if (!error_.ok()) return error_;
    for (const sock_diag::Socket& s : table_) {
      if (s.family == query.family && s.protocol == query.protocol) out->push_back(s);
    }
    sock_diag::ReplySummary summary;
    summary.done = true;
    summary.sockets = out->size();
    return summary;
  }
  absl::StatusOr<Sockstat> ReadSocketCounters() override {
    absl::MutexLock lock(&mu_);
    if (!counters_error_.ok()) return counters_error_;
    Sockstat counters;
    counters.sockets_used = 12;
    counters.tcp_inuse = 3;
    counters.tcp_curr_estab = 2;
    return counters;
  }
  void FailCounters(absl::Status error) {
    absl::MutexLock lock(&mu_);
    counters_error_ = std::move(error);
  }
  SocketOwners ReadOwners() override {
    SocketOwners owners;
    owners[101].push_back(SocketOwner{42, "nginx", 7});
    return owners;
  }

  void Set(std::vector<sock_diag::Socket> table) {
    absl::MutexLock lock(&mu_);
    table_ = std::move(table);
  }
  void Fail(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  int dumps() {
    absl::MutexLock lock(&mu_);
    return dumps_;
  }

 private:
  absl::Mutex mu_;
  std::vector<sock_diag::Socket> table_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::Status counters_error_ ABSL_GUARDED_BY(mu_);
  int dumps_ ABSL_GUARDED_BY(mu_) = 0;
};

using Sink = RecordingSink<v1::SocketsEvent>;

class SocketsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_, &opener_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    sock_diag::Query query;
    query.family = AF_INET;
    query.protocol = IPPROTO_TCP;
    plan_.queries.push_back(query);
  }

  void StartProbe() {
    probe_ = std::make_unique<SocketsProbe>(plan_, loop_.get(), work_, sink_,
                                            [this] { ++done_; });
    probe_->Start();
    FinishRound();
  }
  // The round queued on the worker has run and its result is handled.
  void FinishRound() {
    DrainPool(work_, BlockingPool::Queue::kDiagnostics);
    loop_->RunOnce();
  }
  // The watch's next round: its timer, the worker, the result.
  void NextRound() {
    RunFor(*loop_, clock_, plan_.watch_interval);
    FinishRound();
  }
  const v1::SocketsSnapshot& Last() const { return sink_->events().back().snapshot(); }

  FakeClock clock_;
  FakeOpener opener_;
  std::unique_ptr<EventLoop> loop_;
  BlockingPool pool_;
  const BlockingWork work_{&pool_, "caller"};
  SocketsPlan plan_;
  std::shared_ptr<Sink> sink_ = std::make_shared<Sink>();
  std::unique_ptr<SocketsProbe> probe_;
  int done_ = 0;
};

TEST_F(SocketsProbeTest, OneListingIsDeliveredCompleteAndEndsTheStream) {
  plan_.processes = true;
  opener_.Set({Tcp(80, 1), Tcp(443, 2)});
  StartProbe();
  ASSERT_EQ(sink_->events().size(), 1u);
  const v1::SocketsSnapshot& snapshot = Last();
  EXPECT_TRUE(snapshot.complete());
  ASSERT_EQ(snapshot.sockets_size(), 2);
  EXPECT_EQ(snapshot.sockets(0).local().port(), 80u);
  ASSERT_EQ(snapshot.sockets(0).processes_size(), 1);
  EXPECT_EQ(snapshot.sockets(0).processes(0).name(), "nginx");
  EXPECT_EQ(snapshot.removed_size(), 0);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  EXPECT_EQ(sink_->closing(), 0u);
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(SocketsProbeTest, ALargeListingTravelsInEventsTheLastMarkedComplete) {
  std::vector<sock_diag::Socket> table;
  for (uint16_t i = 0; i < SocketsProbe::kSocketsPerEvent + 5; ++i) {
    table.push_back(Tcp(1000 + i, i + 1));
  }
  opener_.Set(table);
  StartProbe();
  ASSERT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(sink_->events()[0].snapshot().sockets_size(), SocketsProbe::kSocketsPerEvent);
  EXPECT_FALSE(sink_->events()[0].snapshot().complete());
  EXPECT_EQ(Last().sockets_size(), 5);
  EXPECT_TRUE(Last().complete());
}

TEST_F(SocketsProbeTest, AWatchRepeatsAtItsIntervalWithChangesAndStopsAtItsBound) {
  plan_.watch_interval = absl::Seconds(2);
  plan_.watch_duration = absl::Seconds(7);
  opener_.Set({Tcp(80, 1), Tcp(443, 2)});
  StartProbe();
  ASSERT_EQ(sink_->events().size(), 1u);
  EXPECT_EQ(Last().sockets_size(), 2);
  EXPECT_EQ(opener_.dumps(), 1);

  // Nothing runs before the interval is up.
  RunFor(*loop_, clock_, plan_.watch_interval - absl::Milliseconds(1));
  FinishRound();
  EXPECT_EQ(opener_.dumps(), 1);
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  FinishRound();
  EXPECT_EQ(opener_.dumps(), 2);
  EXPECT_EQ(sink_->events().size(), 1u) << "a round where nothing changed sends nothing";

  // One gone, one new: both in one complete event.
  opener_.Set({Tcp(80, 1), Tcp(22, 3)});
  NextRound();
  EXPECT_EQ(opener_.dumps(), 3);
  ASSERT_EQ(sink_->events().size(), 2u);
  ASSERT_EQ(Last().sockets_size(), 1);
  EXPECT_EQ(Last().sockets(0).local().port(), 22u);
  ASSERT_EQ(Last().removed_size(), 1);
  EXPECT_EQ(Last().removed(0).local().port(), 443u);
  EXPECT_TRUE(Last().complete());
  EXPECT_FALSE(sink_->finished());

  // The round at 6 s is the last; the bound ends the watch at 7 s.
  NextRound();
  EXPECT_EQ(opener_.dumps(), 4);
  RunFor(*loop_, clock_, absl::Seconds(1) - absl::Milliseconds(1));
  EXPECT_FALSE(sink_->finished());
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  ASSERT_EQ(sink_->closing(), 1u);
  ASSERT_TRUE(sink_->events().back().has_end());
  EXPECT_EQ(sink_->events().back().end().reason(), v1::StreamEnd::REASON_LIMIT);
  EXPECT_EQ(sink_->events().back().end().detail(), "watch_duration 7s reached");
  EXPECT_EQ(sink_->events().back().end().time().seconds(),
            absl::ToUnixSeconds(clock_.Wall()));
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  RunFor(*loop_, clock_, absl::Seconds(10));
  FinishRound();
  EXPECT_EQ(opener_.dumps(), 4);
}

TEST_F(SocketsProbeTest, AWatchRoundWaitsForRoomRatherThanDrop) {
  plan_.watch_interval = absl::Seconds(1);
  opener_.Set({Tcp(80, 1)});
  StartProbe();
  sink_->set_capacity(1, 1 + SocketsProbe::MaxEventsBeyondHighWater(plan_));
  opener_.Set({Tcp(80, 1), Tcp(81, 2)});
  NextRound();
  EXPECT_EQ(sink_->events().size(), 1u);
  EXPECT_TRUE(sink_->resume_pending());
  EXPECT_EQ(loop_->pending_timer_count(), 0u) << "no next round while one waits";
  sink_->Drain();
  ASSERT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(Last().sockets(0).local().port(), 81u);
  EXPECT_EQ(sink_->dropped(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 1u);
}

TEST_F(SocketsProbeTest, ShutdownWithTheSinkFullStillDeliversStreamEnd) {
  plan_.watch_interval = absl::Seconds(1);
  opener_.Set({Tcp(80, 1)});
  StartProbe();
  sink_->set_capacity(1, 1 + SocketsProbe::MaxEventsBeyondHighWater(plan_));
  opener_.Set({Tcp(81, 2)});
  NextRound();  // its events wait for room
  probe_->Stop(StopReason::kAgentShutdown);
  ASSERT_TRUE(sink_->finished());
  EXPECT_TRUE(sink_->status().ok()) << sink_->status();
  ASSERT_EQ(sink_->closing(), 1u);
  ASSERT_EQ(sink_->events().size(), 2u);
  EXPECT_EQ(sink_->events().back().end().reason(), v1::StreamEnd::REASON_AGENT_SHUTDOWN);
  EXPECT_EQ(sink_->events().back().end().detail(),
            "the agent is shutting down; the watch was stopped");
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  sink_->Drain();
  EXPECT_EQ(sink_->events().size(), 2u) << "the waiting round is abandoned";
}

TEST_F(SocketsProbeTest, CancelEmitsNothingMoreAndDropsTheRoundInFlight) {
  plan_.watch_interval = absl::Seconds(1);
  opener_.Set({Tcp(80, 1)});
  StartProbe();
  opener_.Set({Tcp(81, 2)});
  RunFor(*loop_, clock_, plan_.watch_interval);  // a round is on the worker
  // The second round may or may not be back from the worker thread yet:
  // whatever was emitted before the cancel, nothing comes after it.
  const size_t before = sink_->events().size();
  probe_->Stop(StopReason::kClientCancelled);
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(done_, 1);
  probe_.reset();  // the registry destroys it; the round comes back to nobody
  FinishRound();
  EXPECT_EQ(sink_->events().size(), before);
  EXPECT_EQ(sink_->closing(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(SocketsProbeTest, AFailedDumpFailsTheRequest) {
  opener_.Fail(absl::PermissionDeniedError("sock_diag: EPERM"));
  StartProbe();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(sink_->status().message(), "listing tcp (IPv4) sockets: sock_diag: EPERM");
  EXPECT_TRUE(sink_->events().empty());
  EXPECT_EQ(done_, 1);
}

TEST_F(SocketsProbeTest, ASummaryRidesOnTheCompleteSnapshot) {
  sock_diag::Socket listener = Tcp(80, 1);
  listener.state = 10;  // LISTEN
  opener_.Set({Tcp(22, 2), Tcp(23, 3), listener});
  plan_.summary = true;
  StartProbe();
  ASSERT_FALSE(sink_->events().empty());
  const v1::SocketsSnapshot& snapshot = sink_->events().front().snapshot();
  ASSERT_TRUE(snapshot.complete());
  ASSERT_TRUE(snapshot.has_summary());
  const v1::SocketsSummary& summary = snapshot.summary();
  EXPECT_EQ(summary.sockets_used(), 12);
  EXPECT_EQ(summary.tcp_inuse(), 3);
  EXPECT_EQ(summary.tcp_established(), 2);
  ASSERT_EQ(summary.listed_size(), 2);
  EXPECT_EQ(summary.listed(0).netid(), "tcp");
  EXPECT_EQ(summary.listed(0).state(), "ESTAB");
  EXPECT_EQ(summary.listed(0).count(), 2u);
  EXPECT_EQ(summary.listed(1).state(), "LISTEN");
  EXPECT_EQ(summary.listed(1).count(), 1u);
}

TEST_F(SocketsProbeTest, UnreadableCountersFailTheRequestNamingTheSummary) {
  opener_.Set({Tcp(22, 2)});
  opener_.FailCounters(absl::PermissionDeniedError("/proc/net/sockstat: EACCES"));
  plan_.summary = true;
  StartProbe();
  ASSERT_TRUE(sink_->finished());
  EXPECT_EQ(sink_->status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(sink_->status().message(),
            "the socket summary (ss -s): /proc/net/sockstat: EACCES");
  EXPECT_TRUE(sink_->events().empty());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
