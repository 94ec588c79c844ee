// The agent's reflection answers (agent/server/reflection_service.h) are gRPC
// 1.51's ProtoServerReflection's, over a pool of fixed files.
#include "agent/server/reflection_service.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// a.proto: message A (extensions 100 to 199); b.proto imports it, extends A
// (120, 150) and defines service S; c.proto imports b.proto and a.proto.
const char* const kFiles[] = {
    R"pb(name: "t/a.proto"
         package: "t"
         message_type {
           name: "A"
           extension_range { start: 100 end: 200 }
         })pb",
    R"pb(name: "t/b.proto"
         package: "t"
         dependency: "t/a.proto"
         message_type { name: "B" }
         extension {
           name: "x"
           number: 150
           label: LABEL_OPTIONAL
           type: TYPE_INT32
           extendee: ".t.A"
         }
         extension {
           name: "y"
           number: 120
           label: LABEL_OPTIONAL
           type: TYPE_INT32
           extendee: ".t.A"
         }
         service {
           name: "S"
           method { name: "M" input_type: ".t.B" output_type: ".t.B" }
         })pb",
    R"pb(name: "t/c.proto"
         package: "t"
         dependency: "t/b.proto"
         dependency: "t/a.proto"
         message_type {
           name: "C"
           field {
             name: "b"
             number: 1
             label: LABEL_OPTIONAL
             type: TYPE_MESSAGE
             type_name: ".t.B"
           }
         })pb",
};

class ReflectionAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* text : kFiles) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &file)) << text;
      ASSERT_NE(pool_.BuildFile(file), nullptr) << text;
    }
  }

  // Answers `text` (a ServerReflectionRequest) into response_, which is
  // reused as a stream's is.
  void Ask(const char* text) {
    ServerReflectionRequest request;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request)) << text;
    AnswerReflectionRequest(pool_, services_, request, &response_);
  }

  // The names of the files in response_, in order.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const std::string& blob :
         response_.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(blob));
      names.push_back(file.name());
    }
    return names;
  }

  google::protobuf::DescriptorPool pool_;
  std::vector<std::string> services_ = {"t.S", "grpc.health.v1.Health"};
  ServerReflectionResponse response_;
};

TEST_F(ReflectionAnswerTest, AFileComesWithItsDependenciesDepthFirstEachOnce) {
  Ask(R"pb(file_by_filename: "t/c.proto")pb");
  EXPECT_THAT(Files(), ElementsAre("t/c.proto", "t/b.proto", "t/a.proto"));
  // The blobs are the files as the pool has them.
  google::protobuf::FileDescriptorProto want;
  pool_.FindFileByName("t/c.proto")->CopyTo(&want);
  EXPECT_EQ(response_.file_descriptor_response().file_descriptor_proto(0),
            want.SerializeAsString());
  EXPECT_EQ(response_.original_request().file_by_filename(), "t/c.proto");
  EXPECT_FALSE(response_.has_error_response());
}

TEST_F(ReflectionAnswerTest, ASymbolAnswersTheFileDefiningIt) {
  Ask(R"pb(file_containing_symbol: "t.S.M")pb");
  EXPECT_THAT(Files(), ElementsAre("t/b.proto", "t/a.proto"));
}

TEST_F(ReflectionAnswerTest, ExtensionsByNumberAndAll) {
  Ask(R"pb(file_containing_extension { containing_type: "t.A" extension_number: 150 })pb");
  EXPECT_THAT(Files(), ElementsAre("t/b.proto", "t/a.proto"));
  Ask(R"pb(all_extension_numbers_of_type: "t.A")pb");
  EXPECT_EQ(response_.all_extension_numbers_response().base_type_name(), "t.A");
  EXPECT_THAT(response_.all_extension_numbers_response().extension_number(),
              UnorderedElementsAre(120, 150));
}

TEST_F(ReflectionAnswerTest, ErrorsAreGrpcsCodesAndMessages) {
  const std::pair<const char*, const char*>
      cases[] =
          {
              {R"pb(file_by_filename: "t/none.proto")pb", "File not found."},
              {R"pb(file_containing_symbol: "t.None")pb", "Symbol not found."},
              {R"pb(file_containing_extension {
                      containing_type: "t.None"
                      extension_number: 150
                    })pb",
               "Type not found."},
              {R"pb(file_containing_extension {
                      containing_type: "t.A"
                      extension_number: 101
                    })pb",
               "Extension not found."},
              {R"pb(all_extension_numbers_of_type: "t.None")pb", "Type not found."},
          };
  for (const auto& [request, message] : cases) {
    Ask(request);
    EXPECT_EQ(response_.error_response().error_code(), 5) << request;  // NOT_FOUND
    EXPECT_EQ(response_.error_response().error_message(), message) << request;
  }
  // A request of no kind: UNIMPLEMENTED, no message; the host is echoed.
  Ask(R"pb(host: "h")pb");
  EXPECT_EQ(response_.error_response().error_code(), 12);
  EXPECT_EQ(response_.error_response().error_message(), "");
  EXPECT_EQ(response_.valid_host(), "h");
  EXPECT_EQ(response_.original_request().host(), "h");
}

// gRPC's loop keeps one response for the stream: answers of one kind in a row
// accumulate; another kind (one oneof) starts afresh.
TEST_F(ReflectionAnswerTest, TheStreamsResponseIsReusedAsGrpcsIs) {
  Ask(R"pb(list_services: "*")pb");
  ASSERT_EQ(response_.list_services_response().service_size(), 2);
  EXPECT_EQ(response_.list_services_response().service(0).name(), "t.S");
  Ask(R"pb(list_services: "*")pb");
  EXPECT_EQ(response_.list_services_response().service_size(), 4);
  Ask(R"pb(file_by_filename: "t/a.proto")pb");
  Ask(R"pb(file_by_filename: "t/b.proto")pb");
  EXPECT_THAT(Files(), ElementsAre("t/a.proto", "t/b.proto", "t/a.proto"));
  Ask(R"pb(file_by_filename: "t/none.proto")pb");
  Ask(R"pb(file_by_filename: "t/a.proto")pb");
  EXPECT_THAT(Files(), ElementsAre("t/a.proto"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
