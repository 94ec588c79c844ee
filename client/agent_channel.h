#ifndef NETPROBE_CLIENT_AGENT_CHANNEL_H_
#define NETPROBE_CLIENT_AGENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/option_parser.h"

namespace netprobe::client {

// How the CLI reaches a TCP agent: plaintext, TLS verifying the agent's
// certificate against --tls-ca, mutual TLS with --tls-cert/--tls-key, and a
// bearer token. Unix sockets are always plaintext and take no token.
struct ChannelSecurity {
  std::string tls_ca;           // PEM bundle; set: TLS
  std::string tls_cert;         // PEM chain, with tls_key: client certificate
  std::string tls_key;          // PEM, unencrypted
  std::string tls_server_name;  // checked in the agent's certificate
  std::string token;            // sent as "authorization: Bearer <token>"
  std::string token_source;     // "--token-file FILE" or "$NETPROBE_TOKEN"
  bool tls() const { return !tls_ca.empty(); }
};

// --tls-ca, --tls-cert, --tls-key, --tls-server-name, --token-file.
std::vector<OptionSpec> ChannelOptionSpecs();

// The global options that take a value (for finding the command word).
bool GlobalOptionTakesValue(absl::string_view arg);

// Reads the files the options name (contents, not paths, in the result) and
// takes the token from --token-file, else from `env_token`
// ($NETPROBE_TOKEN). INVALID_ARGUMENT says what is wrong with which option.
absl::StatusOr<ChannelSecurity> ChannelSecurityFrom(const ParsedOptions& options,
                                                    const char* env_token);

// Whether `agent` is reached without the network: a unix socket, or a
// loopback address (127.0.0.0/8, ::1, localhost).
bool IsLocalTarget(absl::string_view agent);

// The combination makes sense for `agent`: a client certificate needs --tls-ca
// and both of its files; TLS is for TCP agents; a token is not sent in
// plaintext over the network (to a non-loopback TCP agent without --tls-ca),
// where anyone on the path could read and reuse it.
absl::Status CheckChannelSecurity(const ChannelSecurity& security,
                                  absl::string_view agent);

// A channel to `agent` with `security` (checked by CheckChannelSecurity) and
// `args`.
std::shared_ptr<grpc::Channel> OpenAgentChannel(const std::string& agent,
                                                const ChannelSecurity& security,
                                                grpc::ChannelArguments args);

// What a failed call says about authentication. gRPC reports TLS failures
// as UNAVAILABLE with OpenSSL's words in the message; these are its 1.51
// texts.
enum class AuthProblem {
  kNone,
  kTokenRefused,      // UNAUTHENTICATED from the agent's token check
  kAgentNotTrusted,   // our TLS refused the agent's certificate or its name
  kAgentWithoutTls,   // TLS to an agent that answered in plaintext
  kHandshakeRefused,  // the agent closed the connection during the handshake:
                      // our client certificate (or its absence), or our
                      // plaintext to a TLS agent
};
AuthProblem ClassifyAuthProblem(const grpc::Status& status);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_AGENT_CHANNEL_H_
