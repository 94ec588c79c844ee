// ProbeRegistry's deadline (issue 18): a probe launched with `stop_after`
// is stopped with kDeadline that long after its launch, unless it ended
// before; the timer goes with the probe.
#include "agent/probes/probe_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/test_support/fake_clock.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using testing::FakeClock;
using testing::RunFor;

// Records its stops; ends (calls `done`) on the first.
class RecordingProbe final : public Probe {
 public:
  RecordingProbe(std::vector<StopReason>* stops, std::function<void()> done)
      : stops_(stops), done_(std::move(done)) {}
  void Start() override {}
  void Stop(StopReason reason) override {
    if (ended_) return;
    ended_ = true;
    stops_->push_back(reason);
    done_();
  }
  void EndOnItsOwn() {
    ended_ = true;
    done_();
  }

 private:
  std::vector<StopReason>* const stops_;
  const std::function<void()> done_;
  bool ended_ = false;
};

class ProbeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(&clock_);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    registry_ = std::make_unique<ProbeRegistry>(loop_.get());
  }
  ProbeRegistry::Factory Factory() {
    return [this](std::function<void()> done) {
      auto probe = std::make_unique<RecordingProbe>(&stops_, std::move(done));
      last_ = probe.get();
      return probe;
    };
  }

  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ProbeRegistry> registry_;
  std::vector<StopReason> stops_;
  RecordingProbe* last_ = nullptr;
};

TEST_F(ProbeRegistryTest, StopsTheProbeWithKDeadlineWhenItsTimeIsUp) {
  registry_->Launch(registry_->NewId(), Factory(), absl::Milliseconds(750));
  RunFor(*loop_, clock_, absl::Milliseconds(749));
  EXPECT_TRUE(stops_.empty());
  EXPECT_EQ(registry_->active(), 1u);
  RunFor(*loop_, clock_, absl::Milliseconds(2));
  EXPECT_EQ(stops_, (std::vector<StopReason>{StopReason::kDeadline}));
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  EXPECT_EQ(registry_->active(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
}

TEST_F(ProbeRegistryTest, AProbeThatEndsFirstTakesItsDeadlineWithIt) {
  registry_->Launch(registry_->NewId(), Factory(), absl::Seconds(5));
  RunFor(*loop_, clock_, absl::Milliseconds(10));
  ASSERT_NE(last_, nullptr);
  EXPECT_EQ(loop_->pending_timer_count(), 1u);
  last_->EndOnItsOwn();
  RunFor(*loop_, clock_, absl::Milliseconds(10));
  EXPECT_EQ(registry_->active(), 0u);
  EXPECT_EQ(loop_->pending_timer_count(), 0u) << "the deadline timer outlived its probe";
  RunFor(*loop_, clock_, absl::Seconds(10));
  EXPECT_TRUE(stops_.empty());
}

TEST_F(ProbeRegistryTest, WithoutADeadlineNoTimerAndCancelStillStops) {
  const ProbeRegistry::ProbeId id = registry_->NewId();
  registry_->Launch(id, Factory());
  RunFor(*loop_, clock_, absl::Hours(1));
  EXPECT_EQ(loop_->pending_timer_count(), 0u);
  registry_->Cancel(id);
  RunFor(*loop_, clock_, absl::Milliseconds(1));
  EXPECT_EQ(stops_, (std::vector<StopReason>{StopReason::kClientCancelled}));
  EXPECT_EQ(registry_->active(), 0u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
