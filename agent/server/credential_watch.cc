#include "agent/server/credential_watch.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/util/log.h"
#include "common/tls_files.h"

namespace netprobe {
namespace {

// What new handshakes will present, checked as at start.
absl::StatusOr<std::string> DescribeCertificate(const TransportOptions& options) {
  NETPROBE_ASSIGN_OR_RETURN(
      std::string cert, ReadSmallFile(options.tls_cert, "--tls-cert", /*secret=*/false));
  NETPROBE_ASSIGN_OR_RETURN(std::string key,
                            ReadSmallFile(options.tls_key, "--tls-key", /*secret=*/true));
  NETPROBE_ASSIGN_OR_RETURN(
      CertificateFacts facts,
      CheckCertificateAndKey(cert, key, "--tls-cert", "--tls-key", absl::Now()));
  std::string text = absl::StrCat(
      facts.subject, " (valid until ",
      absl::FormatTime("%Y-%m-%d %H:%M:%SZ", facts.not_after, absl::UTCTimeZone()), ")");
  if (!options.client_ca.empty()) {
    NETPROBE_ASSIGN_OR_RETURN(std::string ca_pem,
                              ReadSmallFile(options.client_ca, "--client-ca",
                                            /*secret=*/false));
    NETPROBE_ASSIGN_OR_RETURN(std::string ca, CheckCaBundle(ca_pem, "--client-ca"));
    absl::StrAppend(&text, ", client CA ", ca);
  }
  return text;
}

}  // namespace

std::vector<std::unique_ptr<FileWatcher>> WatchCredentialFiles(
    const ListenerCredentials& credentials) {
  std::vector<std::unique_ptr<FileWatcher>> watchers;
  const absl::Duration every = ListenerCredentials::kCertificateRefresh;
  if (std::shared_ptr<TokenStore> tokens = credentials.tokens()) {
    watchers.push_back(std::make_unique<FileWatcher>(
        std::vector<std::string>{tokens->path()}, every, [tokens] {
          if (absl::Status reloaded = tokens->Reload(); !reloaded.ok()) {
            LogLine(
                absl::StrCat("netprobe-agent: token file changed: ", reloaded.message()));
          }
        }));
  }
  if (credentials.rotates()) {
    const TransportOptions options = credentials.options();
    std::vector<std::string> paths = {options.tls_cert, options.tls_key};
    if (!options.client_ca.empty()) paths.push_back(options.client_ca);
    watchers.push_back(std::make_unique<FileWatcher>(std::move(paths), every, [options] {
      absl::StatusOr<std::string> now = DescribeCertificate(options);
      if (now.ok()) {
        LogLine(
            absl::StrCat("netprobe-agent: TLS certificate files changed: new handshakes "
                         "present ",
                         *now));
      } else {
        LogLine(
            absl::StrCat("netprobe-agent: TLS certificate files changed but are not "
                         "usable: ",
                         now.status().message(),
                         " (gRPC 1.51 loads them anyway: new TLS handshakes fail "
                         "until the files are fixed; open connections go on)"));
      }
    }));
  }
  return watchers;
}

}  // namespace netprobe
