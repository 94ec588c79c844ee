#include "client/commands/sockets_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The words of `text` as the shell would split them.
absl::StatusOr<v1::SocketsRequest> Parse(const std::string& text) {
  v1::SocketsRequest request;
  const std::vector<std::string> words = absl::StrSplit(text, ' ', absl::SkipEmpty());
  absl::Status status = ApplySsFilter(words, &request);
  if (!status.ok()) return status;
  return request;
}

std::string Error(const std::string& text) {
  auto request = Parse(text);
  EXPECT_FALSE(request.ok()) << text;
  return request.ok() ? "" : std::string(request.status().message());
}

TEST(ApplySsFilter, StatesPortsAndAddressesLikeSs) {
  auto r = Parse("state established and dport = :443");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->states(), ElementsAre("established"));
  EXPECT_EQ(r->remote_port(), 443u);
  EXPECT_EQ(r->local_port(), 0u);

  r = Parse("sport == :22 dst 198.18.0.2");  // implicit "and"
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->local_port(), 22u);
  EXPECT_EQ(r->remote(), "198.18.0.2");

  r = Parse("dport :443 && src 198.18.0.0/15 state listening state syn-recv");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_port(), 443u);
  EXPECT_EQ(r->local(), "198.18.0.0/15");
  EXPECT_THAT(r->states(), ElementsAre("listening", "syn-recv"));

  r = Parse("dport eq 80");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote_port(), 80u);
}

TEST(ApplySsFilter, AddressWithPortSetsBoth) {
  auto r = Parse("dst [::1]:443");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote(), "::1");
  EXPECT_EQ(r->remote_port(), 443u);
  r = Parse("src 198.18.0.10:22");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->local(), "198.18.0.10");
  EXPECT_EQ(r->local_port(), 22u);
  r = Parse("src *:22");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->local(), "");
  EXPECT_EQ(r->local_port(), 22u);
  r = Parse("dst 2001:2::/64");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote(), "2001:2::/64");
  EXPECT_EQ(r->remote_port(), 0u);
  r = Parse("dst = 198.18.0.2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote(), "198.18.0.2");
  r = Parse("dst [2001:2::]/64");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->remote(), "2001:2::/64");
}

TEST(ApplySsFilter, WhatSsHasAndThisDoesNotIsNamed) {
  EXPECT_THAT(Error("dport = :443 or dport = :80"),
              HasSubstr("filter: 'or' is not supported (supported: state NAME"));
  EXPECT_THAT(Error("not dst 198.18.0.2"), HasSubstr("'not' is not supported"));
  EXPECT_THAT(Error("exclude listening"), HasSubstr("'exclude' is not supported"));
  EXPECT_THAT(Error("( dport = :443 )"), HasSubstr("'(' is not supported"));
  EXPECT_THAT(Error("dport != :443"), HasSubstr("'!=' is not supported"));
  EXPECT_THAT(Error("sport gt :1024"), HasSubstr("'gt' is not supported"));
  EXPECT_THAT(Error("established"), HasSubstr("'established' is not supported"));
}

TEST(ApplySsFilter, BadValuesNameTheWordAndTheLimit) {
  EXPECT_THAT(Error("dport = :70000"),
              HasSubstr("dport: ':70000' is not a port 1..65535 (as :443)"));
  EXPECT_THAT(Error("sport :0"), HasSubstr("sport: ':0' is not a port 1..65535"));
  EXPECT_THAT(Error("sport :ssh"), HasSubstr("sport: ':ssh' is not a port"));
  EXPECT_THAT(Error("dst 198.18.0.2:99999"), HasSubstr("dst: '99999' is not a port"));
  EXPECT_THAT(Error("dst [::1"), HasSubstr("dst: '[::1' has no ']'"));
  EXPECT_THAT(Error("dst [::1]x"), HasSubstr("after ']' comes ':PORT' or '/LEN'"));
  EXPECT_THAT(Error("dport"), HasSubstr("filter: 'dport' needs a value"));
  EXPECT_THAT(Error("dport ="), HasSubstr("filter: 'dport =' needs a value"));
  EXPECT_THAT(Error("state"), HasSubstr("filter: 'state' needs a value"));
  EXPECT_THAT(Error("and dport :1"), HasSubstr("'and' needs a condition on each side"));
  EXPECT_THAT(Error("dport :1 and"), HasSubstr("'and' needs a condition on each side"));
  EXPECT_THAT(Error("dport :1 dport :2"), HasSubstr("the peer port is given twice"));
  EXPECT_THAT(Error("dst 198.18.0.2:80 dport :80"),
              HasSubstr("the peer port is given twice"));
  EXPECT_THAT(Error("src 198.18.0.1 src 198.18.0.2"),
              HasSubstr("the local address is given twice (src, --src)"));
}

TEST(ApplySsFilter, AnOptionAlreadySetCountsAsGiven) {
  v1::SocketsRequest request;
  request.set_remote("198.18.0.0/15");
  const absl::Status status = ApplySsFilter({"dst", "198.18.0.2"}, &request);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the peer address is given twice (dst, --dst)"));
  EXPECT_TRUE(ApplySsFilter({}, &request).ok());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
