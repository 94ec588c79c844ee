#ifndef NETPROBE_AGENT_SERVER_SERVER_CREDENTIALS_H_
#define NETPROBE_AGENT_SERVER_SERVER_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/server/listen_address.h"
#include "agent/server/server_limits.h"
#include "agent/server/token_auth.h"
#include "common/option_parser.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// How TCP listeners are secured. Unix sockets are always plaintext without
// tokens: their file permissions (owner, --unix-socket-group, mode) decide
// who may connect, and the local CLI keeps working without credentials.
struct TransportOptions {
  // TLS on every TCP listener, loopback ones included: both or neither.
  std::string tls_cert;
  std::string tls_key;
  // Mutual TLS: client certificates are required and verified against this
  // CA bundle. Needs tls_cert.
  std::string client_ca;
  // Bearer tokens on every call over TCP (token_auth.h). Needs TLS unless
  // every TCP listener is loopback: a token must not cross the network in
  // plaintext.
  std::string token_file;

  bool tls() const { return !tls_cert.empty(); }
  // What CheckListenerSecurity asks of these options.
  ListenerSecurity Security() const {
    return {.tls = tls(),
            .identifies_callers = (tls() && !client_ca.empty()) || !token_file.empty()};
  }
};

// AgentConfig's tls_cert, tls_key, client_ca, token_file and server_limits
// into `transport` and `limits`; INVALID_ARGUMENT for a limit out of range.
absl::Status ApplyTransportConfig(const v1::AgentConfig& config,
                                  TransportOptions* transport, ServerLimits* limits);
// The flags --tls-cert, --tls-key, --client-ca, --token-file, over what the
// config set.
void ApplyTransportFlags(const ParsedOptions& flags, TransportOptions* transport);

// The gRPC credentials of each listener, built once at start. The files are
// read here, before the agent drops root (they may be readable by root
// alone); the key stays in memory for gRPC, which builds its TLS context
// from it.
class ListenerCredentials {
 public:
  // Checks the combination of options against the listen addresses, reads
  // and checks the files (the key is the certificate's, the certificate is
  // valid at `now`, the token file parses). INVALID_ARGUMENT says what to fix.
  static absl::StatusOr<ListenerCredentials> Load(
      const TransportOptions& options, const std::vector<ListenAddress>& addresses,
      absl::Time now);

  // Creates the gRPC credentials. Creating them starts gRPC's threads
  // (grpc_init), so call it after the privilege drop, which needs the
  // process to have a single thread. With TLS, when the agent's user (after
  // the drop) can read the certificate, key and client CA files, gRPC's
  // FileWatcherCertificateProvider re-reads them every
  // kCertificateRefresh and new handshakes use what it found (rotation
  // without restart; open connections keep theirs); otherwise the
  // credentials hold what Load() read, and summary() says rotation is off
  // and why.
  void Build();

  static constexpr absl::Duration kCertificateRefresh = absl::Seconds(5);
  // Whether gRPC follows changes of the certificate files (after Build()).
  bool rotates() const { return rotates_; }
  // The certificate, key and client CA files ("" when unused).
  const TransportOptions& options() const { return options_; }

  // REQUIRES: Build(). Unix: plaintext. TCP: TLS (with client certificates and/or the
  // token processor as configured); without TLS, on loopback with tokens, gRPC's local
  // credentials (no handshake on the wire; they accept loopback peers only, and unlike
  // the insecure ones they take a metadata processor); else plaintext.
  std::shared_ptr<grpc::ServerCredentials> For(const ListenAddress& address) const;

  // The token file, for reloading; nullptr without one.
  const std::shared_ptr<TokenStore>& tokens() const { return tokens_; }
  v1::TransportSecurity Describe() const;
  // One line for the log: "TCP listeners: TLS as CN=agent1 (until ...), ...".
  const std::string& summary() const { return summary_; }

 private:
  TransportOptions options_;
  grpc::SslServerCredentialsOptions ssl_;                   // from Load() until Build()
  std::shared_ptr<grpc::AuthMetadataProcessor> processor_;  // with tokens
  std::shared_ptr<grpc::ServerCredentials> tls_;            // null without TLS
  std::shared_ptr<grpc::ServerCredentials> local_tcp_;      // null unless tokens w/o TLS
  std::shared_ptr<TokenStore> tokens_;
  std::string summary_;
  bool rotates_ = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_SERVER_CREDENTIALS_H_
