// TCP_CONGESTION and TCP_MAXSEG through ApplySocketSetup, on real sockets.
#include "agent/net/socket_setup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "agent/net/unique_fd.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

UniqueFd TcpFd() { return UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }

TEST(SocketSetupTest, SetsCongestionAndMss) {
  UniqueFd fd = TcpFd();
  ASSERT_TRUE(fd.valid());
  SocketSetup setup;
  setup.congestion = "reno";  // built in, and always allowed
  setup.mss = 1000;
  ASSERT_THAT(ApplySocketSetup(fd.get(), AF_INET, /*tcp=*/true, setup), IsOk());
  char name[16] = {};
  socklen_t length = sizeof(name);
  ASSERT_EQ(getsockopt(fd.get(), IPPROTO_TCP, TCP_CONGESTION, name, &length), 0);
  EXPECT_STREQ(name, "reno");
  int mss = 0;
  length = sizeof(mss);
  ASSERT_EQ(getsockopt(fd.get(), IPPROTO_TCP, TCP_MAXSEG, &mss, &length), 0);
  EXPECT_EQ(mss, 1000);
}

TEST(SocketSetupTest, UnknownCongestionListsTheAllowedOnes) {
  UniqueFd fd = TcpFd();
  SocketSetup setup;
  setup.congestion = "no-such-cc";
  EXPECT_THAT(ApplySocketSetup(fd.get(), AF_INET, /*tcp=*/true, setup),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("\"no-such-cc\" is not known"),
                                        HasSubstr("allowed: "), HasSubstr("reno"))));
}

TEST(SocketSetupTest, BadMssNamesTheOption) {
  UniqueFd fd = TcpFd();
  SocketSetup setup;
  setup.mss = 1;  // below the kernel's minimum (TCP_MIN_MSS 88)
  EXPECT_THAT(ApplySocketSetup(fd.get(), AF_INET, /*tcp=*/true, setup),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TCP_MAXSEG=1")));
}

TEST(SocketSetupTest, TcpOptionsAreIgnoredForUdp) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  SocketSetup setup;
  setup.congestion = "no-such-cc";
  setup.mss = 1;
  EXPECT_THAT(ApplySocketSetup(fd.get(), AF_INET, /*tcp=*/false, setup), IsOk());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
