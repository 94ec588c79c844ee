#include "agent/server/rpc_log.h"

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/net/monotonic_clock.h"
#include "agent/server/caller.h"
#include "agent/util/log.h"

namespace netprobe {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "UNKNOWN";
}

class RpcLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcLogInterceptor(grpc::experimental::ServerRpcInfo* info,
                    const RpcLogInterceptorFactory::OnFinished* on_finished)
      : info_(info), on_finished_(on_finished), start_(MonotonicNow()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr && request_.empty() &&
        absl::StartsWith(info_->method(), "/netprobe.v1.")) {
      // Our own services' requests are protobuf messages; gRPC's health
      // service hands over a ByteBuffer, so only ours are read.
      const auto* message =
          static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      request_ = message->ShortDebugString();
      if (request_.size() > kMaxRequestText) {
        request_ = absl::StrCat(request_.substr(0, kMaxRequestText), "...");
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double ms = absl::ToDoubleMilliseconds(MonotonicNow() - start_);
      const Caller caller = CallerOf(*info_->server_context());
      std::string line = absl::StrFormat(
          "rpc peer=%s identity=%s method=%s request={%s} code=%s duration=%.1fms",
          caller.peer, caller.identity.empty() ? "-" : caller.identity, info_->method(),
          request_, CodeName(status.error_code()), ms);
      if (!status.ok())
        absl::StrAppend(&line, " message=\"", status.error_message(), "\"");
      LogLine(line);
      if (*on_finished_) (*on_finished_)(info_->method(), CodeName(status.error_code()));
    }
    methods->Proceed();
  }

 private:
  // The audit line shows this much of the request (targets, options).
  static constexpr size_t kMaxRequestText = 1024;

  grpc::experimental::ServerRpcInfo* const info_;
  const RpcLogInterceptorFactory::OnFinished* const on_finished_;  // the factory's
  const absl::Duration start_;
  std::string request_;
};

}  // namespace

grpc::experimental::Interceptor* RpcLogInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RpcLogInterceptor(info, &on_finished_);
}

}  // namespace netprobe
