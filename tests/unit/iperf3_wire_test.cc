#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/iperf3/wire.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::iperf3 {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// What iperf3 3.12's client sends for `iperf3 -c HOST` (send_parameters,
// cJSON_PrintUnformatted).
constexpr char kTcpParams312[] =
    R"({"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,)"
    R"("len":131072,"pacing_timer":1000,"client_version":"3.12"})";
// `iperf3 -c HOST -u -b 1M -l 1448 -P 2 -R -O 2 -t 5 -S 16 --udp-counters-64bit
//  --get-server-output -w 200000`
constexpr char kUdpParams312[] =
    R"({"udp":true,"omit":2,"time":5,"num":0,"blockcount":0,"parallel":2,"reverse":true,)"
    R"("window":200000,"len":1448,"bandwidth":1000000,"pacing_timer":1000,"TOS":16,)"
    R"("get_server_output":1,"udp_counters_64bit":1,"client_version":"3.12"})";
// iperf3 3.12's server (a receiver) after `iperf3 -c HOST`: -1 printed as an
// unsigned 64-bit number (cJSON print_number's PRIu64, fixed in 3.14).
constexpr char kReceiverResults312[] =
    R"({"cpu_util_total":0.73046413281230497,"cpu_util_user":0.032047441713442617,)"
    R"("cpu_util_system":0.69842069524904328,"sender_has_retransmits":18446744073709551615,)"
    R"("congestion_used":"cubic","streams":[{"id":1,"bytes":45264863232,)"
    R"("retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,)"
    R"("start_time":0,"end_time":10.000437}]})";
// Captured from iperf3 3.12 (Debian) `-s` after `-c 127.0.0.1 -u -b 1M -t 1`.
constexpr char kUdpReceiverResults312[] =
    R"({"cpu_util_total":0.033859287417674737,"cpu_util_user":0.033859287417674737,)"
    R"("cpu_util_system":0,"sender_has_retransmits":18446744073709551615,"streams":[)"
    R"({"id":1,"bytes":131072,"retransmits":18446744073709551615,)"
    R"("jitter":9.02587890625e-07,"errors":0,"packets":4,"start_time":0,)"
    R"("end_time":1.027762}]})";
// iperf3 3.12's client (a UDP sender).
constexpr char kUdpSenderResults312[] =
    R"({"cpu_util_total":1.5,"cpu_util_user":0.5,"cpu_util_system":1,)"
    R"("sender_has_retransmits":0,"streams":[{"id":1,"bytes":1310720,"retransmits":0,)"
    R"("jitter":0,"errors":0,"packets":905,"start_time":0,"end_time":10.000123},)"
    R"({"id":3,"bytes":1310720,"retransmits":0,"jitter":0,"errors":0,"packets":905,)"
    R"("start_time":0,"end_time":10.000125}]})";

TEST(Iperf3Wire, StateNames) {
  EXPECT_EQ(StateName(static_cast<int8_t>(State::kParamExchange)), "PARAM_EXCHANGE");
  EXPECT_EQ(StateName(static_cast<int8_t>(State::kAccessDenied)), "ACCESS_DENIED");
  EXPECT_EQ(StateName(static_cast<int8_t>(State::kServerError)), "SERVER_ERROR");
  EXPECT_EQ(StateName(static_cast<int8_t>(State::kIperfDone)), "IPERF_DONE");
  EXPECT_EQ(StateName(42), "state 42");
  EXPECT_EQ(StateName('H'), "state 72");
}

TEST(Iperf3Wire, CookieHasIperf3sAlphabetAndNul) {
  std::string a = NewCookie(), b = NewCookie();
  ASSERT_EQ(a.size(), kCookieSize);
  EXPECT_EQ(a.back(), '\0');
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    EXPECT_NE(std::string("abcdefghijklmnopqrstuvwxyz234567").find(a[i]),
              std::string::npos)
        << i;
  }
  EXPECT_NE(a, b);
}

TEST(Iperf3Wire, EncodesParamsAsIperf3Does) {
  TestParams p;
  p.length = 131072;
  p.client_version = "3.12";
  EXPECT_EQ(EncodeParams(p),
            R"({"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,)"
            R"("len":131072,"client_version":"3.12"})");

  TestParams u;
  u.udp = true;
  u.omit_seconds = 2;
  u.time_seconds = 5;
  u.parallel = 2;
  u.reverse = true;
  u.window = 200000;
  u.length = 1448;
  u.bandwidth = 1000000;
  u.tos = 16;
  u.get_server_output = true;
  u.udp_counters_64bit = true;
  u.client_version = "3.12";
  // kUdpParams312 without pacing_timer, which TestParams does not carry.
  EXPECT_EQ(EncodeParams(u),
            R"({"udp":true,"omit":2,"time":5,"num":0,"blockcount":0,"parallel":2,)"
            R"("reverse":true,"window":200000,"len":1448,"bandwidth":1000000,"TOS":16,)"
            R"("get_server_output":1,"udp_counters_64bit":1,"client_version":"3.12"})");
}

TEST(Iperf3Wire, DecodesIperf3ClientsParams) {
  auto tcp = DecodeParams(kTcpParams312);
  ASSERT_THAT(tcp, IsOk());
  EXPECT_FALSE(tcp->udp);
  EXPECT_EQ(tcp->time_seconds, 10);
  EXPECT_EQ(tcp->omit_seconds, 0);
  EXPECT_EQ(tcp->parallel, 1);
  EXPECT_EQ(tcp->length, 131072);
  EXPECT_EQ(tcp->bandwidth, 0u);
  EXPECT_FALSE(tcp->reverse);
  EXPECT_EQ(tcp->client_version, "3.12");

  auto udp = DecodeParams(kUdpParams312);
  ASSERT_THAT(udp, IsOk());
  EXPECT_TRUE(udp->udp);
  EXPECT_EQ(udp->omit_seconds, 2);
  EXPECT_EQ(udp->time_seconds, 5);
  EXPECT_EQ(udp->parallel, 2);
  EXPECT_TRUE(udp->reverse);
  EXPECT_FALSE(udp->bidirectional);
  EXPECT_EQ(udp->window, 200000);
  EXPECT_EQ(udp->length, 1448);
  EXPECT_EQ(udp->bandwidth, 1000000u);
  EXPECT_EQ(udp->tos, 16);
  EXPECT_TRUE(udp->get_server_output);
  EXPECT_TRUE(udp->udp_counters_64bit);
}

TEST(Iperf3Wire, ParamsRoundTrip) {
  TestParams p;
  p.udp = false;
  p.omit_seconds = 1;
  p.time_seconds = 0;
  p.bytes = (uint64_t{1} << 40) + 7;
  p.blocks = 12;
  p.mss = 1400;
  p.nodelay = true;
  p.parallel = 128;
  p.bidirectional = true;
  p.window = 1 << 20;
  p.length = 65536;
  p.bandwidth = 25'000'000'000;
  p.tos = 0xb8;
  p.congestion = "bbr";
  p.client_version = "netprobe \"1\"\n";
  auto back = DecodeParams(EncodeParams(p));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->udp, p.udp);
  EXPECT_EQ(back->omit_seconds, p.omit_seconds);
  EXPECT_EQ(back->time_seconds, p.time_seconds);
  EXPECT_EQ(back->bytes, p.bytes);
  EXPECT_EQ(back->blocks, p.blocks);
  EXPECT_EQ(back->mss, p.mss);
  EXPECT_EQ(back->nodelay, p.nodelay);
  EXPECT_EQ(back->parallel, p.parallel);
  EXPECT_EQ(back->reverse, p.reverse);
  EXPECT_EQ(back->bidirectional, p.bidirectional);
  EXPECT_EQ(back->window, p.window);
  EXPECT_EQ(back->length, p.length);
  EXPECT_EQ(back->bandwidth, p.bandwidth);
  EXPECT_EQ(back->tos, p.tos);
  EXPECT_EQ(back->congestion, p.congestion);
  EXPECT_EQ(back->get_server_output, p.get_server_output);
  EXPECT_EQ(back->udp_counters_64bit, p.udp_counters_64bit);
  EXPECT_EQ(back->client_version, p.client_version);
}

TEST(Iperf3Wire, ParamsAbsentMembersKeepDefaults) {
  auto p = DecodeParams(R"({"tcp":true})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->time_seconds, 10);
  EXPECT_EQ(p->parallel, 1);
  EXPECT_EQ(p->length, 0);
  // "udp" wins over "tcp", as in get_parameters; whitespace is fine.
  auto u = DecodeParams(" {\n\"tcp\" : true , \"udp\":true}\n");
  ASSERT_THAT(u, IsOk());
  EXPECT_TRUE(u->udp);
}

TEST(Iperf3Wire, RejectsBadParamsNamingTheMember) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"tcp":true,"parallel":0})", "parallel is 0"},
      {R"({"tcp":true,"parallel":129})", "parallel is 129"},
      {R"({"tcp":true,"parallel":"1"})", "parallel is a string"},
      {R"({"tcp":true,"parallel":1.5})", "parallel is 1.5, not a whole number"},
      {R"({"tcp":true,"time":-1})", "time is -1"},
      {R"({"tcp":true,"time":1e400})", "time is inf"},
      {R"({"tcp":true,"omit":null})", "omit is null"},
      {R"({"tcp":true,"num":-5})", "num is -5"},
      {R"({"tcp":true,"num":18446744073709551615})", "num is"},
      {R"({"tcp":true,"MSS":100000})", "MSS is 100000"},
      {R"({"tcp":true,"window":[1]})", "window is an array"},
      {R"({"tcp":true,"len":2000000})", "len is 2000000"},
      {R"({"udp":true,"len":8})", "len is 8, out of range 16..65507 for UDP"},
      {R"({"udp":true,"len":65508})", "len is 65508"},
      {R"({"tcp":true,"TOS":256})", "TOS is 256"},
      {R"({"tcp":true,"congestion":5})", "congestion is a number, not a string"},
      {R"({"tcp":"yes"})", "tcp is a string, not true or false"},
      {R"({"sctp":true})", "sctp is set"},
      {R"({"tcp":true,"client_version":{}})", "client_version is an object"},
      {R"([1,2])", "not an object"},
      {R"("tcp")", "not an object"},
      {R"({"tcp":true} x)", "text after the JSON value"},
      {R"({"tcp":true,})", "expected a member name"},
      {R"({"tcp":tru})", "unknown literal"},
      {R"({"tcp":true)", "unexpected end"},
      {"", "unexpected end"},
      {"HTTP/1.1 400 Bad Request\r\n", "expected a value"},
      {"{\"congestion\":\"a\x01\"}", "control character"},
      {R"({"congestion":"\ud800"})", "surrogate"},
      {R"({"time":01})", "expected ',' or '}'"},
      {R"({"time":1.})", "expected digits after '.'"},
  };
  for (const Case& c : cases) {
    auto p = DecodeParams(c.json);
    EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument,
                            ::testing::AllOf(HasSubstr("iperf3 parameters"),
                                             HasSubstr(c.message))))
        << c.json;
  }
}

TEST(Iperf3Wire, RejectsDeepNesting) {
  std::string deep = R"({"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_THAT(DecodeParams(deep),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deep")));
  std::string fine =
      R"({"tcp":true,"x":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_THAT(DecodeParams(fine), IsOk());
}

TEST(Iperf3Wire, StringEscapes) {
  auto p = DecodeParams(R"({"congestion":"a\"b\\c\/d\u00e9\ud83d\ude00\n"})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->congestion, "a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\n");
}

TEST(Iperf3Wire, EncodesResultsAsIperf3Does) {
  TestResults r;
  r.cpu_total = 12.5;
  r.cpu_user = 2.25;
  r.cpu_system = 10.25;
  r.sender_has_retransmits = 1;
  r.congestion_used = "cubic";
  StreamResult s;
  s.id = 1;
  s.bytes = uint64_t{1} << 53;
  s.retransmits = 17;
  s.end_time = 10.000437;
  r.streams.push_back(s);
  StreamResult receiver;
  receiver.id = 3;
  receiver.bytes = 1000;
  receiver.jitter_seconds = 0.000123;
  receiver.errors = 2;
  receiver.packets = 1000;
  receiver.start_time = 0;
  receiver.end_time = 10;
  r.streams.push_back(receiver);
  EXPECT_EQ(EncodeResults(r),
            R"({"cpu_util_total":12.5,"cpu_util_user":2.25,"cpu_util_system":10.25,)"
            R"("sender_has_retransmits":1,"congestion_used":"cubic","streams":[)"
            R"({"id":1,"bytes":9007199254740992,"retransmits":17,"jitter":0,"errors":0,)"
            R"("packets":0,"start_time":0,"end_time":10.000437},)"
            R"({"id":3,"bytes":1000,"retransmits":-1,"jitter":0.000123,"errors":2,)"
            R"("packets":1000,"start_time":0,"end_time":10}]})");

  TestResults empty;
  EXPECT_EQ(EncodeResults(empty),
            R"({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,)"
            R"("sender_has_retransmits":-1,"streams":[]})");
}

TEST(Iperf3Wire, ResultsRoundTrip) {
  TestResults r;
  r.cpu_total = 99.123456789012345;
  r.cpu_user = 1e-9;
  r.cpu_system = 1234567.5;
  r.sender_has_retransmits = 0;
  for (int id : {1, 3, 4}) {
    StreamResult s;
    s.id = id;
    s.bytes = 123456789012345 + id;
    s.retransmits = id == 4 ? -1 : id * 1000;
    s.jitter_seconds = 0.1 / id;
    s.errors = id;
    s.packets = 1 << 20;
    s.start_time = 0.5;
    s.end_time = 10.0 / 3;
    r.streams.push_back(s);
  }
  auto back = DecodeResults(EncodeResults(r));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->cpu_total, r.cpu_total);
  EXPECT_EQ(back->cpu_user, r.cpu_user);
  EXPECT_EQ(back->cpu_system, r.cpu_system);
  EXPECT_EQ(back->sender_has_retransmits, 0);
  EXPECT_EQ(back->congestion_used, "");
  ASSERT_EQ(back->streams.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->streams[i].id, r.streams[i].id);
    EXPECT_EQ(back->streams[i].bytes, r.streams[i].bytes);
    EXPECT_EQ(back->streams[i].retransmits, r.streams[i].retransmits);
    EXPECT_EQ(back->streams[i].jitter_seconds, r.streams[i].jitter_seconds);
    EXPECT_EQ(back->streams[i].errors, r.streams[i].errors);
    EXPECT_EQ(back->streams[i].packets, r.streams[i].packets);
    EXPECT_EQ(back->streams[i].start_time, r.streams[i].start_time);
    EXPECT_EQ(back->streams[i].end_time, r.streams[i].end_time);
  }
}

TEST(Iperf3Wire, DecodesIperf3312sUnsignedMinusOne) {
  auto r = DecodeResults(kReceiverResults312);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->sender_has_retransmits, -1);
  EXPECT_DOUBLE_EQ(r->cpu_total, 0.73046413281230497);
  EXPECT_EQ(r->congestion_used, "cubic");
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].id, 1);
  EXPECT_EQ(r->streams[0].bytes, 45264863232u);
  EXPECT_EQ(r->streams[0].retransmits, -1);
  EXPECT_EQ(r->streams[0].end_time, 10.000437);

  auto captured = DecodeResults(kUdpReceiverResults312);
  ASSERT_THAT(captured, IsOk());
  EXPECT_EQ(captured->sender_has_retransmits, -1);
  ASSERT_EQ(captured->streams.size(), 1u);
  EXPECT_EQ(captured->streams[0].retransmits, -1);
  EXPECT_EQ(captured->streams[0].jitter_seconds, 9.02587890625e-07);
  EXPECT_EQ(captured->streams[0].packets, 4);
  EXPECT_EQ(captured->streams[0].end_time, 1.027762);

  auto udp = DecodeResults(kUdpSenderResults312);
  ASSERT_THAT(udp, IsOk());
  EXPECT_EQ(udp->sender_has_retransmits, 0);
  ASSERT_EQ(udp->streams.size(), 2u);
  EXPECT_EQ(udp->streams[1].id, 3);
  EXPECT_EQ(udp->streams[1].packets, 905);
}

TEST(Iperf3Wire, ResultsStartAndEndTimeAreOptional) {
  // Servers before 3.2 sent neither; get_results copes.
  auto r = DecodeResults(
      R"({"cpu_util_total":1,"cpu_util_user":0,"cpu_util_system":1,)"
      R"("sender_has_retransmits":-1,"streams":[{"id":1,"bytes":5,"retransmits":-1,)"
      R"("jitter":0,"errors":0,"packets":0}]})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->streams[0].start_time, 0);
  EXPECT_EQ(r->streams[0].end_time, 0);
}

TEST(Iperf3Wire, ResultsRequireWhatGetResultsRequires) {
  const std::string top[] = {"cpu_util_total", "cpu_util_user", "cpu_util_system",
                             "sender_has_retransmits", "streams"};
  const std::string members[] = {"id",     "bytes",  "retransmits",
                                 "jitter", "errors", "packets"};
  auto build = [](const std::string& skip_top, const std::string& skip_member) {
    std::string stream = "{";
    for (const char* m : {"id", "bytes", "retransmits", "jitter", "errors", "packets"}) {
      if (m == skip_member) continue;
      if (stream.size() > 1) stream += ",";
      stream += absl::StrCat("\"", m, "\":1");
    }
    stream += "}";
    std::string json = "{";
    for (const char* m : {"cpu_util_total", "cpu_util_user", "cpu_util_system",
                          "sender_has_retransmits"}) {
      if (m == skip_top) continue;
      json += absl::StrCat("\"", m, "\":1,");
    }
    if (skip_top != "streams") json += "\"streams\":[" + stream + "],";
    json += "\"x\":0}";
    return json;
  };
  ASSERT_THAT(DecodeResults(build("", "")), IsOk());
  for (const std::string& m : top) {
    EXPECT_THAT(DecodeResults(build(m, "")), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr(m + " is missing")));
  }
  for (const std::string& m : members) {
    EXPECT_THAT(DecodeResults(build("", m)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("streams[0]: " + m + " is missing")));
  }
}

TEST(Iperf3Wire, RejectsBadResults) {
  constexpr char kHead[] =
      R"({"cpu_util_total":1,"cpu_util_user":0,"cpu_util_system":1,"sender_has_retransmits":)";
  EXPECT_THAT(DecodeResults(absl::StrCat(kHead, R"(2,"streams":[]})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sender_has_retransmits is 2")));
  EXPECT_THAT(DecodeResults(absl::StrCat(kHead, R"(1,"streams":{}})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("streams is an object, not an array")));
  EXPECT_THAT(DecodeResults(absl::StrCat(kHead, R"(1,"streams":[7]})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("streams[0] is a number, not an object")));
  EXPECT_THAT(DecodeResults(absl::StrCat(
                  kHead, R"(1,"streams":[{"id":1,"bytes":-3,"retransmits":0,"jitter":0,)"
                         R"("errors":0,"packets":0}]})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bytes is -3")));
  EXPECT_THAT(DecodeResults(R"({"cpu_util_total":"1"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cpu_util_total is a string")));
  EXPECT_THAT(DecodeResults("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("iperf3 results")));
}

TEST(Iperf3Wire, FrameIsBigEndianLengthThenText) {
  EXPECT_EQ(FrameJson("{}"), std::string("\0\0\0\2{}", 6));
  std::string big(0x10203, 'x');
  std::string frame = FrameJson(big);
  ASSERT_EQ(frame.size(), 4 + big.size());
  EXPECT_EQ(frame.substr(0, 4), std::string("\0\x01\x02\x03", 4));
}

TEST(Iperf3Wire, ReaderTakesAWholeFrameAndNothingMore) {
  std::string frame = FrameJson(kTcpParams312);
  JsonFrameReader reader;
  auto used = reader.Feed(frame + std::string("\x09rest", 5));
  ASSERT_THAT(used, IsOk());
  EXPECT_EQ(*used, frame.size());
  ASSERT_TRUE(reader.complete());
  EXPECT_EQ(reader.text(), kTcpParams312);
  // Complete: takes nothing more until Reset.
  auto more = reader.Feed("abc");
  ASSERT_THAT(more, IsOk());
  EXPECT_EQ(*more, 0u);
  reader.Reset();
  EXPECT_FALSE(reader.complete());
  EXPECT_EQ(reader.text(), "");
}

TEST(Iperf3Wire, ReaderEveryTruncatedPrefixIsIncomplete) {
  const std::string frame = FrameJson(kUdpParams312);
  for (size_t n = 0; n < frame.size(); ++n) {
    JsonFrameReader reader;
    auto used = reader.Feed(absl::string_view(frame).substr(0, n));
    ASSERT_THAT(used, IsOk()) << n;
    EXPECT_EQ(*used, n);
    EXPECT_FALSE(reader.complete()) << n;
    // The rest completes it.
    auto rest = reader.Feed(absl::string_view(frame).substr(n));
    ASSERT_THAT(rest, IsOk()) << n;
    EXPECT_EQ(*rest, frame.size() - n);
    ASSERT_TRUE(reader.complete()) << n;
    EXPECT_EQ(reader.text(), kUdpParams312);
  }
}

TEST(Iperf3Wire, ReaderByteByByte) {
  const std::string frame = FrameJson(kReceiverResults312);
  JsonFrameReader reader;
  for (size_t i = 0; i < frame.size(); ++i) {
    EXPECT_FALSE(reader.complete());
    auto used = reader.Feed(absl::string_view(frame).substr(i, 1));
    ASSERT_THAT(used, IsOk());
    EXPECT_EQ(*used, 1u);
  }
  ASSERT_TRUE(reader.complete());
  EXPECT_THAT(DecodeResults(reader.text()), IsOk());
}

TEST(Iperf3Wire, ReaderEmptyFrameCompletesAtOnce) {
  JsonFrameReader reader;
  auto used = reader.Feed(std::string("\0\0\0\0{", 5));
  ASSERT_THAT(used, IsOk());
  EXPECT_EQ(*used, 4u);
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(reader.text(), "");
}

TEST(Iperf3Wire, ReaderRejectsAHugeLength) {
  // An HTTP server answering: "HTTP" is 0x48545450 as a length.
  JsonFrameReader reader;
  auto used = reader.Feed("HTTP/1.1 400 Bad Request\r\n");
  EXPECT_THAT(used,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("1213486160"), HasSubstr("HTTP"))));
  // Split over two calls, the length is still checked.
  JsonFrameReader split;
  ASSERT_THAT(split.Feed("SS"), IsOk());
  EXPECT_THAT(split.Feed("H-2.0-OpenSSH"), StatusIs(absl::StatusCode::kInvalidArgument));
  // kMaxJsonLength itself is fine; one more is not.
  JsonFrameReader max;
  auto ok = max.Feed(std::string("\0\x10\0\0", 4));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(*ok, 4u);
  EXPECT_FALSE(max.complete());
  JsonFrameReader over;
  EXPECT_THAT(over.Feed(std::string("\0\x10\0\x01", 4)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Iperf3Wire, UdpHeader32Bit) {
  UdpHeader h{.seconds = 0x01020304, .microseconds = 999999, .sequence = 0x0A0B0C0D};
  std::vector<uint8_t> datagram(1460, 0xEE);
  ASSERT_TRUE(EncodeUdpHeader(h, false, absl::MakeSpan(datagram)));
  const std::vector<uint8_t> expected = {0x01, 0x02, 0x03, 0x04, 0x00, 0x0F, 0x42,
                                         0x3F, 0x0A, 0x0B, 0x0C, 0x0D, 0xEE};
  EXPECT_EQ(std::vector<uint8_t>(datagram.begin(), datagram.begin() + 13), expected);
  auto back = DecodeUdpHeader(datagram, false);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->seconds, h.seconds);
  EXPECT_EQ(back->microseconds, h.microseconds);
  EXPECT_EQ(back->sequence, h.sequence);
  EXPECT_EQ(UdpHeaderSize(false), 12u);
}

TEST(Iperf3Wire, UdpHeader64Bit) {
  UdpHeader h{.seconds = 7, .microseconds = 1, .sequence = 0x0102030405060708};
  std::vector<uint8_t> datagram(16);
  ASSERT_TRUE(EncodeUdpHeader(h, true, absl::MakeSpan(datagram)));
  const std::vector<uint8_t> expected = {0, 0, 0, 7, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(datagram, expected);
  auto back = DecodeUdpHeader(datagram, true);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->sequence, h.sequence);
  EXPECT_EQ(UdpHeaderSize(true), 16u);
}

TEST(Iperf3Wire, UdpHeaderTooShort) {
  std::vector<uint8_t> small(15);
  EXPECT_FALSE(EncodeUdpHeader(UdpHeader{}, true, absl::MakeSpan(small)));
  EXPECT_FALSE(DecodeUdpHeader(small, true).has_value());
  std::vector<uint8_t> eleven(11);
  EXPECT_FALSE(EncodeUdpHeader(UdpHeader{}, false, absl::MakeSpan(eleven)));
  EXPECT_FALSE(DecodeUdpHeader(eleven, false).has_value());
  EXPECT_TRUE(DecodeUdpHeader(small, false).has_value());
}

TEST(Iperf3Wire, UdpConnectMessagesAreIperf3s) {
  EXPECT_EQ(kUdpConnectMessage, 0x36373839u);  // "6789" in big-endian memory
  EXPECT_EQ(kUdpConnectReply, 0x39383736u);
  EXPECT_EQ(kLegacyUdpConnectReply, 987654321u);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::iperf3
