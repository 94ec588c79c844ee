// netprobe-test-call: one gRPC call to an agent, the request in protobuf text
// format, for lab tests that call as another user (setpriv) with fields the
// CLI has no flag for:
//
//   netprobe-test-call unix:/PATH METHOD 'TEXTPROTO'
//
// METHOD: GetInfo, Ping, TcpConnect, UdpEcho, Broadcast, Multicast, Capture,
// Sockets. Prints every response message as one line of text format, then
// "status: CODE message"; exits 0 when the call ended OK, 1 when it did not,
// 2 for a usage error. Every call has a 30 s deadline.
#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace {

using netprobe::v1::Agent;
using netprobe::v1::Probes;

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

int Finish(const grpc::Status& status) {
  std::printf("status: %d %s\n", static_cast<int>(status.error_code()),
              status.error_message().c_str());
  return status.ok() ? 0 : 1;
}

template <typename Request>
bool Parse(const std::string& text, Request* request) {
  if (google::protobuf::TextFormat::ParseFromString(text, request)) return true;
  std::fprintf(stderr, "netprobe-test-call: not a valid %s: %s\n",
               Request::descriptor()->full_name().c_str(), text.c_str());
  return false;
}

template <typename Request, typename Events>
int Stream(Probes::Stub* stub,
           std::unique_ptr<grpc::ClientReader<Events>> (Probes::Stub::*method)(
               grpc::ClientContext*, const Request&),
           const std::string& text) {
  Request request;
  if (!Parse(text, &request)) return 2;
  grpc::ClientContext context;
  SetDeadline(&context);
  auto reader = (stub->*method)(&context, request);
  Events events;
  std::string line;
  while (reader->Read(&events)) {
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.PrintToString(events, &line);
    std::printf("%s\n", line.c_str());
  }
  return Finish(reader->Finish());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: netprobe-test-call ADDRESS METHOD TEXTPROTO\n");
    return 2;
  }
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  const std::string method = argv[2];
  const std::string text = argv[3];
  if (method == "GetInfo") {
    netprobe::v1::GetInfoRequest request;
    if (!Parse(text, &request)) return 2;
    grpc::ClientContext context;
    SetDeadline(&context);
    netprobe::v1::AgentInfo info;
    const grpc::Status status =
        Agent::NewStub(channel)->GetInfo(&context, request, &info);
    if (status.ok()) std::printf("%s\n", info.ShortDebugString().c_str());
    return Finish(status);
  }
  auto stub = Probes::NewStub(channel);
  if (method == "Ping") return Stream(stub.get(), &Probes::Stub::Ping, text);
  if (method == "TcpConnect") return Stream(stub.get(), &Probes::Stub::TcpConnect, text);
  if (method == "UdpEcho") return Stream(stub.get(), &Probes::Stub::UdpEcho, text);
  if (method == "Broadcast") return Stream(stub.get(), &Probes::Stub::Broadcast, text);
  if (method == "Multicast") return Stream(stub.get(), &Probes::Stub::Multicast, text);
  if (method == "Capture") return Stream(stub.get(), &Probes::Stub::Capture, text);
  if (method == "Sockets") return Stream(stub.get(), &Probes::Stub::Sockets, text);
  if (method == "Traceroute") return Stream(stub.get(), &Probes::Stub::Traceroute, text);
  std::fprintf(stderr, "netprobe-test-call: unknown method '%s'\n", method.c_str());
  return 2;
}
