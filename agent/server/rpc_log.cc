#include "agent/server/rpc_log.h"

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <optional>

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

// A call's audit line is written once both its status was sent (or meant to
// be: a reset call's status goes nowhere) and its close was received, the
// point from which gRPC knows whether the client cancelled it; whichever
// comes second writes it. A call that never reports its close is written
// when the interceptor goes, as not reset.
class RpcLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcLogInterceptor(grpc::experimental::ServerRpcInfo* info,
                    const RpcLogInterceptorFactory::OnFinished* on_finished,
                    CallGuard* guard)
      : info_(info), on_finished_(on_finished), guard_(guard), start_(MonotonicNow()) {}

  ~RpcLogInterceptor() override {
    if (status_ && !finished_) Finished();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      got_request_ = true;
      if (request_.empty() && absl::StartsWith(info_->method(), "/netprobe.v1.")) {
        const auto* message =
            static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
        request_ = message->ShortDebugString();
        if (request_.size() > kMaxRequestText) {
          request_.resize(kMaxRequestText);
          request_ += "...";
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      sent_message_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      status_ = methods->GetSendStatus();
      duration_ = MonotonicNow() - start_;
      const grpc::ServerContextBase& context = *info_->server_context();
      caller_ = CallerOf(context);
      peer_ = context.peer();
      if (closed_) Finished();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) {
      closed_ = true;
      // Only a callback-API call may ask here: a synchronous one's
      // IsCancelled() plucks this very close from its queue and recurses
      // (the agent serves none since reflection became a callback service,
      // reflection_service.h; the check stays for any added later).
      reset_ = dynamic_cast<grpc::CallbackServerContext*>(info_->server_context()) !=
                   nullptr &&
               info_->server_context()->IsCancelled();
      if (status_) Finished();
    }
    methods->Proceed();
  }

 private:
  void Finished() {
    finished_ = true;
    const char* code = reset_ ? "CANCELLED" : CodeName(status_->error_code());
    // Only a reset before any answer counts against the rapid-reset budget:
    // a client that read results and then cancelled (Ctrl-C, a monitor
    // that has what it wanted) made the agent do the work it asked for.
    const bool unanswered_reset = reset_ && !sent_message_;
    if (guard_ == nullptr ||
        guard_->OnCallFinished(peer_, caller_.peer, caller_.identity, info_->method(),
                               code, unanswered_reset)) {
      std::string line = absl::StrFormat(
          "rpc peer=%s identity=%s method=%s request={%s} code=%s duration=%.1fms",
          caller_.peer, caller_.identity.empty() ? "-" : caller_.identity,
          info_->method(), request_, code, absl::ToDoubleMilliseconds(duration_));
      if (reset_) {
        absl::StrAppend(&line, " message=\"reset by the client",
                        got_request_ ? "" : " before its request", "\"");
      } else if (!status_->ok()) {
        absl::StrAppend(&line, " message=\"", status_->error_message(), "\"");
      }
      LogLine(line);
    }
    if (*on_finished_) (*on_finished_)(info_->method(), code);
  }

  // The audit line shows this much of the request (targets, options).
  static constexpr size_t kMaxRequestText = 1024;

  grpc::experimental::ServerRpcInfo* const info_;
  const RpcLogInterceptorFactory::OnFinished* const on_finished_;  // the factory's
  CallGuard* const guard_;
  const absl::Duration start_;
  bool got_request_ = false;
  std::string request_;
  std::optional<grpc::Status> status_;  // once sent
  absl::Duration duration_;
  Caller caller_;
  std::string peer_;
  bool closed_ = false;
  bool reset_ = false;
  bool sent_message_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* RpcLogInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RpcLogInterceptor(info, &on_finished_, guard_);
}

}  // namespace netprobe
