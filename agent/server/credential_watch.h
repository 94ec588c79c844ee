#ifndef NETPROBE_AGENT_SERVER_CREDENTIAL_WATCH_H_
#define NETPROBE_AGENT_SERVER_CREDENTIAL_WATCH_H_

#include <memory>
#include <vector>

#include "agent/server/server_credentials.h"
#include "agent/util/file_watcher.h"

namespace netprobe {

// Follows the credential files while the agent runs (cert-manager and
// Kubernetes secrets replace them in place):
//  - the token file: reloaded when it changes, as on SIGHUP (a bad file
//    keeps the tokens loaded before, and the log says so);
//  - the certificate, key and client CA, when gRPC re-reads them
//    (credentials.rotates()): each change is checked as at start and
//    logged, "TLS certificate files changed: new handshakes present CN=...
//    (valid until ...)", or why the new files are not usable (gRPC 1.51's
//    file watcher takes a key that is not the certificate's all the same,
//    and handshakes fail until the files are fixed: the log line is the
//    operator's only warning).
// Polls every ListenerCredentials::kCertificateRefresh. `credentials`
// outlives nothing here: what is needed is copied.
std::vector<std::unique_ptr<FileWatcher>> WatchCredentialFiles(
    const ListenerCredentials& credentials);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_CREDENTIAL_WATCH_H_
