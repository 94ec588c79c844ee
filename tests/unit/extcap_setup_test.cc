// netprobe-extcap's command line, config file and interface names (issue 22).
#include "client/extcap/extcap_setup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_support/status_matchers.h"

namespace netprobe::client::extcap {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ExtcapInvocationTest, TheModesWiresharkAsksFor) {
  auto list = ParseInvocation({"--extcap-interfaces", "--extcap-version=4.0"});
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->mode, Mode::kInterfaces);

  auto dlts = ParseInvocation({"--extcap-interface", "netprobe-a-eth0", "--extcap-dlts"});
  ASSERT_THAT(dlts, IsOk());
  EXPECT_EQ(dlts->mode, Mode::kDlts);
  EXPECT_EQ(dlts->options.Get("extcap-interface"), "netprobe-a-eth0");

  auto config =
      ParseInvocation({"--extcap-config", "--extcap-interface", "netprobe-a-lo"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->mode, Mode::kConfig);

  auto check = ParseInvocation(
      {"--extcap-capture-filter", "udp port 53", "--extcap-interface", "netprobe-a-lo"});
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ(check->mode, Mode::kFilterCheck);

  // As tshark 4.0 runs a capture: its own options, then the dialog's values.
  auto capture = ParseInvocation(
      {"--capture", "--extcap-interface", "netprobe-lab-eth0", "--extcap-capture-filter",
       "udp port 5", "--fifo", "/tmp/wireshark_extcap_x", "--snaplen", "262144",
       "--promiscuous", "--agent", "unix:/run/a.sock", "--token-file", "/t"});
  ASSERT_THAT(capture, IsOk());
  EXPECT_EQ(capture->mode, Mode::kCapture);
  EXPECT_EQ(capture->options.Get("extcap-capture-filter"), "udp port 5");
  EXPECT_EQ(capture->options.Get("fifo"), "/tmp/wireshark_extcap_x");
  EXPECT_TRUE(capture->options.Has("promiscuous"));
  EXPECT_EQ(capture->options.Get("agent"), "unix:/run/a.sock");
  EXPECT_EQ(capture->options.Get("token-file"), "/t");
}

TEST(ExtcapInvocationTest, WhatIsMissingOrUnknownIsNamed) {
  EXPECT_THAT(ParseInvocation({"--capture", "--extcap-interface", "netprobe-a-lo"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--fifo")));
  EXPECT_THAT(
      ParseInvocation({"--capture", "--fifo", "/f"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--extcap-interface")));
  EXPECT_THAT(
      ParseInvocation({"--extcap-dlts"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--extcap-interface")));
  EXPECT_THAT(ParseInvocation({"--extcap-interfaces", "--bogus"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--bogus")));
  EXPECT_THAT(ParseInvocation({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nothing to do")));
}

TEST(ExtcapNamesTest, ValuesSayAgentAndInterface) {
  EXPECT_EQ(InterfaceValue("lab", "eth0"), "netprobe-lab-eth0");
  EXPECT_EQ(InterfaceDisplay("lab", "eth0"), "netprobe lab: eth0");
  // Characters a file name or Wireshark's sentences cannot carry become '_'.
  EXPECT_EQ(InterfaceValue("198.18.0.10:50051", "any"), "netprobe-198.18.0.10_50051-any");
  EXPECT_EQ(AgentToken("unix:/run/netprobe/agent.sock"), "unix__run_netprobe_agent.sock");
  EXPECT_EQ(InterfaceLine("lab", "veth-a"),
            "interface {value=netprobe-lab-veth-a}{display=netprobe lab: veth-a}\n");
  EXPECT_TRUE(ListableInterfaceName("veth-a.10"));
  EXPECT_FALSE(ListableInterfaceName("a}b"));
  EXPECT_FALSE(ListableInterfaceName(""));
}

TEST(ExtcapNamesTest, ValuesResolveToTheirAgentAndInterface) {
  const std::vector<AgentSpec> agents = {
      {"lab", "unix:/tmp/a.sock"},
      {"lab-2", "198.18.0.11:50051"},
      {"198.18.0.12:50051", "198.18.0.12:50051"},
  };
  auto ref = ResolveInterfaceValue("netprobe-lab-eth0", agents);
  ASSERT_THAT(ref, IsOk());
  EXPECT_EQ(ref->agent, 0u);
  EXPECT_EQ(ref->iface, "eth0");
  // The longest agent name wins: "lab-2" over "lab" with iface "2-veth-b".
  ref = ResolveInterfaceValue("netprobe-lab-2-veth-b", agents);
  ASSERT_THAT(ref, IsOk());
  EXPECT_EQ(ref->agent, 1u);
  EXPECT_EQ(ref->iface, "veth-b");
  ref = ResolveInterfaceValue(InterfaceValue(agents[2].name, "any"), agents);
  ASSERT_THAT(ref, IsOk());
  EXPECT_EQ(ref->agent, 2u);
  EXPECT_EQ(ref->iface, "any");

  EXPECT_THAT(ResolveInterfaceValue("netprobe-other-eth0", agents),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("unknown interface 'netprobe-other-eth0'")));
  EXPECT_THAT(ResolveInterfaceValue("netprobe-lab-", agents),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ResolveInterfaceValue("eth0", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none is configured")));
}

TEST(ExtcapConfigTest, AgentsAndOptionLines) {
  auto config = ParseAgentsConfig(
      "# lab agents\n"
      "--tls-ca /etc/netprobe/ca.pem\n"
      "--token-file=/etc/netprobe/token  # for all of them\n"
      "edge1=198.18.0.10:50051\n"
      "\n"
      "unix:/run/netprobe/agent.sock\n",
      "agents");
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->agents.size(), 2u);
  EXPECT_EQ(config->agents[0], (AgentSpec{"edge1", "198.18.0.10:50051"}));
  EXPECT_EQ(config->agents[1].address, "unix:/run/netprobe/agent.sock");
  EXPECT_EQ(config->option_args,
            (std::vector<std::string>{"--tls-ca", "/etc/netprobe/ca.pem", "--token-file",
                                      "/etc/netprobe/token"}));

  EXPECT_THAT(ParseAgentsConfig("a=unix:/x\n--snaplen 5\n", "agents"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("agents:2: unknown option --snaplen")));
  EXPECT_THAT(ParseAgentsConfig("--tls-ca\n", "agents"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agents:1:")));
  EXPECT_THAT(ParseAgentsConfig("a=/run/x.sock\n", "agents"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agents:1:")));
}

TEST(ExtcapConfigTest, NetprobeAgentAddsAgentsAndTokensMustDiffer) {
  auto config = LoadAgents(ConfigPath{}, "a=unix:/tmp/a.sock,b=unix:/tmp/b.sock");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->agents.size(), 2u);
  EXPECT_THAT(LoadAgents(ConfigPath{}, "a:1=unix:/tmp/a.sock,a/1=unix:/tmp/b.sock"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a_1")));
  EXPECT_THAT(LoadAgents(ConfigPath{"/nonexistent/agents", true}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto none = LoadAgents(ConfigPath{}, nullptr);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->agents.empty());
}

TEST(ExtcapConfigTest, ConfigPathFollowsXdg) {
  EXPECT_EQ(FindConfigPath("/etc/x", "/nonexistent", "/nonexistent").path, "/etc/x");
  EXPECT_TRUE(FindConfigPath("/etc/x", nullptr, nullptr).required);
  // Absent files are no config (agents may come from $NETPROBE_AGENT).
  EXPECT_EQ(FindConfigPath(nullptr, "/nonexistent", "/nonexistent").path, "");
  EXPECT_EQ(FindConfigPath("", nullptr, nullptr).path, "");
}

TEST(ExtcapSentencesTest, DltsAndConfig) {
  EXPECT_EQ(DltLine("any"),
            "dlt {number=276}{name=LINUX_SLL2}{display=Linux cooked v2}\n");
  EXPECT_EQ(DltLine("eth0"), "dlt {number=1}{name=EN10MB}{display=Ethernet}\n");
  const std::string config = ConfigLines("unix:/run/a.sock");
  for (const char* call :
       {"--snaplen", "--promiscuous", "--own-traffic", "--agent", "--tls-ca",
        "--tls-cert", "--tls-key", "--tls-server-name", "--token-file"}) {
    EXPECT_THAT(config, HasSubstr(std::string("{call=") + call + "}")) << call;
  }
  EXPECT_THAT(config, HasSubstr("{default=unix:/run/a.sock}"));
  EXPECT_THAT(config, HasSubstr("arg {number=0}"));
  // Every option the dialog offers is one the program takes.
  auto parsed = ParseInvocation({"--capture",
                                 "--extcap-interface",
                                 "netprobe-a-lo",
                                 "--fifo",
                                 "/f",
                                 "--snaplen",
                                 "9",
                                 "--promiscuous",
                                 "--own-traffic",
                                 "--agent",
                                 "x:1",
                                 "--tls-ca",
                                 "c",
                                 "--tls-cert",
                                 "c",
                                 "--tls-key",
                                 "k",
                                 "--tls-server-name",
                                 "n",
                                 "--token-file",
                                 "t"});
  EXPECT_THAT(parsed, IsOk());
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client::extcap
