#include "agent/server/reflection_service.h"

#include <google/protobuf/descriptor.pb.h>

#include <unordered_set>

namespace netprobe {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

// A file, then its dependencies depth first, each once (`seen`).
void AddFile(const google::protobuf::FileDescriptor* file,
             ServerReflectionResponse* response, std::unordered_set<std::string>* seen) {
  if (!seen->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  std::string data;
  proto.SerializeToString(&data);
  response->mutable_file_descriptor_response()->add_file_descriptor_proto(data);
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i), response, seen);
  }
}

grpc::Status AddFileAndDependencies(const google::protobuf::FileDescriptor* file,
                                    ServerReflectionResponse* response) {
  std::unordered_set<std::string> seen;
  AddFile(file, response, &seen);
  return grpc::Status::OK;
}

grpc::Status Answer(const google::protobuf::DescriptorPool& pool,
                    const std::vector<std::string>& services,
                    const ServerReflectionRequest& request,
                    ServerReflectionResponse* response) {
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename: {
      const auto* file = pool.FindFileByName(request.file_by_filename());
      if (file == nullptr)
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "File not found.");
      return AddFileAndDependencies(file, response);
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const auto* file = pool.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Symbol not found.");
      }
      return AddFileAndDependencies(file, response);
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& extension = request.file_containing_extension();
      const auto* type = pool.FindMessageTypeByName(extension.containing_type());
      if (type == nullptr)
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
      const auto* field = pool.FindExtensionByNumber(type, extension.extension_number());
      if (field == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Extension not found.");
      }
      return AddFileAndDependencies(field->file(), response);
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      auto* numbers = response->mutable_all_extension_numbers_response();
      const auto* type =
          pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr)
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      for (const auto* field : extensions) numbers->add_extension_number(field->number());
      numbers->set_base_type_name(request.all_extension_numbers_of_type());
      return grpc::Status::OK;
    }
    case ServerReflectionRequest::kListServices: {
      auto* list = response->mutable_list_services_response();
      for (const std::string& name : services) list->add_service()->set_name(name);
      return grpc::Status::OK;
    }
    default:
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  }
}

// One ServerReflectionInfo stream: read a request, write its answer, until
// the client half-closes (then OK, as gRPC's loop returns). Sequential, so
// one request and one response are in flight at most.
class ReflectionReactor final
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit ReflectionReactor(const std::vector<std::string>* services)
      : services_(services) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    AnswerReflectionRequest(*google::protobuf::DescriptorPool::generated_pool(),
                            *services_, request_, &response_);
    StartWrite(&response_);
  }

  // A failed write (the client went away) ends the stream as gRPC's Read()
  // returning false would.
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const std::vector<std::string>* const services_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;  // reused, as gRPC's is
};

}  // namespace

void AnswerReflectionRequest(const google::protobuf::DescriptorPool& pool,
                             const std::vector<std::string>& services,
                             const ServerReflectionRequest& request,
                             ServerReflectionResponse* response) {
  const grpc::Status status = Answer(pool, services, request, response);
  if (!status.ok()) {
    response->mutable_error_response()->set_error_code(status.error_code());
    response->mutable_error_response()->set_error_message(status.error_message());
  }
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
}

ReflectionService::ReflectionService(std::vector<std::string> services)
    : services_(std::move(services)) {}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* /*context*/) {
  return new ReflectionReactor(&services_);
}

}  // namespace netprobe
