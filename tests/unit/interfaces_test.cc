#include "agent/net/interfaces.h"

#include <errno.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <string.h>

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "common/posix_error.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(PrefixLengthOfMaskTest, Ipv4Masks) {
  const uint8_t m24[] = {255, 255, 255, 0};
  const uint8_t m23[] = {255, 255, 254, 0};
  const uint8_t m32[] = {255, 255, 255, 255};
  const uint8_t m8[] = {255, 0, 0, 0};
  const uint8_t m1[] = {128, 0, 0, 0};
  const uint8_t m0[] = {0, 0, 0, 0};
  EXPECT_EQ(PrefixLengthOfMask(m24, 4), 24u);
  EXPECT_EQ(PrefixLengthOfMask(m23, 4), 23u);
  EXPECT_EQ(PrefixLengthOfMask(m32, 4), 32u);
  EXPECT_EQ(PrefixLengthOfMask(m8, 4), 8u);
  EXPECT_EQ(PrefixLengthOfMask(m1, 4), 1u);
  EXPECT_EQ(PrefixLengthOfMask(m0, 4), 0u);
}

TEST(PrefixLengthOfMaskTest, Ipv6Masks) {
  uint8_t m64[16] = {};
  std::fill(m64, m64 + 8, 0xff);
  uint8_t m128[16];
  std::fill(m128, m128 + 16, 0xff);
  uint8_t m127[16];
  std::fill(m127, m127 + 16, 0xff);
  m127[15] = 0xfe;
  uint8_t m0[16] = {};
  EXPECT_EQ(PrefixLengthOfMask(m64, 16), 64u);
  EXPECT_EQ(PrefixLengthOfMask(m128, 16), 128u);
  EXPECT_EQ(PrefixLengthOfMask(m127, 16), 127u);
  EXPECT_EQ(PrefixLengthOfMask(m0, 16), 0u);
}

TEST(PrefixLengthOfMaskTest, CountsOnlyLeadingOnes) {
  // Not a valid netmask: bits after the first zero are not counted.
  const uint8_t odd[] = {255, 0, 255, 255};
  EXPECT_EQ(PrefixLengthOfMask(odd, 4), 8u);
  const uint8_t hole[] = {0xf7, 0xff, 0, 0};
  EXPECT_EQ(PrefixLengthOfMask(hole, 4), 4u);
  EXPECT_EQ(PrefixLengthOfMask(odd, 0), 0u);
}

TEST(InterfaceFlagNamesTest, NamesSetFlagsInFixedOrder) {
  EXPECT_THAT(InterfaceFlagNames(IFF_UP | IFF_LOOPBACK | IFF_RUNNING),
              ElementsAre("up", "loopback", "running"));
  // Order does not depend on the order bits are given in.
  EXPECT_THAT(InterfaceFlagNames(IFF_RUNNING | IFF_UP | IFF_LOOPBACK),
              ElementsAre("up", "loopback", "running"));
  EXPECT_THAT(InterfaceFlagNames(IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST),
              ElementsAre("up", "broadcast", "running", "multicast"));
  EXPECT_THAT(InterfaceFlagNames(IFF_POINTOPOINT | IFF_NOARP | IFF_PROMISC),
              ElementsAre("pointopoint", "noarp", "promisc"));
  EXPECT_THAT(InterfaceFlagNames(0), IsEmpty());
  // Bits without a name (IFF_DEBUG, IFF_ALLMULTI) are left out.
  EXPECT_THAT(InterfaceFlagNames(IFF_DEBUG | IFF_ALLMULTI), IsEmpty());
}

TEST(ListInterfacesTest, IncludesLoopback) {
  auto interfaces = ListInterfaces();
  ASSERT_THAT(interfaces, IsOk());
  auto lo = std::find_if(interfaces->begin(), interfaces->end(),
                         [](const InterfaceInfo& i) { return i.name == "lo"; });
  ASSERT_NE(lo, interfaces->end()) << "no interface named lo";
  EXPECT_NE(lo->index, 0u);
  EXPECT_EQ(lo->index, if_nametoindex("lo"));
  EXPECT_GT(lo->mtu, 0u);
  EXPECT_TRUE(lo->flags & IFF_LOOPBACK);
  EXPECT_TRUE(lo->flags & IFF_UP);
  EXPECT_EQ(lo->mac, "") << "a loopback's all-zero address is not a MAC";
  EXPECT_THAT(lo->ipv4, Contains(AllOf(Field(&InterfaceAddressInfo::address, "127.0.0.1"),
                                       Field(&InterfaceAddressInfo::prefix_length, 8u))));
  for (const InterfaceAddressInfo& a : lo->ipv4) {
    EXPECT_EQ(a.broadcast, "") << "lo has no IFF_BROADCAST";
  }
}

TEST(ListInterfacesTest, SortedByIndexWithKernelIndexes) {
  auto interfaces = ListInterfaces();
  ASSERT_THAT(interfaces, IsOk());
  ASSERT_FALSE(interfaces->empty());
  for (size_t i = 1; i < interfaces->size(); ++i) {
    EXPECT_LE((*interfaces)[i - 1].index, (*interfaces)[i].index);
  }
  for (const InterfaceInfo& itf : *interfaces) {
    EXPECT_FALSE(itf.name.empty());
    EXPECT_EQ(itf.index, if_nametoindex(itf.name.c_str())) << itf.name;
    for (const InterfaceAddressInfo& a : itf.ipv4) EXPECT_LE(a.prefix_length, 32u);
    for (const InterfaceAddressInfo& a : itf.ipv6) EXPECT_LE(a.prefix_length, 128u);
  }
}

TEST(ErrnoNameTest, SymbolicNames) {
  EXPECT_EQ(ErrnoName(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(ErrnoName(EAGAIN), "EAGAIN");
  EXPECT_EQ(ErrnoName(EPERM), "EPERM");
  EXPECT_EQ(ErrnoName(99999), "E99999");
}

TEST(PosixErrorTest, MessageHasContextNameAndText) {
  absl::Status status = PosixError("connect(198.18.0.2:80)", ECONNREFUSED);
  EXPECT_EQ(status.message(), std::string("connect(198.18.0.2:80): ECONNREFUSED ") +
                                  strerror(ECONNREFUSED));
}

TEST(PosixErrorTest, CodeFollowsErrnoToStatus) {
  for (int err : {ECONNREFUSED, EACCES, EPERM, ENOENT, EINVAL, ETIMEDOUT, EAGAIN, ENOMEM,
                  EEXIST, EHOSTUNREACH, EBADF, 99999}) {
    absl::Status status = PosixError("ctx", err);
    EXPECT_EQ(status.code(), absl::ErrnoToStatus(err, "").code()) << ErrnoName(err);
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(std::string(status.message()),
                AllOf(HasSubstr("ctx: "), HasSubstr(ErrnoName(err))));
  }
  EXPECT_EQ(PosixError("x", EACCES).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixError("x", ENOENT).code(), absl::StatusCode::kNotFound);
}

absl::Status ReturnIfErrorHelper(absl::Status first, bool* reached) {
  NETPROBE_RETURN_IF_ERROR(first);
  *reached = true;
  return absl::OkStatus();
}

absl::StatusOr<int> AssignOrReturnHelper(absl::StatusOr<int> in) {
  NETPROBE_ASSIGN_OR_RETURN(int value, in);
  return value + 1;
}

TEST(PosixErrorTest, StatusMacros) {
  bool reached = false;
  EXPECT_THAT(ReturnIfErrorHelper(absl::OkStatus(), &reached), IsOk());
  EXPECT_TRUE(reached);
  reached = false;
  EXPECT_EQ(ReturnIfErrorHelper(absl::NotFoundError("x"), &reached).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(reached);
  EXPECT_EQ(*AssignOrReturnHelper(41), 42);
  EXPECT_EQ(AssignOrReturnHelper(absl::AbortedError("y")).status().code(),
            absl::StatusCode::kAborted);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
