#ifndef NETPROBE_AGENT_SERVER_AGENT_SERVER_H_
#define NETPROBE_AGENT_SERVER_AGENT_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/iperf3/server.h"
#include "agent/metrics/http_endpoint.h"
#include "agent/metrics/registry.h"
#include "agent/net/blocking_pool.h"
#include "agent/net/event_loop.h"
#include "agent/policy/policy.h"
#include "agent/probes/probe_registry.h"
#include "agent/responders/udp_echo_responder.h"
#include "agent/schedule/mesh_metrics.h"
#include "agent/schedule/mesh_scheduler.h"
#include "agent/schedule/probe_endpoint.h"
#include "agent/schedule/probe_metrics.h"
#include "agent/schedule/results_hub.h"
#include "agent/schedule/schedule_config.h"
#include "agent/schedule/scheduler.h"
#include "agent/server/agent_service.h"
#include "agent/server/call_guard.h"
#include "agent/server/credential_watch.h"
#include "agent/server/probes_service.h"
#include "agent/server/reflection_service.h"
#include "agent/server/results_service.h"
#include "agent/server/server_credentials.h"
#include "agent/server/server_limits.h"
#include "agent/server/unix_acceptor.h"
#include "agent/server/unix_socket_file.h"

namespace netprobe {

inline constexpr char kDefaultUnixSocket[] = "/run/netprobe/agent.sock";

struct AgentOptions {
  // Empty: unix:kDefaultUnixSocket alone. TCP listeners need callers to prove who
  // they are (CheckListenerSecurity), loopback ones too, unless `insecure`.
  std::vector<std::string> listen;
  bool insecure = false;
  uint32_t unix_socket_mode = 0660;
  std::string
      unix_socket_group;  // empty: `netprobe` if the host has it, else the agent's
  size_t stream_queue_capacity = 256;
  // Bytes of events queued per stream (StreamLimits::max_bytes).
  size_t stream_queue_bytes = size_t{8} << 20;
  absl::Duration shutdown_grace = absl::Seconds(5);
  // UDP echo responders ("PORT", "ADDR:PORT"); none by default.
  std::vector<std::string> udp_echo;
  // The iperf3 server ("PORT", "ADDR:PORT"); empty: off. Its limits: tests
  // at once, the longest test, the clients allowed (CIDRs; empty: all).
  std::string iperf_server;
  int iperf_server_max_tests = 2;
  absl::Duration iperf_server_max_duration = absl::Seconds(60);
  std::vector<std::string> iperf_server_allow;
  // TLS, client certificates and tokens on TCP listeners, and the gRPC
  // server's limits (server_credentials.h, server_limits.h).
  TransportOptions transport;
  ServerLimits limits;
  // Who may probe what (config `policy`, --enable-probe).
  std::shared_ptr<const Policy> policy = Policy::Default();
  // Switch to this user (and group) before any thread starts; see
  // DropAgentPrivileges(). Empty: stay as started.
  std::string user;
  std::string group;
  // Prometheus endpoint (/metrics, /probe): "HOST:PORT"; empty: off.
  std::string metrics_listen;
  // Its web config file (metrics/web_config.h) and bearer token file
  // (token_auth.h's format); empty: none.
  std::string metrics_web_config;
  std::string metrics_token_file;
  // Upper bounds of the RTT histogram (CheckRttBuckets); empty: RttBuckets().
  std::vector<double> metrics_rtt_buckets;
  // Scheduled probes and /probe modules (config).
  ScheduleConfig schedule;
  // Whether the thread that started the agent accepts its unix connections
  // and ticks its call guard itself, in ServeUntilReadable(), instead of a
  // thread for each (netprobe-agent's main thread, between signals).
  bool caller_serves = false;
};

// The running agent: one event loop thread, the gRPC server, its services.
class AgentServer {
 public:
  // Binds every listen address or fails with the first that cannot be used.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(AgentOptions options);

  // Applies what a reload may change: the policy (requests already running
  // keep theirs), the scheduled probes and the /probe modules. Thread-safe.
  void Reload(const AgentOptions& options);

  // With caller_serves: accepts unix connections and ticks the call guard on
  // the calling thread until `fd` is readable (left so). Call it again after
  // handling what made `fd` readable; not during or after Shutdown(). Only
  // from the thread that called Start().
  void ServeUntilReadable(int fd);

  // Stops accepting RPCs, ends running probes with their summaries, waits up
  // to shutdown_grace for streams to finish, cancels the rest and joins the
  // loop thread. Idempotent; also run by the destructor. Thread-safe.
  void Shutdown();
  ~AgentServer();

  // The listen addresses with the ports actually bound ("127.0.0.1:41234").
  const std::vector<std::string>& bound_addresses() const { return bound_; }
  // The metrics endpoint's bound address ("127.0.0.1:9431"); empty when off.
  std::string metrics_address() const;
  // Its URL: "https://127.0.0.1:9431/metrics" with TLS (at start), "http://..."
  // without, and what it requires ("client certificate", "basic auth",
  // "bearer token"); empty when off.
  std::string metrics_description() const { return metrics_description_; }
  // The UDP echo responders' bound addresses ("[::]:7").
  std::vector<std::string> udp_echo_addresses() const;
  // The iperf3 server's bound address ("[::]:5201"); empty when off.
  std::string iperf_server_address() const;
  size_t active_probes() const { return registry_->active(); }

  // Re-reads --token-file (e.g. on SIGHUP) for calls from now on; OK when
  // there is none. On error the tokens loaded before stay in force.
  // Thread-safe.
  absl::Status ReloadTokens();

 private:
  AgentServer() = default;

  AgentOptions options_;
  std::vector<std::string> bound_;
  std::vector<std::string> unix_paths_;
  std::vector<std::optional<FileIdentity>> unix_identities_;  // as bound
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ProbeRegistry> registry_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<BlockingPool> blocking_;  // before the loop is gone: joined first
  std::thread loop_thread_;
  // Answer on the loop; destroyed before it, after Shutdown() joined its thread.
  std::vector<std::unique_ptr<UdpEchoResponder>> responders_;
  std::unique_ptr<iperf3::Server> iperf_server_;  // the same
  std::unique_ptr<AgentService> agent_service_;
  std::unique_ptr<ProbesService> probes_service_;
  std::unique_ptr<ReflectionService> reflection_service_;
  // Metrics and scheduled probes; the registry outlives what writes to it.
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<ResultsHub> results_hub_;
  std::unique_ptr<ScheduleMetrics> schedule_metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<MeshMetrics> mesh_metrics_;
  std::unique_ptr<MeshScheduler> mesh_scheduler_;
  std::unique_ptr<ResultsService> results_service_;
  std::unique_ptr<ProbeEndpoint> probe_endpoint_;
  std::unique_ptr<metrics::MetricsHttpServer> http_;  // after what its routes use
  std::string metrics_description_;
  std::unique_ptr<CallGuard> call_guard_;        // the interceptors' (server_ first)
  std::unique_ptr<grpc::Server> server_;         // after the services: destroyed first
  std::unique_ptr<UnixAcceptor> unix_acceptor_;  // hands connections to server_
  std::shared_ptr<TokenStore> tokens_;           // null without --token-file
  std::vector<std::unique_ptr<FileWatcher>> credential_watchers_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_AGENT_SERVER_H_
