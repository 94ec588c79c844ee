// The client's many-agents pieces on fixed inputs: the agents file and
// --agent lists, line labelling and the "agent" JSON member, exit codes,
// {agent} file names and the table by agent.
#include "client/fanout/fanout.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "client/exit_codes.h"
#include "client/fanout/agent_list.h"
#include "client/fanout/labeled_stream.h"
#include "client/fanout/line_labeler.h"
#include "client/output/mesh_table.h"
#include "netprobe/v1/common.pb.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Names(const std::vector<AgentSpec>& agents) {
  std::vector<std::string> out;
  for (const AgentSpec& a : agents) out.push_back(a.name);
  return out;
}

TEST(AgentEntryTest, AddressAloneIsItsOwnName) {
  auto spec = ParseAgentEntry("198.18.0.10:7431");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->name, "198.18.0.10:7431");
  EXPECT_EQ(spec->address, "198.18.0.10:7431");
}

TEST(AgentEntryTest, NameEqualsAddress) {
  auto spec = ParseAgentEntry("web1=unix:/run/netprobe/agent.sock");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->name, "web1");
  EXPECT_EQ(spec->address, "unix:/run/netprobe/agent.sock");
  EXPECT_THAT(ParseAgentEntry("[2001:2::a]:7431"), IsOk());
}

TEST(AgentEntryTest, BadEntriesSayWhat) {
  EXPECT_THAT(ParseAgentEntry("=1.2.3.4:5").status().message(), HasSubstr("empty name"));
  EXPECT_THAT(ParseAgentEntry("web1=").status().message(), HasSubstr("no address"));
  EXPECT_THAT(ParseAgentEntry("").status().message(), HasSubstr("no address"));
  EXPECT_THAT(ParseAgentEntry("we\"b=1.2.3.4:5").status().message(),
              HasSubstr("may hold only"));
  EXPECT_THAT(ParseAgentEntry("a=b=c").status().message(), HasSubstr("more than one"));
  EXPECT_THAT(ParseAgentEntry("1.2.3.4:5 x").status().message(), HasSubstr("no spaces"));
  EXPECT_THAT(ParseAgentEntry(std::string(65, 'n') + "=1.2.3.4:5").status().message(),
              HasSubstr("longer than 64"));
}

TEST(AgentEntryTest, AddressesGrpcWouldMisreadAreRefusedNamingTheForms) {
  const std::pair<const char*, const char*> cases[] = {
      {"localhost:99999", "port '99999' is not from 1 to 65535"},
      {"localhost:0", "port '0' is not from 1 to 65535"},
      {"localhost:http", "port 'http' is not from 1 to 65535"},
      {"127.0.0.1", "no port: give HOST:PORT, e.g. 127.0.0.1:7431"},
      {"/run/netprobe/agent.sock",
       "needs 'unix:' before it: unix:/run/netprobe/agent.sock"},
      {"unix:", "unix: needs a socket name"},
      {"unix-abstract:", "unix-abstract: needs a socket name"},
      {"2001:2::a", "an IPv6 address goes in brackets"},
      {"[2001:2::a]", "no port after the address"},
      {"[2001:2::a", "'[' without ']'"},
      {":7431", "no host before ':PORT'"},
  };
  for (const auto& [entry, message] : cases) {
    absl::Status status = ParseAgentEntry(entry).status();
    EXPECT_THAT(status.message(), HasSubstr(message)) << entry;
    EXPECT_THAT(
        status.message(),
        HasSubstr("(forms: HOST:PORT, [IPV6]:PORT, unix:PATH or unix-abstract:NAME)"))
        << entry;
  }
  for (const char* good :
       {"localhost:7431", "dns:///agent.example:7431", "ipv4:1.2.3.4:1",
        "ipv6:[::1]:65535", "unix-abstract:netprobe", "unix:agent.sock"}) {
    EXPECT_THAT(ParseAgentEntry(good), IsOk()) << good;
  }
}

TEST(AgentListTest, RepeatedAndCommaSeparated) {
  auto list = ParseAgentList({"a=unix:/a.sock,b=unix:/b.sock", "198.18.0.12:7431"});
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(Names(*list), ElementsAre("a", "b", "198.18.0.12:7431"));
  EXPECT_THAT(ParseAgentList({"a=unix:/a.sock,,b=unix:/b"}).status().message(),
              HasSubstr("empty agent"));
}

TEST(AgentsFileTest, CommentsBlankLinesAndBothForms) {
  auto list = ParseAgentsFile(
      "# the fleet\n"
      "\n"
      "web1=198.18.0.10:7431\n"
      "   198.18.0.11:7431   # no name: labelled by its address\n"
      "\t db = unix:/run/db.sock \n"  // spaces around = are refused
      "last=unix:/l.sock",            // no final newline
      "hosts.txt");
  EXPECT_THAT(list.status().message(), HasSubstr("hosts.txt:5:"));

  list = ParseAgentsFile(
      "# the fleet\n"
      "\n"
      "web1=198.18.0.10:7431\n"
      "   198.18.0.11:7431   # no name: labelled by its address\n"
      "\tdb=unix:/run/db.sock \r\n"
      "last=unix:/l.sock",
      "hosts.txt");
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(Names(*list), ElementsAre("web1", "198.18.0.11:7431", "db", "last"));
  EXPECT_EQ((*list)[2].address, "unix:/run/db.sock");
}

TEST(AgentsFileTest, BadLinesNameFileAndLine) {
  auto spaced = ParseAgentsFile("a=unix:/a\nb unix:/b\n", "fleet.conf");
  EXPECT_THAT(spaced.status().message(), HasSubstr("fleet.conf:2: 'b unix:/b'"));
  EXPECT_THAT(spaced.status().message(), HasSubstr("one agent per line"));
  auto comma = ParseAgentsFile("\n\na=unix:/a,b=unix:/b\n", "fleet.conf");
  EXPECT_THAT(comma.status().message(), HasSubstr("fleet.conf:3:"));
  auto no_address = ParseAgentsFile("# x\nweb1=\n", "fleet.conf");
  EXPECT_THAT(no_address.status().message(), HasSubstr("fleet.conf:2:"));
  EXPECT_THAT(no_address.status().message(), HasSubstr("no address"));
}

TEST(AgentsFileTest, NoAgentsIsAnError) {
  for (const char* text : {"", "\n\n", "# only comments\n  # and more\n"}) {
    auto list = ParseAgentsFile(text, "empty.txt");
    EXPECT_THAT(list.status().message(), HasSubstr("empty.txt: no agents in the file"))
        << text;
  }
}

TEST(AgentsFileTest, ReadsAFileAndNamesAMissingOne) {
  const std::string path = ::testing::TempDir() + "/agents_file_test.txt";
  {
    std::ofstream f(path);
    f << "a=unix:/a.sock\nb=unix:/b.sock\n";
  }
  auto list = ReadAgentsFile(path);
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(Names(*list), ElementsAre("a", "b"));
  std::remove(path.c_str());
  EXPECT_THAT(ReadAgentsFile(path).status().message(),
              HasSubstr(absl::StrCat(path, ": cannot read: No such file")));
}

TEST(ResolveAgentsTest, FlagsThenFilesElseEnvElseDefault) {
  const std::string path = ::testing::TempDir() + "/resolve_agents_test.txt";
  {
    std::ofstream f(path);
    f << "c=unix:/c.sock\n";
  }
  auto both = ResolveAgents({"a=unix:/a", "b=unix:/b"}, {path}, "x=unix:/x", "unix:/d");
  ASSERT_THAT(both, IsOk());
  EXPECT_THAT(Names(*both), ElementsAre("a", "b", "c"));
  auto env = ResolveAgents({}, {}, "x=unix:/x,y=unix:/y", "unix:/d");
  ASSERT_THAT(env, IsOk());
  EXPECT_THAT(Names(*env), ElementsAre("x", "y"));
  auto fallback = ResolveAgents({}, {}, "", "unix:/d");
  ASSERT_THAT(fallback, IsOk());
  EXPECT_THAT(Names(*fallback), ElementsAre("unix:/d"));
  auto twice = ResolveAgents({"a=unix:/a"}, {path, path}, nullptr, "unix:/d");
  EXPECT_THAT(twice.status().message(), HasSubstr("agent 'c' is given twice"));
  EXPECT_THAT(ResolveAgents({"a="}, {}, nullptr, "unix:/d").status().message(),
              HasSubstr("--agent 'a=': no address"));
  std::remove(path.c_str());
}

TEST(LineLabelerTest, TextLinesAlignedOnTheWidestName) {
  const LineLabeler a("a", 5, false), longer("longer", 6, false);
  EXPECT_EQ(a.Label("PING x"), "[a]     PING x\n");
  EXPECT_EQ(LineLabeler("hosts", 5, false).Label("PING x"), "[hosts] PING x\n");
  EXPECT_EQ(a.Label(""), "[a]\n");  // no trailing spaces
  EXPECT_EQ(longer.Label("  indented"), "[longer]   indented\n");
}

TEST(LineLabelerTest, JsonObjectsGetTheAgentMemberFirst) {
  const LineLabeler j("web1", 4, true);
  EXPECT_EQ(j.Label(R"({"reply":{"sequence":1}})"),
            R"({"agent":"web1","reply":{"sequence":1}})"
            "\n");
  EXPECT_EQ(j.Label("{}"), "{\"agent\":\"web1\"}\n");
  EXPECT_EQ(j.Label("{ }"), "{\"agent\":\"web1\" }\n");
  // Not an object: labelled as text, never made into broken JSON.
  EXPECT_EQ(j.Label("plain words"), "[web1] plain words\n");
}

TEST(LineLabelerTest, JsonMemberIsEscapedAndParses) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  const std::string line =
      InsertJsonMember(R"({"summary":{"sent":"3"}})", "agent", "unix:/x\"y");
  EXPECT_EQ(line, R"({"agent":"unix:/x\"y","summary":{"sent":"3"}})");
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok());
  EXPECT_EQ(parsed.fields().at("agent").string_value(), "unix:/x\"y");
  EXPECT_EQ(InsertJsonMember("[1,2]", "agent", "a"), "");
}

TEST(LineSplitterTest, WholeLinesOnlyAndTheRestAtTheEnd) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto add = [&](absl::string_view l) { lines.emplace_back(l); };
  splitter.Feed("one\ntw", add);
  EXPECT_THAT(lines, ElementsAre("one"));
  splitter.Feed("o\n\nthr", add);
  EXPECT_THAT(lines, ElementsAre("one", "two", ""));
  splitter.Finish(add);
  EXPECT_THAT(lines, ElementsAre("one", "two", "", "thr"));
  splitter.Finish(add);
  EXPECT_EQ(lines.size(), 4u);
}

// Reads back what was written to a tmpfile().
std::string Contents(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;)
    out.append(buffer, n);
  return out;
}

TEST(LabeledStreamTest, FlushesWholeLabelledLinesAndTheLastPartialOne) {
  FILE* out = std::tmpfile();
  FILE* err = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ASSERT_NE(err, nullptr);
  {
    OutputMerger merger(out, err);
    LabeledStream a(&merger, LabeledStream::Target::kOut, LineLabeler("a", 2, false));
    LabeledStream bb(&merger, LabeledStream::Target::kErr, LineLabeler("bb", 2, false));
    std::fputs("first li", a.file());
    std::fflush(a.file());
    std::fputs("error: x\n", bb.file());  // line-buffered: out at once
    std::fputs("ne\nsecond", a.file());
    std::fflush(a.file());
    EXPECT_EQ(Contents(out), "[a]  first line\n");
    a.Close();
    bb.Close();
  }
  EXPECT_EQ(Contents(out), "[a]  first line\n[a]  second\n");
  EXPECT_EQ(Contents(err), "[bb] error: x\n");
  std::fclose(out);
  std::fclose(err);
}

TEST(CombineExitCodesTest, PartialFailureAndTheWorstWhenAllFail) {
  EXPECT_EQ(CombineExitCodes({0, 0, 0}), kExitOk);
  EXPECT_EQ(CombineExitCodes({0, 1, 0}), kExitProbeFailed);
  EXPECT_EQ(CombineExitCodes({0, 3, 0}), kExitPartialFailure);
  EXPECT_EQ(CombineExitCodes({1, 5}), kExitPartialFailure);
  EXPECT_EQ(CombineExitCodes({3, 3}), kExitAgentUnreachable);
  EXPECT_EQ(CombineExitCodes({3, 4, 3}), kExitAgentError);
  EXPECT_EQ(CombineExitCodes({3, 5}), kExitNotAuthenticated);
  EXPECT_EQ(CombineExitCodes({5, 2, 4}), kExitBadArguments);
  EXPECT_EQ(CombineExitCodes({0, 130, 3}), kExitInterrupted);
}

TEST(FanoutOptionsTest, CaptureToOnePcapFileOrStdoutIsRefused) {
  OptionParser parser(
      {{'w', "write", "FILE", ""}, {'c', "count", "N", ""}, {0, "pcapng", "", ""}});
  auto dash = parser.Parse({"-w", "-"});
  ASSERT_THAT(dash, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *dash).message(), HasSubstr("{agent}"));
  EXPECT_THAT(CheckFanoutOptions("capture", *dash).message(),
              HasSubstr("capture -w - with many agents: a pcap stream holds one "
                        "interface"));
  EXPECT_THAT(CheckFanoutOptions("capture", *dash).message(), HasSubstr("add --pcapng"));
  // Issue 22: one pcapng holds them all, an interface per agent.
  auto dash_pcapng = parser.Parse({"-w", "-", "--pcapng"});
  ASSERT_THAT(dash_pcapng, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *dash_pcapng), IsOk());
  auto named_pcapng = parser.Parse({"-w", "all.pcapng"});
  ASSERT_THAT(named_pcapng, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *named_pcapng), IsOk());
  auto flagged = parser.Parse({"-w", "all.cap", "--pcapng"});
  ASSERT_THAT(flagged, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *flagged), IsOk());
  auto one_file = parser.Parse({"-w", "cap.pcap"});
  ASSERT_THAT(one_file, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *one_file).message(),
              HasSubstr("capture -w cap.pcap: with many agents"));
  EXPECT_THAT(CheckFanoutOptions("capture", *one_file).message(),
              HasSubstr("add --pcapng (or name the file .pcapng)"));
  auto per_agent = parser.Parse({"-w", "cap-{agent}.pcap"});
  ASSERT_THAT(per_agent, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *per_agent), IsOk());
  auto text = parser.Parse({"-c", "3"});
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(CheckFanoutOptions("capture", *text), IsOk());
  EXPECT_THAT(CheckFanoutOptions("ping", *one_file), IsOk());
}

TEST(FanoutOptionsTest, AgentPlaceholderBecomesASafeFileName) {
  EXPECT_EQ(ExpandAgentPlaceholder("cap-{agent}.pcap", "web1"), "cap-web1.pcap");
  EXPECT_EQ(ExpandAgentPlaceholder("/tmp/{agent}/{agent}.pcap", "unix:/run/a.sock"),
            "/tmp/unix__run_a.sock/unix__run_a.sock.pcap");
  EXPECT_EQ(ExpandAgentPlaceholder("{agent}", ".."), "__");
  EXPECT_EQ(ExpandAgentPlaceholder("plain.pcap", "web1"), "plain.pcap");
}

v1::TargetSummary Summary(const std::string& host, int sent, int received, double loss,
                          int min_us, int avg_us, int max_us) {
  v1::TargetSummary s;
  s.mutable_target()->set_host(host);
  s.mutable_target()->set_address(host);
  s.set_sent(sent);
  s.set_received(received);
  s.set_loss_percent(loss);
  if (received > 0) {
    s.mutable_rtt()->set_count(received);
    s.mutable_rtt()->mutable_min()->set_nanos(min_us * 1000);
    s.mutable_rtt()->mutable_avg()->set_nanos(avg_us * 1000);
    s.mutable_rtt()->mutable_max()->set_nanos(max_us * 1000);
  }
  return s;
}

TEST(MeshTableTest, RowsPerAgentAndTargetAndFailures) {
  std::vector<MeshAgent> agents(3);
  agents[0].name = "h0";
  agents[0].summaries = {Summary("198.18.0.11", 3, 3, 0, 31, 45, 60),
                         Summary("198.18.0.12", 3, 2, 100.0 / 3, 29, 33, 41)};
  agents[1].name = "host-one";
  agents[1].summaries = {Summary("198.18.0.99", 3, 0, 100, 0, 0, 0)};
  agents[2].name = "h2";
  agents[2].failure = "agent unreachable";
  EXPECT_EQ(FormatMeshTable("ping", agents),
            "--- ping statistics by agent ---\n"
            "AGENT     TARGET       SENT  RECEIVED   LOSS  MIN/AVG/MAX ms\n"
            "h0        198.18.0.11     3         3     0%  0.031/0.045/0.060\n"
            "h0        198.18.0.12     3         2  33.3%  0.029/0.033/0.041\n"
            "host-one  198.18.0.99     3         0   100%  -\n"
            "h2        -               -         -      -  failed: agent unreachable\n");
}

TEST(MeshTableTest, PortsAndNamesResolvedToAnotherAddress) {
  v1::TargetSummary tcp = Summary("web", 2, 2, 0, 100, 120, 140);
  tcp.mutable_target()->set_port(80);
  tcp.mutable_target()->set_address("198.18.0.11");
  v1::TargetSummary v6 = Summary("2001:2::a", 1, 1, 0, 50, 50, 50);
  v6.mutable_target()->set_port(7);
  const std::string table = FormatMeshTable("tcp connect", {{"a", {tcp, v6}, ""}});
  EXPECT_THAT(table, HasSubstr("web:80 (198.18.0.11)"));
  EXPECT_THAT(table, HasSubstr("[2001:2::a]:7 "));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
