#ifndef NETPROBE_AGENT_SERVER_REFLECTION_SERVICE_H_
#define NETPROBE_AGENT_SERVER_REFLECTION_SERVICE_H_

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace netprobe {

// Answers one request of gRPC's server reflection protocol
// (grpc.reflection.v1alpha) into `response`, exactly as gRPC 1.51's
// ProtoServerReflection::ServerReflectionInfo does for each request it reads:
// files with their dependencies (each once per request), NOT_FOUND errors
// with its messages, UNIMPLEMENTED for a request without a kind, and the
// `valid_host` and `original_request` echo. Like gRPC's, `response` is the
// stream's one response object, reused from request to request: what a kind
// adds (files, services, extension numbers) accumulates while requests of that
// kind follow one another on a stream, and another kind replaces it (they are
// one oneof). `pool`: where files and symbols are looked up; `services`: the
// names list_services answers.
void AnswerReflectionRequest(
    const google::protobuf::DescriptorPool& pool,
    const std::vector<std::string>& services,
    const grpc::reflection::v1alpha::ServerReflectionRequest& request,
    grpc::reflection::v1alpha::ServerReflectionResponse* response);

// The reflection service as a callback service, in place of gRPC 1.51's
// synchronous one (grpc++_reflection's plugin), whose synchronous server
// would keep a thread ("grpcpp_sync_server") waiting for calls. Answers from
// the generated descriptor pool, like gRPC's. Thread-safe.
class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `services`: the full names of the services the server serves, in the
  // order gRPC's list would have them (registered ones, this one, health).
  explicit ReflectionService(std::vector<std::string> services);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_REFLECTION_SERVICE_H_
