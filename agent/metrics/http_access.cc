#include "agent/metrics/http_access.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/util/log.h"
#include "common/posix_error.h"

namespace netprobe::metrics {
namespace {

// OpenSSL's queued errors as one line (and the queue cleared).
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    absl::StrAppend(&out, out.empty() ? "" : "; ", text);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::Status TlsError(absl::string_view field, const std::string& file) {
  return absl::InvalidArgumentError(
      absl::StrCat("--metrics-web-config: tls_server_config.", field, " ", file, ": ",
                   OpenSslErrors()));
}

// Accepts any client certificate: RequestClientCert and RequireAnyClientCert
// ask for one without verifying it (as Go's crypto/tls does).
int AcceptAny(int, X509_STORE_CTX*) { return 1; }

std::array<uint8_t, 32> Digest(absl::string_view a, absl::string_view b) {
  const std::string both = absl::StrCat(a, absl::string_view("\0", 1), b);
  std::array<uint8_t, 32> out{};
  unsigned int size = 0;
  EVP_Digest(both.data(), both.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

// The credentials of "SCHEME CREDENTIALS", scheme compared in any case.
bool Credentials(absl::string_view header, absl::string_view scheme,
                 absl::string_view* out) {
  if (header.size() <= scheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, scheme.size()), scheme) ||
      header[scheme.size()] != ' ') {
    return false;
  }
  *out = absl::StripLeadingAsciiWhitespace(header.substr(scheme.size() + 1));
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<SSL_CTX>> BuildTlsContext(const WebTlsConfig& config) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), config.min_version);
  if (config.max_version != 0)
    SSL_CTX_set_max_proto_version(ctx.get(), config.max_version);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.cert_file.c_str()) != 1) {
    return TlsError("cert_file", config.cert_file);
  }
  // OpenSSL checks here that the key is the certificate's.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.key_file.c_str(), SSL_FILETYPE_PEM) !=
          1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return TlsError("key_file", absl::StrCat(config.key_file, " (the key of cert_file ",
                                             config.cert_file, ")"));
  }
  switch (config.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAny);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAny);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         nullptr);
      break;
  }
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), config.client_ca_file.c_str(),
                                      nullptr) != 1) {
      return TlsError("client_ca_file", config.client_ca_file);
    }
    // The CAs named in the CertificateRequest, so clients pick the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) return TlsError("client_ca_file", config.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx.get(), names);
  }
  // Sessions are not resumed: each connection is checked against the files
  // of its time (and no ticket key needs rotating).
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  return ctx;
}

absl::StatusOr<std::unique_ptr<HttpAccess>> HttpAccess::Open(std::string web_config_file,
                                                             BearerCheck bearer) {
  std::unique_ptr<HttpAccess> access(new HttpAccess(std::move(web_config_file), bearer));
  std::vector<FileVersion> versions;
  NETPROBE_ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> first,
                            access->Load(&versions));
  absl::MutexLock lock(&access->mu_);
  access->current_ = std::move(first);
  access->versions_ = std::move(versions);
  return access;
}

absl::StatusOr<std::shared_ptr<const HttpAccess::Snapshot>> HttpAccess::Load(
    std::vector<FileVersion>* versions) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->bearer = bearer_;
  if (path_.empty()) return snapshot;
  versions->clear();
  versions->push_back(FileVersion::Of(path_));
  NETPROBE_ASSIGN_OR_RETURN(snapshot->config, ReadWebConfig(path_));
  for (const std::string& file : FilesOf(snapshot->config)) {
    versions->push_back(FileVersion::Of(file));
  }
  if (snapshot->config.tls) {
    NETPROBE_ASSIGN_OR_RETURN(snapshot->tls, BuildTlsContext(*snapshot->config.tls));
  }
  return snapshot;
}

std::vector<FileVersion> HttpAccess::VersionsOf(const Snapshot& snapshot) const {
  std::vector<FileVersion> versions;
  if (path_.empty()) return versions;
  versions.push_back(FileVersion::Of(path_));
  for (const std::string& file : FilesOf(snapshot.config)) {
    versions.push_back(FileVersion::Of(file));
  }
  return versions;
}

std::shared_ptr<const HttpAccess::Snapshot> HttpAccess::ForConnection() {
  absl::MutexLock lock(&mu_);
  if (path_.empty()) return current_;
  const std::vector<FileVersion> now = VersionsOf(*current_);
  if (now == versions_ || now == failed_) return current_;
  std::vector<FileVersion> loaded;
  absl::StatusOr<std::shared_ptr<const Snapshot>> next = Load(&loaded);
  if (!next.ok()) {
    failed_ = now;
    LogLine(absl::StrCat("metrics: ", path_, " not reloaded: ", next.status().message(),
                         "; the previous web configuration stays in force"));
    return current_;
  }
  current_ = *std::move(next);
  versions_ = std::move(loaded);
  failed_.clear();
  verified_.clear();
  LogLine(absl::StrCat("metrics: ", path_, " reloaded (",
                       current_->tls ? "TLS" : "plain HTTP", ", ",
                       current_->config.basic_auth_users.size(), " basic auth users)"));
  return current_;
}

bool HttpAccess::CheckPassword(const std::string& user, const std::string& hash,
                               absl::string_view password) {
  const std::array<uint8_t, 32> digest = Digest(hash, password);
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(user);
    if (it != verified_.end() &&
        CRYPTO_memcmp(it->second.data(), digest.data(), 32) == 0) {
      return true;
    }
  }
  // crypt_rn needs a NUL-terminated password; one with a NUL never matches.
  if (password.find('\0') != absl::string_view::npos) return false;
  const std::string key(password);
  auto data = std::make_unique<crypt_data>();
  memset(data.get(), 0, sizeof(*data));
  const char* out = crypt_rn(key.c_str(), hash.c_str(), data.get(), sizeof(*data));
  const bool ok = out != nullptr && strlen(out) == hash.size() &&
                  CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  if (ok) {
    absl::MutexLock lock(&mu_);
    verified_[user] = digest;
  }
  return ok;
}

bool HttpAccess::Authorized(const Snapshot& snapshot, absl::string_view authorization) {
  if (!snapshot.auth_required()) return true;
  absl::string_view credentials;
  if (snapshot.bearer && Credentials(authorization, "Bearer", &credentials)) {
    return snapshot.bearer(credentials);
  }
  const auto& users = snapshot.config.basic_auth_users;
  if (users.empty() || !Credentials(authorization, "Basic", &credentials)) return false;
  std::string decoded;
  if (!absl::Base64Unescape(credentials, &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon);
  auto it = users.find(user);
  // An unknown user costs one bcrypt too, so timing does not tell users apart.
  const std::string& hash = it != users.end() ? it->second : users.begin()->second;
  const bool password_ok = CheckPassword(it != users.end() ? user : std::string(), hash,
                                         absl::string_view(decoded).substr(colon + 1));
  return it != users.end() && password_ok;
}

}  // namespace netprobe::metrics
