#include "agent/server/call_guard.h"

#include <malloc.h>
#include <pthread.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/net/connection_shutdown.h"
#include "agent/server/unix_peers.h"
#include "agent/util/log.h"

namespace netprobe {
namespace {

// gRPC's peer strings: "ipv4:198.18.0.1:40000", "ipv6:[2001:2::a]:40000".
std::optional<SocketAddress> TcpPeerAddress(absl::string_view peer) {
  if (!absl::ConsumePrefix(&peer, "ipv4:") && !absl::ConsumePrefix(&peer, "ipv6:")) {
    return std::nullopt;
  }
  const size_t colon = peer.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(peer.substr(colon + 1), &port) || port > 65535) {
    return std::nullopt;
  }
  absl::string_view ip = peer.substr(0, colon);
  absl::ConsumePrefix(&ip, "[");
  absl::ConsumeSuffix(&ip, "]");
  return SocketAddress::FromLiteral(ip, static_cast<uint16_t>(port));
}

// Ticks with resets seen keep trimming this long after: gRPC frees an ended
// connection's calls some time after its socket closed.
constexpr int kTrimTicksAfterResets = 30;

}  // namespace

CallGuard::CallGuard(CallGuardOptions options)
    : options_(std::move(options)),
      resets_(options_.max_resets_per_connection, options_.window),
      audit_(options_.audit_lines_per_connection, options_.window) {
  if (!options_.own_thread) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "np-guard");
    while (!stop_.WaitForNotificationWithTimeout(kTickInterval)) Tick();
    Tick();
  });
}

CallGuard::~CallGuard() {
  if (!thread_.joinable()) {
    Tick();
    return;
  }
  stop_.Notify();
  thread_.join();
}

void CallGuard::SetTcpPorts(std::vector<uint16_t> ports) {
  absl::MutexLock lock(&mu_);
  tcp_ports_ = std::move(ports);
}

bool CallGuard::OnCallFinished(absl::string_view peer, absl::string_view shown_peer,
                               absl::string_view identity, absl::string_view method,
                               absl::string_view code, bool reset) {
  bool end = false;
  bool log = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (reset) ++resets_since_tick_;
    end = resets_.Record(peer, reset, now);
    log = audit_.Admit(peer, shown_peer, identity, method, code, now);
  }
  if (!log && options_.on_line_summarised) options_.on_line_summarised();
  if (end)
    EndConnection(std::string(peer), std::string(shown_peer), std::string(identity));
  return log;
}

void CallGuard::OnNewConnection(absl::string_view peer) {
  absl::MutexLock lock(&mu_);
  resets_.Forget(peer);
}

void CallGuard::EndConnection(const std::string& peer, const std::string& shown_peer,
                              const std::string& identity) {
  absl::Status ended;
  int fd = -1;
  absl::string_view rest = peer;
  if (absl::ConsumePrefix(&rest, "fd:") && absl::SimpleAtoi(rest, &fd)) {
    ended = UnixPeers::Get().Find(peer).has_value()
                ? ShutDownUnixConnection(fd)
                : absl::NotFoundError("not a connection the agent accepted");
  } else if (std::optional<SocketAddress> address = TcpPeerAddress(peer)) {
    std::vector<uint16_t> ports;
    {
      absl::MutexLock lock(&mu_);
      ports = tcp_ports_;
    }
    ended = ShutDownTcpConnection(*address, ports);
  } else {
    ended = absl::UnimplementedError("a peer of unknown form");
  }
  const std::string what = absl::StrCat(
      "connection peer=", shown_peer, " identity=", identity.empty() ? "-" : identity,
      ": more than ", options_.max_resets_per_connection,
      " calls reset by the client within ", absl::FormatDuration(options_.window),
      " (server_limits.max_resets_per_connection; HTTP/2 rapid reset)");
  if (ended.ok()) {
    LogLine(absl::StrCat(what, "; the connection was closed"));
    if (options_.on_connection_ended) options_.on_connection_ended();
  } else {
    LogLine(absl::StrCat(what, "; could not close it: ", ended.message()));
  }
}

void CallGuard::Tick() {
  std::vector<std::string> lines;
  bool resets = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    lines = audit_.Flush(now);
    resets_.Sweep(now);
    resets = resets_since_tick_ > 0;
    resets_since_tick_ = 0;
  }
  for (const std::string& line : lines) LogLine(line);
  if (resets) trim_ticks_left_ = kTrimTicksAfterResets;
  if (trim_ticks_left_ > 0) {
    --trim_ticks_left_;
    malloc_trim(0);
  }
}

}  // namespace netprobe
