#ifndef NETPROBE_AGENT_SERVER_RPC_LOG_H_
#define NETPROBE_AGENT_SERVER_RPC_LOG_H_

#include <grpcpp/support/server_interceptor.h>

namespace netprobe {

// Logs one line per finished RPC, whatever its service (health and reflection
// included): peer, method, status code, message when not OK, and duration:
//   rpc peer=unix: method=/netprobe.v1.Agent/GetInfo code=OK duration=0.4ms
class RpcLogInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_RPC_LOG_H_
