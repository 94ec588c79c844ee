// ProbesService's admission and its probes' ownership (issue 16).
#include "agent/server/probes_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "agent/net/event_loop.h"
#include "agent/net/resolver.h"
#include "agent/net/unique_fd.h"
#include "agent/policy/caller_slots.h"
#include "agent/probes/probe_registry.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;

// Takes every event; never finished by the probes of these tests.
class NullSink final : public EventSink<v1::UdpEchoEvent> {
 public:
  bool Emit(v1::UdpEchoEvent) override { return true; }
  bool Writable() const override { return true; }
  void NotifyWhenWritable(std::function<void()>) override {}
  void Finish(absl::Status, std::vector<v1::UdpEchoEvent>) override {}
};

// A UDP socket on 127.0.0.1 with a port of the kernel's choice that never
// answers: a target that keeps an echo probe running.
uint16_t BindLoopbackUdp(UniqueFd* fd) {
  fd->reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(*fd);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd->get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  EXPECT_EQ(getsockname(fd->get(), reinterpret_cast<sockaddr*>(&sin), &len), 0);
  return ntohs(sin.sin_port);
}

// As AgentServer orders them: the service is destroyed before the registry,
// which destroys the probes still registered, and their concurrency slots
// with them. A slot pointing into the dead service was a use after free
// (ASan: the `asan` preset runs this test too).
TEST(ProbesServiceTest, ProbesRegisteredAtShutdownOutliveTheService) {
  auto loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  auto registry = std::make_unique<ProbeRegistry>(loop->get());
  auto blocking = std::make_unique<BlockingPool>();
  std::shared_ptr<CallerSlots> slots = CallerSlots::Create();
  auto service = std::make_unique<ProbesService>(
      loop->get(), registry.get(), blocking.get(), StreamLimits{16, 16}, nullptr, slots);
  UniqueFd target;
  const uint16_t port = BindLoopbackUdp(&target);

  // Root on the unix socket: loopback targets need no grant there.
  const Caller caller{.identity = "unix:uid=0(root)",
                      .peer = "unix:pid=1,gid=0(root)",
                      .unix_peer = UnixCaller{}};
  for (int i = 0; i < 2; ++i) {
    v1::UdpEchoRequest request;
    request.set_target(absl::StrCat("127.0.0.1:", port));
    request.mutable_interval()->set_seconds(3600);  // count 0: until cancelled
    ASSERT_THAT(service->Start(caller, request, std::make_shared<NullSink>()), IsOk());
  }
  EXPECT_EQ(slots->running(caller.Key()), 2u);
  // Launch them: Run() after Stop() runs what was posted (the launches) and
  // returns, leaving both probes registered and running.
  (*loop)->Stop();
  (*loop)->Run();
  EXPECT_EQ(registry->active(), 2u);

  service.reset();
  blocking.reset();
  registry.reset();  // destroys the probes, then their slots
  EXPECT_EQ(slots->running(caller.Key()), 0u);
}

// Issue 22: a probe's own capture is a capture: the Capture probe must be
// enabled for the caller (it is not by default), as for the Capture call.
TEST(ProbesServiceTest, AProbeCaptureNeedsTheCaptureProbeEnabled) {
  auto loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  auto registry = std::make_unique<ProbeRegistry>(loop->get());
  auto blocking = std::make_unique<BlockingPool>();
  const Caller caller{.identity = "unix:uid=0(root)",
                      .peer = "unix:pid=1,gid=0(root)",
                      .unix_peer = UnixCaller{}};
  v1::UdpEchoRequest request;
  request.set_target("127.0.0.1:7");
  request.set_count(1);
  request.mutable_capture();
  {
    ProbesService service(loop->get(), registry.get(), blocking.get(),
                          StreamLimits{16, 16}, nullptr);
    EXPECT_THAT(service.Start(caller, request, std::make_shared<NullSink>()),
                testing::StatusIs(absl::StatusCode::kPermissionDenied,
                                  ::testing::AllOf(::testing::StartsWith("capture: "),
                                                   ::testing::HasSubstr("Capture"))));
  }
  v1::Policy config;
  config.add_enabled_probes("UdpEcho");
  config.add_enabled_probes("Capture");
  auto policy = Policy::Build(config);
  ASSERT_THAT(policy, IsOk());
  PolicyHolder holder(*policy);
  auto service = std::make_unique<ProbesService>(
      loop->get(), registry.get(), blocking.get(), StreamLimits{16, 16}, &holder);
  EXPECT_THAT(service->Start(caller, request, std::make_shared<NullSink>()), IsOk());
  service.reset();
  blocking.reset();
  registry.reset();
}

// The concurrency limit counts what runs, and a slot frees its place when
// the probe holding it goes.
TEST(CallerSlotsTest, LimitNamesTheRuleAndFreesWithTheSlot) {
  std::shared_ptr<CallerSlots> slots = CallerSlots::Create();
  v1::PolicyLimits limits;
  limits.set_concurrent_probes_per_client(1);
  auto first = slots->Take("unix", limits);
  ASSERT_THAT(first, IsOk());
  auto second = slots->Take("unix", limits);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(second.status().message()),
              ::testing::HasSubstr("policy.limits.concurrent_probes_per_client"));
  EXPECT_THAT(slots->Take("token:other", limits), IsOk());
  first->reset();
  EXPECT_THAT(slots->Take("unix", limits), IsOk());
}

// All callers together are held to concurrent_probes_total.
TEST(CallerSlotsTest, TotalLimitCountsEveryCaller) {
  std::shared_ptr<CallerSlots> slots = CallerSlots::Create();
  v1::PolicyLimits limits;
  limits.set_concurrent_probes_per_client(10);
  limits.set_concurrent_probes_total(2);
  auto a = slots->Take("unix:uid=1000(alice)", limits);
  auto b = slots->Take("token:ci", limits);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto c = slots->Take("x509:ops", limits);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(
      std::string(c.status().message()),
      ::testing::HasSubstr("policy.limits.concurrent_probes_total: the agent runs 2"));
  b->reset();
  EXPECT_THAT(slots->Take("x509:ops", limits), IsOk());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
