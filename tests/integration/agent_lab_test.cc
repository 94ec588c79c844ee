// The real agent in a lab namespace, queried by the real client.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "netprobe/v1/agent.pb.h"
#include "tests/lab/lab.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class AgentLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = Lab::Create(2);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
  }
  std::unique_ptr<Lab> lab_;
};

TEST_F(AgentLabTest, InfoShowsTheLabHostsInterfacesAsJsonAndText) {
  auto agent = LabAgent::Start(*lab_, 0);
  ASSERT_THAT(agent, IsOk());

  auto json = agent->Client({"info", "--json"});
  ASSERT_THAT(json, IsOk());
  ASSERT_EQ(json->exit_code, 0) << json->err;
  // One JSON object on one line, parsed back with protobuf's own parser.
  ASSERT_EQ(std::count(json->out.begin(), json->out.end(), '\n'), 1) << json->out;
  v1::AgentInfo info;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json->out, &info).ok())
      << json->out;
  EXPECT_EQ(info.pid(), static_cast<uint32_t>(agent->process().pid()));
  const v1::NetworkInterface* eth0 = nullptr;
  for (const auto& itf : info.interfaces()) {
    if (itf.name() == "eth0") eth0 = &itf;
  }
  ASSERT_NE(eth0, nullptr) << json->out;
  ASSERT_EQ(eth0->ipv4_size(), 1);
  EXPECT_EQ(eth0->ipv4(0).address(), lab_->host(0).ipv4);
  EXPECT_EQ(eth0->ipv4(0).prefix_length(), 24u);
  EXPECT_EQ(eth0->ipv4(0).broadcast(), "198.18.0.255");
  EXPECT_THAT(eth0->flags(), Contains("up"));
  EXPECT_EQ(eth0->mtu(), 1500u);
  EXPECT_EQ(eth0->mac().size(), 17u);
  EXPECT_THAT(info.capabilities(), Contains("CAP_NET_RAW"));
  EXPECT_THAT(info.listen_addresses(), Contains(agent->address()));

  // The same facts agree with iproute2 run in the same namespace.
  auto ip = lab_->Exec(0, {"ip", "-o", "-4", "addr", "show", "dev", "eth0"});
  ASSERT_THAT(ip, IsOk());
  EXPECT_THAT(ip->out, HasSubstr(absl::StrCat("inet ", lab_->host(0).ipv4, "/24")));

  auto text = agent->Client({"info"});
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->exit_code, 0);
  EXPECT_THAT(text->out, HasSubstr(absl::StrCat("inet ", lab_->host(0).ipv4,
                                                "/24 brd 198.18.0.255")));
  EXPECT_THAT(text->out, HasSubstr(absl::StrCat("inet6 ", lab_->host(0).ipv6, "/64")));
}

TEST_F(AgentLabTest, NonLoopbackListenerNeedsInsecureAndThenServesOtherHosts) {
  // Refused without --insecure: exits 2 and says why.
  auto refused = lab_->Exec(
      0, {NETPROBE_AGENT_BIN, "--listen", absl::StrCat(lab_->host(0).ipv4, ":0")});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 2);
  EXPECT_THAT(refused->err, HasSubstr("--insecure"));

  auto agent = LabAgent::Start(
      *lab_, 0, {"--listen", absl::StrCat(lab_->host(0).ipv4, ":0"), "--insecure"});
  ASSERT_THAT(agent, IsOk());
  ASSERT_EQ(agent->bound().size(), 2u);
  const std::string tcp = agent->bound()[1];
  ASSERT_THAT(tcp, HasSubstr(lab_->host(0).ipv4));
  // The client in the other lab host reaches it across the bridge.
  auto info = lab_->Exec(1, {NETPROBE_CLIENT_BIN, "--agent", tcp, "info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out, HasSubstr(lab_->host(0).ipv4));
}

TEST_F(AgentLabTest, UnreachableAgentExitsThree) {
  auto result = RunCommand({NETPROBE_CLIENT_BIN, "--agent",
                            absl::StrCat("unix:", lab_->dir(), "/none.sock"), "--timeout",
                            "3s", "info"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_THAT(result->err, HasSubstr("unreachable"));
}

TEST_F(AgentLabTest, SigtermStopsTheAgentCleanlyAndRemovesItsSocket) {
  auto agent = LabAgent::Start(*lab_, 0);
  ASSERT_THAT(agent, IsOk());
  const std::string path = agent->address().substr(5);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  agent->process().Signal(SIGTERM);
  auto code = agent->process().Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0) << agent->process().err();
  EXPECT_THAT(agent->process().err(), HasSubstr("stopped"));
  EXPECT_NE(stat(path.c_str(), &st), 0) << "socket file left behind";
}

TEST_F(AgentLabTest, EveryRpcIsLoggedWithPeerMethodCodeAndDuration) {
  auto agent = LabAgent::Start(*lab_, 0);
  ASSERT_THAT(agent, IsOk());
  ASSERT_THAT(agent->Client({"info"}), IsOk());
  auto line = agent->process().WaitForStderr("GetInfo", absl::Seconds(5));
  ASSERT_THAT(line, IsOk());
  // The kernel names the unix caller: its process and its uid.
  EXPECT_THAT(*line, HasSubstr("rpc peer=unix:pid="));
  EXPECT_THAT(*line,
              HasSubstr("identity=unix:uid=0(root) method=/netprobe.v1.Agent/GetInfo "
                        "request={} code=OK duration="));
}

}  // namespace
}  // namespace netprobe::testing
