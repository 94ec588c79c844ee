#ifndef NETPROBE_AGENT_METRICS_HTTP_ENDPOINT_H_
#define NETPROBE_AGENT_METRICS_HTTP_ENDPOINT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/metrics/http_access.h"
#include "agent/metrics/registry.h"

namespace netprobe::metrics {

// One GET request, as a handler sees it.
struct HttpQuery {
  std::string path;                           // decoded, without the query
  std::map<std::string, std::string> params;  // decoded; each name at most once
  std::string peer;  // "ipv4:127.0.0.1:5678" or "ipv6:[::1]:5678"
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Runs on a worker thread of the server, concurrently with other handlers; it
// may block (a /probe request waits for its probe), holding that worker.
using HttpHandler = std::function<HttpReply(const HttpQuery&)>;
// Exact paths ("/metrics", "/probe") to their handlers.
using HttpRoutes = std::map<std::string, HttpHandler, std::less<>>;

// A handler answering with `registry`'s exposition; `registry` must outlive
// the server.
HttpHandler MetricsHandler(const Registry* registry);

struct HttpServerOptions {
  // Connections served at once (at least 1), each on a thread of its own.
  // Threads start on demand and exit after worker_idle_exit without work, so
  // an idle server has one thread: the one accepting connections.
  size_t max_workers = 4;
  // Connections accepted while every worker is busy wait for one, up to this
  // many; beyond that they get 503 at once and are closed.
  size_t max_queued = 8;
  absl::Duration worker_idle_exit = absl::Seconds(30);
  // A request (line and headers, at most 32 KiB) must arrive within
  // read_timeout; each part of a reply must be taken within write_timeout.
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
  // An idle keep-alive connection holds its worker this long at most, and
  // serves this many requests at most.
  absl::Duration keep_alive_timeout = absl::Seconds(2);
  size_t keep_alive_max_requests = 10;
  // Called on the accepting thread for every connection turned away with 503
  // (to count it in a metric). Must not block.
  std::function<void()> on_rejected;
  // TLS and authentication (http_access.h); null: plain HTTP, anyone.
  std::shared_ptr<HttpAccess> access;
  // Called on a worker for every connection or request refused by `access`:
  // "tls_handshake" (failed or timed out), "plain_http" (HTTP sent to the
  // TLS port: answered 400) or "unauthorized" (answered 401). Must not block.
  std::function<void(absl::string_view reason)> on_refused;
};

struct HttpServerStats {
  size_t worker_threads = 0;      // running, busy or idle
  size_t busy_workers = 0;        // serving a connection (a request or keep-alive wait)
  size_t queued_connections = 0;  // accepted, waiting for a worker
  uint64_t rejected_connections = 0;  // answered 503 since Start
};

// A small HTTP/1.1 server (cpp-httplib) for Prometheus scrapes, over TLS
// (OpenSSL) when options.access says so: GET only,
// exact paths, no request bodies. Unknown paths get 404 listing the known
// ones; other methods get 405. Threads are named "np-http" (accepting) and
// "np-http-work" (workers) and block all signals. Thread-safe.
class MetricsHttpServer {
 public:
  // Binds `listen` (see ParseHttpListenAddress: "HOST:PORT" or
  // "[V6]:PORT", port 0 allowed) and starts serving `routes` on a thread of
  // its own. Errors name --metrics-listen and the address.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      std::string_view listen, HttpRoutes routes, HttpServerOptions options = {});

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();  // Stop()

  // The bound address: "127.0.0.1:9431", "[::1]:9431" (the real port when 0
  // was asked for).
  std::string bound() const;

  // Stops accepting, closes idle and waiting connections, waits for running
  // handlers to return and joins every thread. Idempotent. Handlers blocked
  // on something Stop's caller holds would deadlock: make them return (cancel
  // their probes) first. Must not be called from a handler.
  void Stop();

  HttpServerStats stats() const;

 private:
  class Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netprobe::metrics

#endif  // NETPROBE_AGENT_METRICS_HTTP_ENDPOINT_H_
