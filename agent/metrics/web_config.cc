#include "agent/metrics/web_config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe::metrics {
namespace {

// Every error of one file: "PATH: FIELD: WHAT".
class Context {
 public:
  explicit Context(absl::string_view path) : path_(path) {}
  absl::Status Error(absl::string_view field, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", field, ": ", what));
  }
  std::string Resolve(const std::string& file) const {
    if (file.empty() || file[0] == '/') return file;
    const size_t slash = path_.rfind('/');
    if (slash == std::string::npos) return file;
    return absl::StrCat(path_.substr(0, slash + 1), file);
  }

 private:
  std::string path_;
};

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return "";
  return absl::StrCat(" (line ", mark.line + 1, ")");
}

// Not given, or given empty ("key:" alone).
bool Absent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

absl::StatusOr<std::string> Scalar(const Context& ctx, const YAML::Node& node,
                                   absl::string_view field) {
  if (Absent(node)) return std::string();
  if (!node.IsScalar())
    return ctx.Error(field, absl::StrCat("must be a string", Where(node)));
  return node.Scalar();
}

// The keys of a mapping, each checked against `known`.
absl::Status CheckKeys(const Context& ctx, const YAML::Node& map, absl::string_view field,
                       const std::vector<absl::string_view>& known,
                       const std::vector<absl::string_view>& unsupported = {}) {
  if (!map.IsMap())
    return ctx.Error(field, absl::StrCat("must be a mapping", Where(map)));
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    const std::string name = field.empty() ? key : absl::StrCat(field, ".", key);
    bool ok = false;
    for (absl::string_view k : known) ok |= (k == key);
    if (ok) continue;
    for (absl::string_view k : unsupported) {
      if (k == key) {
        return ctx.Error(name, absl::StrCat("not supported by this agent (OpenSSL's "
                                            "defaults apply); remove it",
                                            Where(entry.first)));
      }
    }
    return ctx.Error(name, absl::StrCat("unknown field; known: ",
                                        absl::StrJoin(known, ", "), Where(entry.first)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> TlsVersion(const Context& ctx, const YAML::Node& node,
                               absl::string_view field) {
  NETPROBE_ASSIGN_OR_RETURN(std::string text, Scalar(ctx, node, field));
  static constexpr std::pair<absl::string_view, int> kVersions[] = {
      {"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
  for (const auto& [name, value] : kVersions) {
    if (text == name) return value;
  }
  return ctx.Error(field,
                   absl::StrCat("'", text, "' is not one of TLS10, TLS11, TLS12, TLS13"));
}

absl::StatusOr<ClientAuth> ClientAuthType(const Context& ctx, const YAML::Node& node) {
  NETPROBE_ASSIGN_OR_RETURN(std::string text,
                            Scalar(ctx, node, "tls_server_config.client_auth_type"));
  static constexpr std::pair<absl::string_view, ClientAuth> kTypes[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  if (text.empty()) return ClientAuth::kNoClientCert;
  for (const auto& [name, value] : kTypes) {
    if (text == name) return value;
  }
  return ctx.Error("tls_server_config.client_auth_type",
                   absl::StrCat("'", text,
                                "' is not one of NoClientCert, RequestClientCert, "
                                "RequireAnyClientCert, VerifyClientCertIfGiven, "
                                "RequireAndVerifyClientCert"));
}

absl::StatusOr<std::optional<WebTlsConfig>> ParseTls(const Context& ctx,
                                                     const YAML::Node& node) {
  if (Absent(node)) return std::nullopt;
  NETPROBE_RETURN_IF_ERROR(
      CheckKeys(ctx, node, "tls_server_config",
                {"cert_file", "key_file", "client_auth_type", "client_ca_file",
                 "min_version", "max_version"},
                {"cert", "key", "client_ca", "cipher_suites", "curve_preferences",
                 "prefer_server_cipher_suites", "client_allowed_sans"}));
  WebTlsConfig tls;
  NETPROBE_ASSIGN_OR_RETURN(
      tls.cert_file, Scalar(ctx, node["cert_file"], "tls_server_config.cert_file"));
  NETPROBE_ASSIGN_OR_RETURN(tls.key_file,
                            Scalar(ctx, node["key_file"], "tls_server_config.key_file"));
  NETPROBE_ASSIGN_OR_RETURN(
      tls.client_ca_file,
      Scalar(ctx, node["client_ca_file"], "tls_server_config.client_ca_file"));
  if (!Absent(node["client_auth_type"])) {
    NETPROBE_ASSIGN_OR_RETURN(tls.client_auth,
                              ClientAuthType(ctx, node["client_auth_type"]));
  }
  if (!Absent(node["min_version"])) {
    NETPROBE_ASSIGN_OR_RETURN(
        tls.min_version,
        TlsVersion(ctx, node["min_version"], "tls_server_config.min_version"));
  }
  if (!Absent(node["max_version"])) {
    NETPROBE_ASSIGN_OR_RETURN(
        tls.max_version,
        TlsVersion(ctx, node["max_version"], "tls_server_config.max_version"));
  }
  if (tls.cert_file.empty() && tls.key_file.empty() && tls.client_ca_file.empty()) {
    return std::nullopt;  // as the toolkit: no certificate, no TLS
  }
  if (tls.cert_file.empty()) return ctx.Error("tls_server_config.cert_file", "missing");
  if (tls.key_file.empty()) return ctx.Error("tls_server_config.key_file", "missing");
  if (tls.max_version != 0 && tls.max_version < tls.min_version) {
    return ctx.Error("tls_server_config.max_version", "is below min_version");
  }
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && tls.client_ca_file.empty()) {
    return ctx.Error("tls_server_config.client_ca_file",
                     "missing: client_auth_type verifies client certificates against it");
  }
  if (!verifies && !tls.client_ca_file.empty()) {
    return ctx.Error("tls_server_config.client_ca_file",
                     "given, but client_auth_type does not verify client certificates "
                     "(use VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  }
  tls.cert_file = ctx.Resolve(tls.cert_file);
  tls.key_file = ctx.Resolve(tls.key_file);
  tls.client_ca_file = ctx.Resolve(tls.client_ca_file);
  return tls;
}

// An HTTP header name: a token (RFC 9110 section 5.6.2).
bool IsToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    if (absl::string_view("!#$%&'*+-.^_`|~").find(c) == absl::string_view::npos)
      return false;
  }
  return true;
}

absl::Status ParseHttp(const Context& ctx, const YAML::Node& node, WebConfig* config) {
  if (Absent(node)) return absl::OkStatus();
  NETPROBE_RETURN_IF_ERROR(
      CheckKeys(ctx, node, "http_server_config", {"http2", "headers"}));
  if (const YAML::Node http2 = node["http2"]; !Absent(http2)) {
    NETPROBE_ASSIGN_OR_RETURN(std::string text,
                              Scalar(ctx, http2, "http_server_config.http2"));
    if (text != "true" && text != "false") {
      return ctx.Error("http_server_config.http2", "must be true or false");
    }
    // HTTP/1.1 only here; Prometheus scrapes over HTTP/1.1 either way.
  }
  const YAML::Node headers = node["headers"];
  if (Absent(headers)) return absl::OkStatus();
  if (!headers.IsMap())
    return ctx.Error("http_server_config.headers", "must be a mapping");
  static constexpr absl::string_view kOurs[] = {
      "content-type",      "content-length", "connection",  "www-authenticate",
      "transfer-encoding", "allow",          "retry-after", "keep-alive"};
  for (const auto& entry : headers) {
    const std::string name = entry.first.Scalar();
    const std::string field = absl::StrCat("http_server_config.headers.", name);
    if (!IsToken(name)) return ctx.Error(field, "is not a valid header name");
    for (absl::string_view ours : kOurs) {
      if (absl::EqualsIgnoreCase(name, ours)) {
        return ctx.Error(field, "is set by the agent itself and cannot be configured");
      }
    }
    NETPROBE_ASSIGN_OR_RETURN(std::string value, Scalar(ctx, entry.second, field));
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return ctx.Error(field, "contains a line break or NUL");
      }
    }
    config->headers[name] = value;
  }
  return absl::OkStatus();
}

absl::Status ParseUsers(const Context& ctx, const YAML::Node& node, WebConfig* config) {
  if (Absent(node)) return absl::OkStatus();
  if (!node.IsMap())
    return ctx.Error("basic_auth_users", "must be a mapping of user: bcrypt hash");
  for (const auto& entry : node) {
    const std::string user = entry.first.Scalar();
    const std::string field = absl::StrCat("basic_auth_users.", user);
    if (user.empty() || absl::StrContains(user, ':')) {
      return ctx.Error(field, "a user name is not empty and has no ':'");
    }
    NETPROBE_ASSIGN_OR_RETURN(std::string hash, Scalar(ctx, entry.second, field));
    // bcrypt: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt
    // and hash; never printed (it is a secret too).
    const bool bcrypt =
        hash.size() == 60 &&
        (absl::StartsWith(hash, "$2a$") || absl::StartsWith(hash, "$2b$") ||
         absl::StartsWith(hash, "$2y$")) &&
        absl::ascii_isdigit(hash[4]) && absl::ascii_isdigit(hash[5]) && hash[6] == '$';
    if (!bcrypt) {
      return ctx.Error(field,
                       "is not a bcrypt hash ($2y$10$ and 53 more characters; make one "
                       "with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)");
    }
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 16) {
      return ctx.Error(field, absl::StrCat("bcrypt cost ", cost,
                                           " is outside 4..16 (each check would take too "
                                           "long above 16)"));
    }
    config->basic_auth_users[user] = hash;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WebConfig> ParseWebConfig(absl::string_view yaml, absl::string_view path) {
  const Context ctx(path);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not valid YAML: line ", e.mark.line + 1, ": ", e.msg));
  }
  WebConfig config;
  if (Absent(root)) return config;
  try {
    NETPROBE_RETURN_IF_ERROR(CheckKeys(
        ctx, root, "", {"tls_server_config", "http_server_config", "basic_auth_users"},
        {"rate_limit"}));
    NETPROBE_ASSIGN_OR_RETURN(config.tls, ParseTls(ctx, root["tls_server_config"]));
    NETPROBE_RETURN_IF_ERROR(ParseHttp(ctx, root["http_server_config"], &config));
    NETPROBE_RETURN_IF_ERROR(ParseUsers(ctx, root["basic_auth_users"], &config));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  return config;
}

absl::StatusOr<WebConfig> ReadWebConfig(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return PosixError(absl::StrCat("--metrics-web-config ", path), errno);
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(absl::StrCat("--metrics-web-config ", path), errno);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > (1 << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--metrics-web-config ", path, ": larger than 1 MiB"));
    }
  }
  return ParseWebConfig(text, path);
}

std::vector<std::string> FilesOf(const WebConfig& config) {
  std::vector<std::string> files;
  if (config.tls) {
    files.push_back(config.tls->cert_file);
    files.push_back(config.tls->key_file);
    if (!config.tls->client_ca_file.empty()) files.push_back(config.tls->client_ca_file);
  }
  return files;
}

}  // namespace netprobe::metrics
