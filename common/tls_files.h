#ifndef NETPROBE_COMMON_TLS_FILES_H_
#define NETPROBE_COMMON_TLS_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace netprobe {

// Certificates, keys and token files, read and checked when the agent or the
// client starts: gRPC itself reports a key that does not match its
// certificate, or an expired certificate, only per connection, as a failed
// handshake. Shared by the agent and the CLI.

// Reads a regular file of at most 1 MiB. `label` names it in errors
// ("--tls-key"). `secret`: the file holds a private key or tokens, and is
// refused when every user of the host may read or write it (o+r or o+w), as
// ssh refuses such keys: its secret is already out.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          absl::string_view label, bool secret);

struct CertificateFacts {
  std::string subject;  // RFC 2253, e.g. "CN=agent1,O=example"
  absl::Time not_after;
};

// A PEM certificate chain (leaf first) and the leaf's PEM private key: both
// parse, the key belongs to the certificate, and the leaf is valid at `now`.
// INVALID_ARGUMENT names the file by its label. An encrypted key is refused
// (gRPC takes unencrypted keys only; no passphrase prompt).
absl::StatusOr<CertificateFacts> CheckCertificateAndKey(absl::string_view cert_pem,
                                                        absl::string_view key_pem,
                                                        absl::string_view cert_label,
                                                        absl::string_view key_label,
                                                        absl::Time now);

// A PEM bundle of CA certificates: at least one, every one parses. Returns
// the subject of the first.
absl::StatusOr<std::string> CheckCaBundle(absl::string_view pem, absl::string_view label);

}  // namespace netprobe

#endif  // NETPROBE_COMMON_TLS_FILES_H_
