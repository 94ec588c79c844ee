// Issue 21: the CLI's --json writer against protobuf 3.21's printer
// (MessageToJsonString, add_whitespace = false, always_print_primitive_fields
// = true), byte for byte, for every message type of netprobe.v1 filled
// reflectively with edge values, and for a dynamic type that has what ours do
// not (every scalar kind, wrappers, maps of every key kind, oneof scalars,
// proto3 optional, Any, Struct).
#include "client/output/json_lines.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/capture.pb.h"
#include "netprobe/v1/common.pb.h"
#include "netprobe/v1/config.pb.h"
#include "netprobe/v1/ping.pb.h"
#include "netprobe/v1/probes.pb.h"
#include "netprobe/v1/schedule.pb.h"
#include "netprobe/v1/sockets.pb.h"
#include "netprobe/v1/tcp.pb.h"
#include "netprobe/v1/throughput.pb.h"
#include "netprobe/v1/traceroute.pb.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {
namespace json_lines_test {

namespace pb = google::protobuf;
using pb::FieldDescriptor;
using pb::FieldDescriptorProto;

// ---------------------------------------------------------------------------
// A reflective filler: every field of every message it reaches, values drawn
// from pools of edge values, one oneof member (or none) per variant.

const std::vector<std::string>& Strings() {
  static const auto* const pool = new std::vector<std::string>{
      "",
      "127.0.1.17",
      "quote\" back\\slash /",
      "<b>&amp;='x'</b>",
      std::string("nul\0one\x01\x1f\x7f", 10),
      "tab\tnl\ncr\rbs\bff\f",
      "\xc3\xbc \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",  // ü é 日本 😀
      "\xc2\x80\xc2\x9f\xc2\xa0\xc2\xad",  // C1, nbsp, soft hyphen
      "\xe2\x80\xa8\xe2\x80\x8b\xef\xbb\xbf\xd8\x80\xe2\x81\xaa",  // U+2028 200B FEFF
                                                                   // 0600 206A
      "\xf3\xa0\x80\x81\xf0\x9d\x85\xb3",                          // U+E0001 U+1D173
      "eth0",
  };
  return *pool;
}

const std::vector<std::string>& Bytes() {
  static const auto* const pool = new std::vector<std::string>{
      "", "a", "ab", "abc", "abcd", std::string("\0\xff\xfe\x80", 4), "\xfb\xff\xbf"};
  return *pool;
}

class Filler {
 public:
  explicit Filler(uint64_t seed) : rng_(seed) {}

  void Fill(pb::Message* m, int depth) {
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::Reflection* r = m->GetReflection();
    if (d->full_name() == "google.protobuf.Timestamp") {
      static const int64_t kSeconds[] = {0,          1764500000,     -62135596800LL,
                                         -1,         253402300799LL, 951782400,
                                         4107542400, -2208988800};
      static const int32_t kNanos[] = {0,         123000000, 123456000, 123456789,
                                       999999999, 1,         5000};
      r->SetInt64(m, d->FindFieldByNumber(1), kSeconds[Pick(std::size(kSeconds))]);
      r->SetInt32(m, d->FindFieldByNumber(2), kNanos[Pick(std::size(kNanos))]);
      return;
    }
    if (d->full_name() == "google.protobuf.Duration") {
      static const std::pair<int64_t, int32_t> kDurations[] = {
          {0, 0},
          {1, 500000000},
          {-1, -500000000},
          {0, -1000},
          {0, 5480},
          {315576000000LL, 999999999},
          {-315576000000LL, -999999999},
          {5, 0},
          {0, 100000},
          {-7, 0}};
      const auto& [seconds, nanos] = kDurations[Pick(std::size(kDurations))];
      r->SetInt64(m, d->FindFieldByNumber(1), seconds);
      r->SetInt32(m, d->FindFieldByNumber(2), nanos);
      return;
    }
    for (int i = 0; i < d->real_oneof_decl_count(); ++i) {
      const pb::OneofDescriptor* oneof = d->oneof_decl(i);
      const int k = Pick(oneof->field_count() + 1);
      if (k < oneof->field_count()) FillField(m, oneof->field(k), depth);
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->real_containing_oneof() != nullptr) continue;
      if (f->has_presence() && Pick(4) == 0) continue;  // optional, messages
      if (f->message_type() != nullptr && !f->is_map() && depth >= 4) continue;
      FillField(m, f, depth);
    }
  }

  // After filling through reflection, a parse puts maps in the state every
  // message the CLI prints is in (parsed from the wire, or built with the
  // generated map API).
  static void Reparse(pb::Message* m) {
    const std::string wire = m->SerializeAsString();
    m->Clear();
    ASSERT_TRUE(m->ParseFromString(wire));
  }

 private:
  int Pick(size_t n) { return static_cast<int>(rng_() % n); }

  void FillField(pb::Message* m, const FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m->GetReflection();
    if (f->is_map()) {
      const int n = Pick(4);
      const FieldDescriptor* key = f->message_type()->map_key();
      const FieldDescriptor* value = f->message_type()->map_value();
      for (int i = 0; i < n; ++i) {
        if (key->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && i >= 2) break;
        pb::Message* entry = r->AddMessage(m, f);
        const pb::Reflection* er = entry->GetReflection();
        switch (key->cpp_type()) {
          case FieldDescriptor::CPPTYPE_STRING:
            er->SetString(entry, key, Strings()[(i * 3 + 1) % Strings().size()]);
            break;
          case FieldDescriptor::CPPTYPE_INT32:
            er->SetInt32(entry, key, i == 0 ? 0 : i == 1 ? -1 : INT32_MAX);
            break;
          case FieldDescriptor::CPPTYPE_INT64:
            er->SetInt64(entry, key, i == 0 ? 0 : i == 1 ? INT64_MIN : 77);
            break;
          case FieldDescriptor::CPPTYPE_UINT32:
            er->SetUInt32(entry, key, i == 0 ? 0 : i == 1 ? UINT32_MAX : 9);
            break;
          case FieldDescriptor::CPPTYPE_UINT64:
            er->SetUInt64(entry, key, i == 0 ? 0 : i == 1 ? UINT64_MAX : 9);
            break;
          case FieldDescriptor::CPPTYPE_BOOL:
            er->SetBool(entry, key, i == 1);
            break;
          default:
            FAIL() << "map key " << key->DebugString();
        }
        SetOne(entry, value, depth);
      }
      return;
    }
    if (f->is_repeated()) {
      const int n = Pick(4);
      for (int i = 0; i < n; ++i) AddOne(m, f, depth);
      return;
    }
    SetOne(m, f, depth);
  }

  int32_t Int32() {
    static const int32_t kPool[] = {0, 1, -1, INT32_MIN, INT32_MAX, 42, 64};
    return kPool[Pick(std::size(kPool))];
  }
  int64_t Int64() {
    static const int64_t kPool[] = {0, -1, INT64_MIN, INT64_MAX, 1234567890123LL, 5};
    return kPool[Pick(std::size(kPool))];
  }
  uint32_t UInt32() {
    static const uint32_t kPool[] = {0, 1, UINT32_MAX, 65535, 80};
    return kPool[Pick(std::size(kPool))];
  }
  uint64_t UInt64() {
    static const uint64_t kPool[] = {0, 1, UINT64_MAX, 1ULL << 53, 4000000000ULL};
    return kPool[Pick(std::size(kPool))];
  }
  double Double() {
    static const double kPool[] = {0.0,
                                   -0.0,
                                   1.5,
                                   0.1,
                                   1e300,
                                   -2.5e-308,
                                   5e-324,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   3.141592653589793,
                                   1e21,
                                   123456789012345678.0,
                                   99.99,
                                   1e15,
                                   1e16,
                                   2.0 / 3.0,
                                   std::numeric_limits<double>::max(),
                                   std::numeric_limits<double>::min()};
    return kPool[Pick(std::size(kPool))];
  }
  float Float() {
    static const float kPool[] = {0.0f,
                                  -0.0f,
                                  0.1f,
                                  -1.5f,
                                  3.4e38f,
                                  1e-45f,
                                  std::numeric_limits<float>::quiet_NaN(),
                                  std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  16777217.0f,
                                  1.0f / 3.0f,
                                  1e7f};
    return kPool[Pick(std::size(kPool))];
  }
  int Enum(const FieldDescriptor* f) {
    const pb::EnumDescriptor* e = f->enum_type();
    const int k = Pick(e->value_count() + 2);
    if (k < e->value_count()) return e->value(k)->number();
    return k == e->value_count() ? 99 : -5;  // numbers without a name
  }

  void SetOne(pb::Message* m, const FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return r->SetInt32(m, f, Int32());
      case FieldDescriptor::CPPTYPE_INT64:
        return r->SetInt64(m, f, Int64());
      case FieldDescriptor::CPPTYPE_UINT32:
        return r->SetUInt32(m, f, UInt32());
      case FieldDescriptor::CPPTYPE_UINT64:
        return r->SetUInt64(m, f, UInt64());
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return r->SetDouble(m, f, Double());
      case FieldDescriptor::CPPTYPE_FLOAT:
        return r->SetFloat(m, f, Float());
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->SetBool(m, f, Pick(2) == 1);
      case FieldDescriptor::CPPTYPE_ENUM:
        return r->SetEnumValue(m, f, Enum(f));
      case FieldDescriptor::CPPTYPE_STRING:
        return r->SetString(m, f,
                            f->type() == FieldDescriptor::TYPE_BYTES
                                ? Bytes()[Pick(Bytes().size())]
                                : Strings()[Pick(Strings().size())]);
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Fill(r->MutableMessage(m, f), depth + 1);
    }
  }

  void AddOne(pb::Message* m, const FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return r->AddInt32(m, f, Int32());
      case FieldDescriptor::CPPTYPE_INT64:
        return r->AddInt64(m, f, Int64());
      case FieldDescriptor::CPPTYPE_UINT32:
        return r->AddUInt32(m, f, UInt32());
      case FieldDescriptor::CPPTYPE_UINT64:
        return r->AddUInt64(m, f, UInt64());
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return r->AddDouble(m, f, Double());
      case FieldDescriptor::CPPTYPE_FLOAT:
        return r->AddFloat(m, f, Float());
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->AddBool(m, f, Pick(2) == 1);
      case FieldDescriptor::CPPTYPE_ENUM:
        return r->AddEnumValue(m, f, Enum(f));
      case FieldDescriptor::CPPTYPE_STRING:
        return r->AddString(m, f,
                            f->type() == FieldDescriptor::TYPE_BYTES
                                ? Bytes()[Pick(Bytes().size())]
                                : Strings()[Pick(Strings().size())]);
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Fill(r->AddMessage(m, f), depth + 1);
    }
  }

  std::mt19937_64 rng_;
};

// (1) byte-identical to protobuf's printer, (2) read back by protobuf's
// parser to an equal message (NaN equal to NaN).
void ExpectSameAsProtobuf(const pb::Message& m, bool itself = true,
                          bool round_trip = true) {
  // Not passing because both ends are protobuf's printer.
  EXPECT_EQ(WritesJsonLineItself(m), itself) << m.GetDescriptor()->full_name();
  const std::string ours = ToJsonLine(m);
  const std::string theirs = ToJsonLineByProtobuf(m);
  ASSERT_EQ(ours, theirs) << m.GetDescriptor()->full_name() << "\n" << m.DebugString();
  std::string appended = "x";
  AppendJsonLine(m, &appended);
  EXPECT_EQ(appended, "x" + theirs);
  if (!round_trip) return;
  std::unique_ptr<pb::Message> parsed(m.New());
  const auto status = pb::util::JsonStringToMessage(ours, parsed.get());
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << ours;
  pb::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  pb::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  // EQUIVALENT: a double -0 is printed "-0", which the parser reads as 0,
  // an unset field in proto3 (the printer's output is checked above).
  differencer.set_message_field_comparison(pb::util::MessageDifferencer::EQUIVALENT);
  std::string report;
  differencer.ReportDifferencesToString(&report);
  EXPECT_TRUE(differencer.Compare(m, *parsed)) << report << "\n" << ours;
}

// Every message type of the netprobe.v1 files: the events and everything in them.
std::vector<const pb::Descriptor*> NetprobeTypes() {
  std::vector<const pb::Descriptor*> types;
  std::set<const pb::FileDescriptor*> seen;
  // The files of the messages the CLI prints, and what they import.
  std::vector<const pb::FileDescriptor*> files = {
      v1::PingEvent::descriptor()->file(),
      v1::AgentInfo::descriptor()->file(),
      v1::CaptureEvent::descriptor()->file(),
      v1::UdpEchoEvent::descriptor()->file(),
      v1::TcpConnectEvent::descriptor()->file(),
      v1::TracerouteEvent::descriptor()->file(),
      v1::ThroughputEvent::descriptor()->file(),
      v1::SocketsEvent::descriptor()->file(),
      v1::WatchResultsEvent::descriptor()->file(),
      v1::AgentConfig::descriptor()->file(),
      pb::DescriptorPool::generated_pool()->FindFileByName("netprobe/v1/probes.proto")};
  while (!files.empty()) {
    const pb::FileDescriptor* file = files.back();
    files.pop_back();
    if (file == nullptr || !seen.insert(file).second) continue;
    for (int i = 0; i < file->dependency_count(); ++i)
      files.push_back(file->dependency(i));
    if (file->package() != "netprobe.v1") continue;
    std::vector<const pb::Descriptor*> todo;
    for (int i = 0; i < file->message_type_count(); ++i)
      todo.push_back(file->message_type(i));
    while (!todo.empty()) {
      const pb::Descriptor* d = todo.back();
      todo.pop_back();
      if (!d->options().map_entry()) types.push_back(d);
      for (int i = 0; i < d->nested_type_count(); ++i) todo.push_back(d->nested_type(i));
    }
  }
  return types;
}

TEST(JsonLinesExactTest, EveryNetprobeTypeAllDefault) {
  const std::vector<const pb::Descriptor*> types = NetprobeTypes();
  ASSERT_GT(types.size(), 50u);
  for (const pb::Descriptor* d : types) {
    std::unique_ptr<pb::Message> m(
        pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
    ExpectSameAsProtobuf(*m);
  }
}

TEST(JsonLinesExactTest, EveryNetprobeTypeFilled) {
  int checked = 0;
  for (const pb::Descriptor* d : NetprobeTypes()) {
    for (uint64_t variant = 1; variant <= 60; ++variant) {
      std::unique_ptr<pb::Message> m(
          pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
      Filler(variant * 7919 + d->index()).Fill(m.get(), 0);
      Filler::Reparse(m.get());
      ExpectSameAsProtobuf(*m);
      if (HasFailure()) return;
      ++checked;
    }
  }
  EXPECT_GT(checked, 3000);
}

// Each oneof member of the events the CLI prints, alone.
TEST(JsonLinesExactTest, EveryOneofMemberOfTheEvents) {
  const pb::Descriptor* events[] = {
      v1::PingEvent::descriptor(),       v1::CaptureEvent::descriptor(),
      v1::UdpEchoEvent::descriptor(),    v1::TcpConnectEvent::descriptor(),
      v1::TracerouteEvent::descriptor(), v1::ThroughputEvent::descriptor(),
      v1::SocketsEvent::descriptor(),    v1::BroadcastEvent::descriptor(),
      v1::MulticastEvent::descriptor(),  v1::WatchResultsEvent::descriptor(),
  };
  for (const pb::Descriptor* d : events) {
    ASSERT_NE(d, nullptr);
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      for (uint64_t seed : {1, 2, 3}) {
        std::unique_ptr<pb::Message> m(
            pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
        const pb::Reflection* r = m->GetReflection();
        if (f->message_type() != nullptr && !f->is_repeated()) {
          // Set but empty, then filled.
          r->MutableMessage(m.get(), f);
          ExpectSameAsProtobuf(*m);
          Filler(seed).Fill(r->MutableMessage(m.get(), f), 1);
        } else if (f->is_repeated() && f->message_type() != nullptr) {
          Filler(seed).Fill(r->AddMessage(m.get(), f), 1);
        }
        Filler::Reparse(m.get());
        ExpectSameAsProtobuf(*m);
      }
    }
  }
}

// The order protobuf's printer has, spelled out: declaration order, then
// the set Timestamp / Duration fields (which it renders as scalars where it
// had pre-populated an object) by field number.
TEST(JsonLinesExactTest, PingReplyLine) {
  v1::PingEvent event;
  v1::PingReply* reply = event.mutable_reply();
  reply->mutable_target()->set_host("127.0.1.17");
  reply->mutable_target()->set_address("127.0.1.17");
  reply->mutable_target()->set_family(v1::ADDRESS_FAMILY_IPV4);
  reply->set_sequence(7);
  reply->mutable_result()->set_outcome(v1::OUTCOME_OK);
  reply->mutable_rtt()->set_nanos(5480);
  reply->set_reply_ttl(64);
  reply->set_bytes(64);
  reply->mutable_time()->set_seconds(1764500000);
  reply->mutable_time()->set_nanos(123000000);
  const std::string line = ToJsonLine(event);
  EXPECT_EQ(line, ToJsonLineByProtobuf(event));
  EXPECT_NE(line.find("\"rtt\":\"0.000005480s\",\"time\":\"2025-11-30T10:53:20.123Z\"}}"),
            std::string::npos)
      << line;
}

// A map filled through the generated API (not reparsed), as the client's own
// summaries are.
TEST(JsonLinesExactTest, MapFilledThroughGeneratedApi) {
  v1::PingEvent event;
  v1::TargetSummary* summary = event.mutable_summary();
  summary->mutable_target()->set_host("h");
  for (const char* outcome :
       {"ok", "timeout", "unreachable", "refused", "error", "x<y"}) {
    (*summary->mutable_outcomes())[outcome] = outcome[0];
  }
  ExpectSameAsProtobuf(event);
  v1::PingEvent copy = event;
  ExpectSameAsProtobuf(copy);
}

TEST(JsonLinesExactTest, TimestampsAndDurationsOutOfRangeGoToProtobuf) {
  // Timestamps: protobuf's printer refuses them (the line is "{}").
  for (const auto& [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {253402300800LL, 0}, {-62135596801LL, 0}, {0, -1}, {0, 1000000000}}) {
    v1::PingEvent event;
    event.mutable_reply()->mutable_time()->set_seconds(seconds);
    event.mutable_reply()->mutable_time()->set_nanos(nanos);
    EXPECT_FALSE(WritesJsonLineItself(event));
    EXPECT_EQ(ToJsonLine(event), ToJsonLineByProtobuf(event)) << seconds << " " << nanos;
    EXPECT_EQ(ToJsonLine(event), "{}");
  }
  // Durations: refused, or (positive seconds, negative nanos) printed oddly.
  for (const auto& [seconds, nanos] :
       std::vector<std::pair<int64_t, int32_t>>{{315576000001LL, 0},
                                                {-315576000001LL, 0},
                                                {-1, 5},
                                                {1, -5},
                                                {0, 1000000000},
                                                {0, -1000000000}}) {
    v1::PingEvent event;
    event.mutable_reply()->mutable_rtt()->set_seconds(seconds);
    event.mutable_reply()->mutable_rtt()->set_nanos(nanos);
    EXPECT_FALSE(WritesJsonLineItself(event));
    EXPECT_EQ(ToJsonLine(event), ToJsonLineByProtobuf(event)) << seconds << " " << nanos;
  }
}

// Invalid UTF-8 (which proto3 parsing refuses, so only a message built in
// this process can hold it): protobuf's escaper drops the bad sequences.
TEST(JsonLinesExactTest, InvalidUtf8AsProtobufDropsIt) {
  for (const std::string& bad :
       {std::string("a\x80z"), std::string("a\xe2\x41z"), std::string("end\xe2\x82"),
        std::string("\xf8\x88\x80\x80\x80x"), std::string("sur\xed\xa0\x80r<"),
        std::string("\xc0\xaf/\xf4\x90\x80\x80!"), std::string("\xff")}) {
    v1::PingEvent event;
    event.mutable_reply()->mutable_target()->set_host(bad);
    EXPECT_TRUE(WritesJsonLineItself(event));
    EXPECT_EQ(ToJsonLine(event), ToJsonLineByProtobuf(event));
  }
}

// ---------------------------------------------------------------------------
// A dynamic proto3 type with what netprobe.v1 does not use.

FieldDescriptorProto* AddField(pb::DescriptorProto* m, const std::string& name,
                               int number, FieldDescriptorProto::Type type,
                               const std::string& type_name = "", bool repeated = false) {
  FieldDescriptorProto* f = m->add_field();
  f->set_name(name);
  f->set_number(number);
  f->set_type(type);
  f->set_label(repeated ? FieldDescriptorProto::LABEL_REPEATED
                        : FieldDescriptorProto::LABEL_OPTIONAL);
  if (!type_name.empty()) f->set_type_name(type_name);
  return f;
}

void AddMap(pb::DescriptorProto* m, const std::string& name, const std::string& entry,
            int number, FieldDescriptorProto::Type key, FieldDescriptorProto::Type value,
            const std::string& value_type = "") {
  pb::DescriptorProto* e = m->add_nested_type();
  e->set_name(entry);
  e->mutable_options()->set_map_entry(true);
  AddField(e, "key", 1, key);
  AddField(e, "value", 2, value, value_type);
  AddField(m, name, number, FieldDescriptorProto::TYPE_MESSAGE, ".jltest.Extra." + entry,
           true);
}

using FDP = FieldDescriptorProto;

const pb::DescriptorPool& ExtraPool() {
  static const pb::DescriptorPool* const pool = [] {
    auto* p = new pb::DescriptorPool(pb::DescriptorPool::generated_pool());
    pb::FileDescriptorProto file;
    file.set_name("jltest/extra.proto");
    file.set_package("jltest");
    file.set_syntax("proto3");
    for (const char* dep :
         {"google/protobuf/timestamp.proto", "google/protobuf/duration.proto",
          "google/protobuf/wrappers.proto", "google/protobuf/any.proto",
          "google/protobuf/struct.proto"}) {
      file.add_dependency(dep);
    }
    pb::EnumDescriptorProto* color = file.add_enum_type();
    color->set_name("Color");
    color->mutable_options()->set_allow_alias(true);
    const std::pair<const char*, int> kValues[] = {{"COLOR_UNSPECIFIED", 0},
                                                   {"RED", 1},
                                                   {"CRIMSON", 1},
                                                   {"MINUS", -2},
                                                   {"BIG", 100000}};
    for (const auto& [name, number] : kValues) {
      auto* v = color->add_value();
      v->set_name(name);
      v->set_number(number);
    }
    pb::DescriptorProto* inner = file.add_message_type();
    inner->set_name("Inner");
    AddField(inner, "a", 1, FDP::TYPE_INT32);
    AddField(inner, "b_list", 2, FDP::TYPE_STRING, "", true);
    AddField(inner, "d", 3, FDP::TYPE_MESSAGE, ".google.protobuf.Duration");

    pb::DescriptorProto* m = file.add_message_type();
    m->set_name("Extra");
    int n = 1;
    const std::pair<const char*, FDP::Type> kScalars[] = {
        {"f_int32", FDP::TYPE_INT32},       {"f_int64", FDP::TYPE_INT64},
        {"f_uint32", FDP::TYPE_UINT32},     {"f_uint64", FDP::TYPE_UINT64},
        {"f_sint32", FDP::TYPE_SINT32},     {"f_sint64", FDP::TYPE_SINT64},
        {"f_fixed32", FDP::TYPE_FIXED32},   {"f_fixed64", FDP::TYPE_FIXED64},
        {"f_sfixed32", FDP::TYPE_SFIXED32}, {"f_sfixed64", FDP::TYPE_SFIXED64},
        {"f_float", FDP::TYPE_FLOAT},       {"f_double", FDP::TYPE_DOUBLE},
        {"f_bool", FDP::TYPE_BOOL},         {"f_string", FDP::TYPE_STRING},
        {"f_bytes", FDP::TYPE_BYTES}};
    // Declared in an order unlike their numbers: the printer's order is the
    // declaration's for most fields, the numbers' for the appended ones.
    for (const auto& [name, type] : kScalars) AddField(m, name, 100 - n++, type);
    for (const auto& [name, type] : kScalars) {
      AddField(m, std::string("r_") + (name + 2), 100 + n++, type, "", true);
    }
    AddField(m, "f_enum", 200, FDP::TYPE_ENUM, ".jltest.Color");
    AddField(m, "r_enum", 201, FDP::TYPE_ENUM, ".jltest.Color", true);
    AddField(m, "f_inner", 202, FDP::TYPE_MESSAGE, ".jltest.Inner");
    AddField(m, "r_inner", 203, FDP::TYPE_MESSAGE, ".jltest.Inner", true);
    AddField(m, "f_time", 204, FDP::TYPE_MESSAGE, ".google.protobuf.Timestamp");
    AddField(m, "r_time", 205, FDP::TYPE_MESSAGE, ".google.protobuf.Timestamp", true);
    AddField(m, "f_duration", 150, FDP::TYPE_MESSAGE, ".google.protobuf.Duration");
    AddField(m, "r_duration", 207, FDP::TYPE_MESSAGE, ".google.protobuf.Duration", true);
    AddField(m, "custom", 208, FDP::TYPE_STRING)->set_json_name("x<y>\"z");
    n = 300;
    for (const char* w :
         {"DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value",
          "UInt32Value", "BoolValue", "StringValue", "BytesValue"}) {
      AddField(m, std::string("w_") + w, n++, FDP::TYPE_MESSAGE,
               std::string(".google.protobuf.") + w);
    }
    AddField(m, "r_wrapped", n++, FDP::TYPE_MESSAGE, ".google.protobuf.Int64Value", true);
    // A real oneof and proto3 optional fields (synthetic oneofs).
    m->add_oneof_decl()->set_name("choice");
    const std::pair<const char*, std::pair<FDP::Type, const char*>> kChoice[] = {
        {"o_int64", {FDP::TYPE_INT64, ""}},
        {"o_string", {FDP::TYPE_STRING, ""}},
        {"o_enum", {FDP::TYPE_ENUM, ".jltest.Color"}},
        {"o_inner", {FDP::TYPE_MESSAGE, ".jltest.Inner"}},
        {"o_time", {FDP::TYPE_MESSAGE, ".google.protobuf.Timestamp"}},
        {"o_wrapped", {FDP::TYPE_MESSAGE, ".google.protobuf.Int32Value"}},
        {"o_double", {FDP::TYPE_DOUBLE, ""}}};
    n = 50;
    for (const auto& [name, t] : kChoice) {
      AddField(m, name, n--, t.first, t.second)->set_oneof_index(0);
    }
    const std::pair<const char*, std::pair<FDP::Type, const char*>> kOptional[] = {
        {"p_int32", {FDP::TYPE_INT32, ""}},
        {"p_string", {FDP::TYPE_STRING, ""}},
        {"p_enum", {FDP::TYPE_ENUM, ".jltest.Color"}},
        {"p_double", {FDP::TYPE_DOUBLE, ""}},
        {"p_inner", {FDP::TYPE_MESSAGE, ".jltest.Inner"}}};
    n = 400;
    for (const auto& [name, t] : kOptional) {
      FDP* f = AddField(m, name, n++, t.first, t.second);
      f->set_proto3_optional(true);
      f->set_oneof_index(m->oneof_decl_size());
      m->add_oneof_decl()->set_name(std::string("_") + name);
    }
    AddMap(m, "m_string_int32", "MStringInt32Entry", 500, FDP::TYPE_STRING,
           FDP::TYPE_INT32);
    AddMap(m, "m_int32_string", "MInt32StringEntry", 501, FDP::TYPE_INT32,
           FDP::TYPE_STRING);
    AddMap(m, "m_bool_inner", "MBoolInnerEntry", 502, FDP::TYPE_BOOL, FDP::TYPE_MESSAGE,
           ".jltest.Inner");
    AddMap(m, "m_uint64_time", "MUint64TimeEntry", 503, FDP::TYPE_UINT64,
           FDP::TYPE_MESSAGE, ".google.protobuf.Timestamp");
    AddMap(m, "m_sint32_enum", "MSint32EnumEntry", 504, FDP::TYPE_SINT32, FDP::TYPE_ENUM,
           ".jltest.Color");
    AddMap(m, "m_string_bytes", "MStringBytesEntry", 505, FDP::TYPE_STRING,
           FDP::TYPE_BYTES);
    AddMap(m, "m_int64_double", "MInt64DoubleEntry", 506, FDP::TYPE_INT64,
           FDP::TYPE_DOUBLE);
    AddMap(m, "m_fixed32_wrapped", "MFixed32WrappedEntry", 507, FDP::TYPE_FIXED32,
           FDP::TYPE_MESSAGE, ".google.protobuf.StringValue");
    AddMap(m, "m_uint32_float", "MUint32FloatEntry", 508, FDP::TYPE_UINT32,
           FDP::TYPE_FLOAT);
    AddMap(m, "m_sfixed64_duration", "MSfixed64DurationEntry", 509, FDP::TYPE_SFIXED64,
           FDP::TYPE_MESSAGE, ".google.protobuf.Duration");

    pb::DescriptorProto* any = file.add_message_type();
    any->set_name("WithAny");
    AddField(any, "name", 1, FDP::TYPE_STRING);
    AddField(any, "any", 2, FDP::TYPE_MESSAGE, ".google.protobuf.Any");
    pb::DescriptorProto* with_struct = file.add_message_type();
    with_struct->set_name("WithStruct");
    AddField(with_struct, "name", 1, FDP::TYPE_STRING);
    AddField(with_struct, "s", 2, FDP::TYPE_MESSAGE, ".google.protobuf.Struct");
    pb::DescriptorProto* holder = file.add_message_type();
    holder->set_name("Holder");  // reaches Any only through a message field
    AddField(holder, "a", 1, FDP::TYPE_INT32);
    AddField(holder, "inner", 2, FDP::TYPE_MESSAGE, ".jltest.WithAny");
    if (p->BuildFile(file) == nullptr) std::abort();
    return p;
  }();
  return *pool;
}

std::unique_ptr<pb::Message> NewExtra(const char* name) {
  static pb::DynamicMessageFactory* const factory = new pb::DynamicMessageFactory;
  const pb::Descriptor* d = ExtraPool().FindMessageTypeByName(name);
  if (d == nullptr) return nullptr;
  return std::unique_ptr<pb::Message>(factory->GetPrototype(d)->New());
}

TEST(JsonLinesExactTest, DynamicTypeWithEveryKind) {
  ExpectSameAsProtobuf(*NewExtra("jltest.Extra"));
  for (uint64_t variant = 1; variant <= 400; ++variant) {
    std::unique_ptr<pb::Message> m = NewExtra("jltest.Extra");
    Filler(variant).Fill(m.get(), 0);
    Filler::Reparse(m.get());
    ExpectSameAsProtobuf(*m);
    if (HasFailure()) return;
  }
}

TEST(JsonLinesExactTest, AnyAndStructGoToProtobuf) {
  std::unique_ptr<pb::Message> with_any = NewExtra("jltest.WithAny");
  const pb::Reflection* r = with_any->GetReflection();
  r->SetString(with_any.get(), with_any->GetDescriptor()->FindFieldByName("name"), "n");
  ExpectSameAsProtobuf(*with_any, /*itself=*/false);
  pb::Timestamp t;
  t.set_seconds(5);
  pb::Any packed;
  packed.PackFrom(t);
  r->MutableMessage(with_any.get(), with_any->GetDescriptor()->FindFieldByName("any"))
      ->ParseFromString(packed.SerializeAsString());
  ExpectSameAsProtobuf(*with_any, /*itself=*/false);
  EXPECT_NE(ToJsonLine(*with_any).find("\"@type\""), std::string::npos);

  std::unique_ptr<pb::Message> holder = NewExtra("jltest.Holder");
  holder->GetReflection()
      ->MutableMessage(holder.get(), holder->GetDescriptor()->FindFieldByName("inner"))
      ->CopyFrom(*with_any);
  ExpectSameAsProtobuf(*holder, /*itself=*/false);

  std::unique_ptr<pb::Message> with_struct = NewExtra("jltest.WithStruct");
  pb::Struct s;
  (*s.mutable_fields())["k"].set_number_value(1.5);
  (*s.mutable_fields())["l"].mutable_list_value()->add_values()->set_string_value("x");
  with_struct->GetReflection()
      ->MutableMessage(with_struct.get(),
                       with_struct->GetDescriptor()->FindFieldByName("s"))
      ->ParseFromString(s.SerializeAsString());
  ExpectSameAsProtobuf(*with_struct, /*itself=*/false);
}

TEST(JsonLinesExactTest, WriteJsonLineIsOneLinePerMessage) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  ASSERT_NE(out, nullptr);
  v1::PingEvent event;
  event.mutable_reply()->set_sequence(1);
  WriteJsonLine(out, event);
  event.mutable_reply()->set_sequence(2);
  WriteJsonLine(out, event);
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  v1::PingEvent first = event;
  first.mutable_reply()->set_sequence(1);
  EXPECT_EQ(text,
            ToJsonLineByProtobuf(first) + "\n" + ToJsonLineByProtobuf(event) + "\n");
}

}  // namespace json_lines_test
}  // namespace netprobe::client
