#include "client/agent_channel.h"

#include <arpa/inet.h>
#include <grpcpp/support/client_interceptor.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/tls_files.h"

namespace netprobe::client {
namespace {

// Adds the token to every call's initial metadata. Used instead of gRPC
// call credentials, which refuse channels below privacy-and-integrity, so
// the token reaches loopback agents in plaintext too; CheckChannelSecurity()
// keeps it off plaintext networks.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerTokenFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

bool IsUnixTarget(absl::string_view agent) {
  return absl::StartsWith(agent, "unix:") || absl::StartsWith(agent, "unix-abstract:");
}

absl::Status CheckTokenText(absl::string_view token, absl::string_view source) {
  if (token.empty() || !std::all_of(token.begin(), token.end(),
                                    [](char c) { return c > 0x20 && c < 0x7f; })) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": a token is printable ASCII without spaces, on one line"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<OptionSpec> ChannelOptionSpecs() {
  return {
      {0, "tls-ca", "FILE",
       "use TLS, verifying the agent's certificate against the CA(s) in FILE (PEM)"},
      {0, "tls-cert", "FILE", "client certificate (PEM) for mutual TLS; with --tls-key"},
      {0, "tls-key", "FILE", "the client certificate's private key (PEM, unencrypted)"},
      {0, "tls-server-name", "NAME",
       "the name to expect in the agent's certificate (default the host of --agent)"},
      {0, "token-file", "FILE",
       "send the bearer token in FILE (default $NETPROBE_TOKEN); not over plaintext "
       "TCP except to loopback"},
  };
}

bool GlobalOptionTakesValue(absl::string_view arg) {
  for (const char* name : {"--agent", "--agents", "--timeout", "--tls-ca", "--tls-cert",
                           "--tls-key", "--tls-server-name", "--token-file"}) {
    if (arg == name) return true;
  }
  return false;
}

absl::StatusOr<ChannelSecurity> ChannelSecurityFrom(const ParsedOptions& options,
                                                    const char* env_token) {
  ChannelSecurity out;
  out.tls_server_name = options.Get("tls-server-name");
  if (options.Has("tls-ca")) {
    const std::string path = options.Get("tls-ca");
    auto pem = ReadSmallFile(path, "--tls-ca", /*secret=*/false);
    if (!pem.ok()) return pem.status();
    auto ca = CheckCaBundle(*pem, absl::StrCat("--tls-ca ", path));
    if (!ca.ok()) return ca.status();
    out.tls_ca = *std::move(pem);
  }
  if (options.Has("tls-cert") != options.Has("tls-key")) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (options.Has("tls-cert")) {
    auto cert = ReadSmallFile(options.Get("tls-cert"), "--tls-cert", /*secret=*/false);
    if (!cert.ok()) return cert.status();
    auto key = ReadSmallFile(options.Get("tls-key"), "--tls-key", /*secret=*/true);
    if (!key.ok()) return key.status();
    auto facts =
        CheckCertificateAndKey(*cert, *key, "--tls-cert", "--tls-key", absl::Now());
    if (!facts.ok()) return facts.status();
    out.tls_cert = *std::move(cert);
    out.tls_key = *std::move(key);
  }
  if (options.Has("token-file")) {
    const std::string path = options.Get("token-file");
    out.token_source = absl::StrCat("--token-file ", path);
    auto text = ReadSmallFile(path, "--token-file", /*secret=*/true);
    if (!text.ok()) return text.status();
    // The first line that is neither blank nor a # comment.
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (line.empty() || absl::StartsWith(line, "#")) continue;
      out.token = std::string(line);
      break;
    }
  } else if (env_token != nullptr && *env_token != '\0') {
    out.token_source = "$NETPROBE_TOKEN";
    out.token = std::string(absl::StripAsciiWhitespace(env_token));
  }
  if (!out.token_source.empty()) {
    if (absl::Status st = CheckTokenText(out.token, out.token_source); !st.ok())
      return st;
  }
  return out;
}

bool IsLocalTarget(absl::string_view agent) {
  if (IsUnixTarget(agent)) return true;
  absl::string_view rest = agent;
  for (absl::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    if (absl::ConsumePrefix(&rest, scheme)) break;
  }
  if (absl::ConsumePrefix(&rest, "//")) {  // dns://authority/host:port
    const size_t slash = rest.find('/');
    rest = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);
  }
  std::string host;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return false;
    host = std::string(rest.substr(1, close - 1));
  } else {
    const size_t colon = rest.find(':');
    // One colon: HOST:PORT; more: a bare IPv6 address.
    host = std::string(colon != absl::string_view::npos && rest.rfind(':') == colon
                           ? rest.substr(0, colon)
                           : rest);
  }
  if (absl::AsciiStrToLower(host) == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) ||
           (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

absl::Status CheckChannelSecurity(const ChannelSecurity& security,
                                  absl::string_view agent) {
  if (!security.tls_cert.empty() && !security.tls()) {
    return absl::InvalidArgumentError(
        "--tls-cert needs --tls-ca: a client certificate is only sent over TLS");
  }
  if (!security.tls_server_name.empty() && !security.tls()) {
    return absl::InvalidArgumentError("--tls-server-name needs --tls-ca");
  }
  if (security.tls() && IsUnixTarget(agent)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-ca: ", agent,
        " is a unix socket, always plaintext (its file permissions say who may "
        "connect); TLS is for HOST:PORT agents"));
  }
  if (!security.token.empty() && !security.tls() && !IsLocalTarget(agent)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not sending the token (", security.token_source, ") in plaintext to ", agent,
        ": anyone on the way could read and reuse it; use --tls-ca FILE"));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> OpenAgentChannel(const std::string& agent,
                                                const ChannelSecurity& security,
                                                grpc::ChannelArguments args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca;
    ssl.pem_cert_chain = security.tls_cert;
    ssl.pem_private_key = security.tls_key;
    credentials = grpc::SslCredentials(ssl);
    if (!security.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(security.tls_server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  // Unix sockets take no token: the agent checks none there.
  if (!security.token.empty() && !IsUnixTarget(agent)) {
    interceptors.push_back(std::make_unique<BearerTokenFactory>(security.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(agent, credentials, args,
                                                                 std::move(interceptors));
}

AuthProblem ClassifyAuthProblem(const grpc::Status& status) {
  const std::string& message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return AuthProblem::kTokenRefused;
  }
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return AuthProblem::kNone;
  if (absl::StrContains(message, "wrong version number") ||
      absl::StrContains(message, "packet length too long")) {
    return AuthProblem::kAgentWithoutTls;
  }
  if (absl::StrContains(message, "Ssl handshake failed") ||
      absl::StrContains(message, "is not in peer certificate")) {
    return AuthProblem::kAgentNotTrusted;
  }
  // Connection refused, no route, ... say "failed to connect" too; only a
  // peer that accepted and then closed says "Socket closed" there.
  if (absl::StrContains(message, "failed to connect to all addresses") &&
      absl::StrContains(message, "Socket closed")) {
    return AuthProblem::kHandshakeRefused;
  }
  return AuthProblem::kNone;
}

}  // namespace netprobe::client
