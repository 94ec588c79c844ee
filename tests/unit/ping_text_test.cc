#include "client/output/ping_text.h"

#include <gtest/gtest.h>

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

v1::TargetSummary Lossy(uint64_t kernel_drops) {
  v1::TargetSummary s;
  s.mutable_target()->set_host("198.18.0.1");
  s.mutable_target()->set_address("198.18.0.1");
  s.set_sent(10);
  s.set_received(7);
  s.set_loss_percent(30);
  s.set_kernel_drops(kernel_drops);
  return s;
}

TEST(FormatPingSummary, NamesRepliesTheKernelDroppedOnlyWhenThereWereSome) {
  EXPECT_NE(FormatPingSummary(Lossy(3)).find(
                "10 packets transmitted, 7 received, 30% packet loss, 3 dropped by the "
                "kernel (receive buffer full)\n"),
            std::string::npos)
      << FormatPingSummary(Lossy(3));
  EXPECT_EQ(FormatPingSummary(Lossy(0)).find("dropped"), std::string::npos);
  EXPECT_EQ(FormatFpingSummary(Lossy(3)),
            "198.18.0.1 : xmt/rcv/%loss = 10/7/30%, 3 dropped by the kernel\n");
  EXPECT_EQ(FormatFpingSummary(Lossy(0)), "198.18.0.1 : xmt/rcv/%loss = 10/7/30%\n");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
