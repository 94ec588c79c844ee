#ifndef NETPROBE_AGENT_METRICS_HTTP_ACCESS_H_
#define NETPROBE_AGENT_METRICS_HTTP_ACCESS_H_

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/metrics/web_config.h"
#include "agent/util/file_watcher.h"

namespace netprobe::metrics {

// Who may use the metrics endpoint and over what: the web config file
// (web_config.h: TLS, basic auth users, reply headers) and optional bearer
// tokens. As in exporter-toolkit, the files are looked at for every new
// connection, so a rotated certificate or a changed user list applies to the
// next connection without a restart; a file that no longer reads or parses
// leaves the last good configuration in force (logged once per change).
class HttpAccess {
 public:
  // A bearer token check (true: known); null for no bearer tokens.
  using BearerCheck = std::function<bool(absl::string_view token)>;

  // One configuration, fixed for a connection's life.
  struct Snapshot {
    std::shared_ptr<SSL_CTX> tls;  // null: plain HTTP
    WebConfig config;
    BearerCheck bearer;
    bool auth_required() const { return !config.basic_auth_users.empty() || bearer; }
  };

  // Reads and checks `web_config_file` (empty: no file) and builds its TLS
  // context. Errors name the file and field, or the certificate file and
  // OpenSSL's reason; the agent does not start with them.
  static absl::StatusOr<std::unique_ptr<HttpAccess>> Open(std::string web_config_file,
                                                          BearerCheck bearer);

  // The configuration for a new connection: re-read first when a file changed.
  std::shared_ptr<const Snapshot> ForConnection();

  // Whether `authorization` (the request's Authorization header, empty when
  // absent) is allowed by `snapshot`: anything when it requires no auth;
  // else "Basic" with a user and password of basic_auth_users, or "Bearer"
  // with a known token. Thread-safe; bcrypt runs only for credentials not
  // verified before (a cache of SHA-256 digests per user and hash), so a
  // scrape every few seconds costs one bcrypt per password change.
  bool Authorized(const Snapshot& snapshot, absl::string_view authorization);

 private:
  HttpAccess(std::string path, BearerCheck bearer)
      : path_(std::move(path)), bearer_(bearer) {}
  absl::StatusOr<std::shared_ptr<const Snapshot>> Load(
      std::vector<FileVersion>* versions);
  std::vector<FileVersion> VersionsOf(const Snapshot& snapshot) const;
  bool CheckPassword(const std::string& user, const std::string& hash,
                     absl::string_view password);

  const std::string path_;
  const BearerCheck bearer_;
  absl::Mutex mu_;
  std::shared_ptr<const Snapshot> current_ ABSL_GUARDED_BY(mu_);
  std::vector<FileVersion> versions_ ABSL_GUARDED_BY(mu_);  // of current_'s files
  std::vector<FileVersion> failed_ ABSL_GUARDED_BY(mu_);    // last bad read, logged
  // user -> SHA-256 of (hash, password) verified with bcrypt.
  std::map<std::string, std::array<uint8_t, 32>> verified_ ABSL_GUARDED_BY(mu_);
};

// `config`'s TLS as an OpenSSL server context: certificate chain and key
// (checked to match), client CA and verification as client_auth says,
// protocol versions. INVALID_ARGUMENT names the file and OpenSSL's reason.
absl::StatusOr<std::shared_ptr<SSL_CTX>> BuildTlsContext(const WebTlsConfig& config);

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_HTTP_ACCESS_H_
