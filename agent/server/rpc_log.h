#ifndef NETPROBE_AGENT_SERVER_RPC_LOG_H_
#define NETPROBE_AGENT_SERVER_RPC_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <functional>

#include "absl/strings/string_view.h"
#include "agent/server/call_guard.h"

namespace netprobe {

// The audit log: one line per finished RPC, whatever its service (health
// and reflection included): peer, identity (mTLS subject or token name, "-"
// when anonymous), method, the request (its targets and options, protobuf
// short text, at most 1 KiB), status code, message when not OK, duration:
//   rpc peer=unix: identity=- method=/netprobe.v1.Probes/Ping
//   request={targets: "198.18.0.11" count: 3} code=OK duration=2003.1ms
// A call the client reset (cancelled before its end) says code=CANCELLED
// whatever status the server meant to send. Every finished call passes
// through the CallGuard, which may summarise its line instead.
class RpcLogInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Called as each RPC finishes with its method and status code name (the
  // agent's RPC metrics); any thread.
  using OnFinished =
      std::function<void(absl::string_view method, absl::string_view code)>;
  // `guard` (may be null: every line is written) outlives the server.
  explicit RpcLogInterceptorFactory(OnFinished on_finished = nullptr,
                                    CallGuard* guard = nullptr)
      : on_finished_(std::move(on_finished)), guard_(guard) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const OnFinished on_finished_;
  CallGuard* const guard_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_RPC_LOG_H_
