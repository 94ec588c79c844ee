#include "client/field_flags.h"

#include <gtest/gtest.h>

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

// Issue 18: an agent error names the proto field; the CLI adds the flag.
TEST(FlagForAgentMessageTest, EachCommandsFieldsMapToItsFlags) {
  EXPECT_EQ(FlagForAgentMessage("ping", "interval: 10us is below the minimum of 1ms"),
            "-i/--interval");
  EXPECT_EQ(FlagForAgentMessage("ping", "timeout: 0s must be above 0"), "-W/--wait");
  EXPECT_EQ(FlagForAgentMessage("ping", "rate_limit: 200000 per second is above"),
            "--rate");
  EXPECT_EQ(FlagForAgentMessage("ping", "options.ttl: 300 is out of range"), "-t/--ttl");
  EXPECT_EQ(FlagForAgentMessage("tcp", "options.interface: no interface 'eth9'"),
            "-I/--interface");
  EXPECT_EQ(FlagForAgentMessage("tcp", "concurrency: 0 is below 1"), "--concurrency");
  EXPECT_EQ(FlagForAgentMessage("udp", "size: 10 bytes is below 24"), "-s/--size");
  EXPECT_EQ(FlagForAgentMessage("capture", "snaplen: 70000 is above 65535"),
            "-s/--snapshot-length");
  EXPECT_EQ(FlagForAgentMessage("capture", "max_packets: 0"), "-c/--count");
  EXPECT_EQ(FlagForAgentMessage("mcast", "send_ttl: 0 is below 1"), "-t/--ttl");
  EXPECT_EQ(FlagForAgentMessage("sockets", "watch_interval: 1ms is below 100ms"),
            "--watch");
  EXPECT_EQ(FlagForAgentMessage("broadcast", "window: 2m is above 60s"), "-w/--window");
  EXPECT_EQ(FlagForAgentMessage("throughput", "parallel: 17 is above 16"),
            "-P/--parallel");
  EXPECT_EQ(FlagForAgentMessage("throughput", "duration: 0s must be above 0"),
            "-t/--time");
  EXPECT_EQ(FlagForAgentMessage("throughput", "congestion: 'foo' is not allowed"),
            "-C/--congestion");
  EXPECT_EQ(FlagForAgentMessage("throughput", "options.tos: 300 is above 255"),
            "-S/--tos");
}

TEST(FlagForAgentMessageTest, TargetsAreArgumentsAndOtherMessagesNameNoFlag) {
  EXPECT_EQ(FlagForAgentMessage("ping", "targets[2]: 'a b' is not a host name"),
            "target argument 3");
  EXPECT_EQ(FlagForAgentMessage("tcp", "targets: at least one HOST:PORT is needed"),
            "the target arguments");
  EXPECT_EQ(FlagForAgentMessage("ping", "policy: 198.18.0.9 is not an allowed target"),
            "");
  EXPECT_EQ(FlagForAgentMessage("ping", "no colon at all"), "");
  EXPECT_EQ(FlagForAgentMessage("ping", ": empty field"), "");
  EXPECT_EQ(FlagForAgentMessage("ping", "targets[x]: bad"), "");
  EXPECT_EQ(FlagForAgentMessage("info", "interval: what"), "");
  // A field only another probe has is not guessed at.
  EXPECT_EQ(FlagForAgentMessage("udp", "concurrency: 0"), "");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
