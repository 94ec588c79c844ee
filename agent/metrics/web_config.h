#ifndef NETPROBE_AGENT_METRICS_WEB_CONFIG_H_
#define NETPROBE_AGENT_METRICS_WEB_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe::metrics {

// The web configuration file Prometheus exporters share (exporter-toolkit's
// docs/web-configuration.md), for the metrics endpoint:
//
//   tls_server_config:
//     cert_file: server.crt          # PEM chain, leaf first
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12             # TLS10..TLS13; default TLS12
//     max_version: TLS13
//   http_server_config:
//     headers: {X-Content-Type-Options: nosniff}
//   basic_auth_users:
//     prometheus: $2y$10$...         # bcrypt (htpasswd -nBC 10 "")
//
// Relative paths are relative to the file's directory. Fields the toolkit
// has and this agent does not implement (cipher_suites, curve_preferences,
// client_allowed_sans, http2: false, ...) are errors that say so, never
// silently ignored.

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct WebTlsConfig {
  std::string cert_file;  // absolute after parsing
  std::string key_file;
  std::string client_ca_file;  // empty: none
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  int min_version = 0x0303;  // TLS 1.2, as in the toolkit
  int max_version = 0;       // 0: the newest OpenSSL has
};

struct WebConfig {
  std::optional<WebTlsConfig> tls;
  std::map<std::string, std::string> headers;           // added to every reply
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Parses `yaml`, the content of the file at `path` (for relative paths and
// messages). INVALID_ARGUMENT names the file, the field and what is wrong
// (e.g. "web.yml: tls_server_config.min_version: 'TLS14' is not one of TLS10,
// TLS11, TLS12, TLS13"). An empty file is an empty config (plain HTTP, no
// auth), as in the toolkit.
absl::StatusOr<WebConfig> ParseWebConfig(absl::string_view yaml, absl::string_view path);

// The file, read and parsed.
absl::StatusOr<WebConfig> ReadWebConfig(const std::string& path);

// The files the config names (certificate, key, CA), for change detection.
std::vector<std::string> FilesOf(const WebConfig& config);

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_WEB_CONFIG_H_
