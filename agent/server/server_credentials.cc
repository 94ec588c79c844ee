#include "agent/server/server_credentials.h"

#include <fcntl.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <unistd.h>

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"
#include "common/tls_files.h"

namespace netprobe {

absl::Status ApplyTransportConfig(const v1::AgentConfig& config,
                                  TransportOptions* transport, ServerLimits* limits) {
  transport->tls_cert = config.tls_cert();
  transport->tls_key = config.tls_key();
  transport->client_ca = config.client_ca();
  transport->token_file = config.token_file();
  NETPROBE_ASSIGN_OR_RETURN(*limits, ServerLimitsFromConfig(config.server_limits()));
  return absl::OkStatus();
}

void ApplyTransportFlags(const ParsedOptions& flags, TransportOptions* transport) {
  if (flags.Has("tls-cert")) transport->tls_cert = flags.Get("tls-cert");
  if (flags.Has("tls-key")) transport->tls_key = flags.Get("tls-key");
  if (flags.Has("client-ca")) transport->client_ca = flags.Get("client-ca");
  if (flags.Has("token-file")) transport->token_file = flags.Get("token-file");
}

absl::StatusOr<ListenerCredentials> ListenerCredentials::Load(
    const TransportOptions& options, const std::vector<ListenAddress>& addresses,
    absl::Time now) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.client_ca.empty() && !options.tls()) {
    return absl::InvalidArgumentError("--client-ca needs --tls-cert and --tls-key");
  }
  const bool tokens = !options.token_file.empty();
  const ListenAddress* tcp = nullptr;
  const ListenAddress* remote_plaintext = nullptr;
  for (const ListenAddress& address : addresses) {
    if (address.kind != ListenAddress::Kind::kTcp) continue;
    if (tcp == nullptr) tcp = &address;
    if (!address.loopback && !options.tls() && remote_plaintext == nullptr) {
      remote_plaintext = &address;
    }
  }
  if ((options.tls() || tokens) && tcp == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.tls() ? "--tls-cert" : "--token-file",
        ": there is no TCP listener to secure (unix sockets rely on their file "
        "permissions)"));
  }
  if (tokens && remote_plaintext != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token-file: tokens would cross the network in plaintext on ",
                     remote_plaintext->ToGrpcUri(), "; add --tls-cert and --tls-key"));
  }

  ListenerCredentials out;
  out.options_ = options;
  out.summary_ = "TCP listeners: ";
  if (options.tls()) {
    NETPROBE_ASSIGN_OR_RETURN(
        std::string cert,
        ReadSmallFile(options.tls_cert, "--tls-cert", /*secret=*/false));
    NETPROBE_ASSIGN_OR_RETURN(
        std::string key, ReadSmallFile(options.tls_key, "--tls-key", /*secret=*/true));
    NETPROBE_ASSIGN_OR_RETURN(
        CertificateFacts facts,
        CheckCertificateAndKey(cert, key, "--tls-cert", "--tls-key", now));
    absl::StrAppend(&out.summary_, "TLS as ", facts.subject, " (valid until ",
                    absl::FormatTime("%Y-%m-%d", facts.not_after, absl::UTCTimeZone()),
                    ")");
    grpc::SslServerCredentialsOptions ssl(
        options.client_ca.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
    if (!options.client_ca.empty()) {
      NETPROBE_ASSIGN_OR_RETURN(
          ssl.pem_root_certs,
          ReadSmallFile(options.client_ca, "--client-ca", /*secret=*/false));
      NETPROBE_ASSIGN_OR_RETURN(std::string ca,
                                CheckCaBundle(ssl.pem_root_certs, "--client-ca"));
      absl::StrAppend(&out.summary_, ", client certificates required (CA ", ca, ")");
    }
    out.ssl_ = std::move(ssl);
  } else {
    absl::StrAppend(&out.summary_, "plaintext");
  }
  if (tokens) {
    NETPROBE_ASSIGN_OR_RETURN(out.tokens_, TokenStore::Open(options.token_file));
    const size_t count = out.tokens_->current()->size();
    absl::StrAppend(&out.summary_, ", bearer tokens (", count,
                    count == 1 ? " token" : " tokens", " from ", options.token_file, ")");
    out.processor_ = std::make_shared<TokenAuthProcessor>(out.tokens_);
  }
  return out;
}

namespace {

// The first of `paths` (non-empty ones) this process cannot open for
// reading, or "".
std::string FirstUnreadable(std::initializer_list<const std::string*> paths) {
  for (const std::string* path : paths) {
    if (path->empty()) continue;
    const int fd = open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return *path;
    close(fd);
  }
  return "";
}

}  // namespace

void ListenerCredentials::Build() {
  if (options_.tls()) {
    const std::string unreadable =
        FirstUnreadable({&options_.tls_cert, &options_.tls_key, &options_.client_ca});
    if (unreadable.empty()) {
      auto provider =
          std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
              options_.tls_key, options_.tls_cert, options_.client_ca,
              static_cast<unsigned>(absl::ToInt64Seconds(kCertificateRefresh)));
      grpc::experimental::TlsServerCredentialsOptions tls(provider);
      tls.watch_identity_key_cert_pairs();
      if (!options_.client_ca.empty()) tls.watch_root_certs();
      tls.set_cert_request_type(
          options_.client_ca.empty()
              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      tls_ = grpc::experimental::TlsServerCredentials(tls);
      rotates_ = true;
      absl::StrAppend(&summary_, "; certificate files re-read every ",
                      absl::FormatDuration(kCertificateRefresh),
                      " (rotation without restart)");
    } else {
      tls_ = grpc::SslServerCredentials(ssl_);
      absl::StrAppend(
          &summary_, "; certificate rotation off: ", unreadable,
          " is not readable by uid ", geteuid(),
          " (the agent's user after dropping root); a restart loads new files");
    }
    ssl_ = grpc::SslServerCredentialsOptions();  // the key: gRPC holds it now
  }
  if (processor_ == nullptr) return;
  if (tls_ != nullptr) {
    tls_->SetAuthMetadataProcessor(processor_);
  } else {
    // Insecure credentials abort on SetAuthMetadataProcessor (gRPC 1.51
    // asserts); local ones take it and send nothing on the wire, so a
    // plaintext client connects as before. They accept peers from
    // 127.0.0.1 and ::1 only.
    local_tcp_ = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
    local_tcp_->SetAuthMetadataProcessor(processor_);
  }
}

std::shared_ptr<grpc::ServerCredentials> ListenerCredentials::For(
    const ListenAddress& address) const {
  if (address.kind == ListenAddress::Kind::kTcp) {
    if (tls_ != nullptr) return tls_;
    // Load() allowed tokens without TLS only when every TCP listener is
    // loopback.
    if (local_tcp_ != nullptr) return local_tcp_;
  }
  return grpc::InsecureServerCredentials();
}

v1::TransportSecurity ListenerCredentials::Describe() const {
  v1::TransportSecurity out;
  out.set_tls(options_.tls());
  out.set_client_certificates(!options_.client_ca.empty());
  out.set_tokens(tokens_ != nullptr);
  return out;
}

}  // namespace netprobe
