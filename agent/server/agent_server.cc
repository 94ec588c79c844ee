#include "agent/server/agent_server.h"

#include <errno.h>
#include <grp.h>
#include <grpcpp/health_check_service_interface.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/metrics/process_metrics.h"
#include "agent/net/unix_listener.h"
#include "agent/server/agent_metrics.h"
#include "agent/server/listen_address.h"
#include "agent/server/metrics_bearer.h"
#include "agent/server/privileges.h"
#include "agent/server/reflection_service.h"
#include "agent/server/rpc_log.h"
#include "agent/server/stream_reactor.h"
#include "agent/server/unix_socket_file.h"
#include "agent/util/log.h"
#include "agent/util/user_database.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// The directory of a unix socket must exist; the default one is created.
absl::Status PrepareUnixSocketDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  const std::string dir = path.substr(0, slash);
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("unix socket directory ", dir, " is not a directory"));
  }
  if (path == kDefaultUnixSocket && mkdir(dir.c_str(), 0755) == 0)
    return absl::OkStatus();
  return PosixError(absl::StrCat("unix socket directory ", dir), errno);
}

// The iperf3 server's options from the agent's.
absl::StatusOr<iperf3::ServerOptions> IperfServerOptions(const AgentOptions& options) {
  iperf3::ServerOptions out;
  NETPROBE_ASSIGN_OR_RETURN(out.listen,
                            ParseUdpEchoAddress(options.iperf_server, "iperf_server"));
  if (options.iperf_server_max_tests < 1 || options.iperf_server_max_tests > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("iperf_server max tests: ", options.iperf_server_max_tests,
                     " is not from 1 to 64"));
  }
  out.max_concurrent_tests = options.iperf_server_max_tests;
  if (options.iperf_server_max_duration < absl::Seconds(1) ||
      options.iperf_server_max_duration > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("iperf_server max duration: ",
                     absl::FormatDuration(options.iperf_server_max_duration),
                     " is not from 1s to 24h"));
  }
  out.limits.max_duration = options.iperf_server_max_duration;
  for (const std::string& text : options.iperf_server_allow) {
    NETPROBE_ASSIGN_OR_RETURN(Cidr cidr, Cidr::Parse(text, "iperf_server allow"));
    out.allowed_clients.push_back(cidr);
  }
  return out;
}

// The default unix socket group: `netprobe` when the host has it.
constexpr char kDefaultSocketGroup[] = "netprobe";

}  // namespace

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(AgentOptions options) {
  if (options.listen.empty())
    options.listen = {absl::StrCat("unix:", kDefaultUnixSocket)};
  // The default group only where the agent may give the socket to it: as
  // root (it joins the group when it drops to --user), or as a member.
  if (std::optional<gid_t> netprobe = GroupByName(kDefaultSocketGroup);
      options.unix_socket_group.empty() && netprobe.has_value()) {
    std::vector<gid_t> groups(NGROUPS_MAX);
    const int count = getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(count < 0 ? 0 : count);
    if (geteuid() == 0 || getegid() == *netprobe ||
        std::find(groups.begin(), groups.end(), *netprobe) != groups.end()) {
      options.unix_socket_group = kDefaultSocketGroup;
    } else {
      LogLine(absl::StrCat("netprobe-agent: not root nor in group ", kDefaultSocketGroup,
                           ": the unix socket keeps the agent's group"));
    }
  }
  std::vector<ListenAddress> addresses;
  for (const std::string& text : options.listen) {
    NETPROBE_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(text));
    NETPROBE_RETURN_IF_ERROR(
        CheckListenerSecurity(address, options.insecure, options.transport.Security()));
    if (address.kind == ListenAddress::Kind::kUnix) {
      NETPROBE_RETURN_IF_ERROR(PrepareUnixSocketDir(address.path));
      NETPROBE_RETURN_IF_ERROR(CheckUnixSocketFree(address.path));
    }
    addresses.push_back(std::move(address));
  }
  // Certificates, key and token file are read now, while the agent may
  // still be root (they may be readable by root alone).
  NETPROBE_ASSIGN_OR_RETURN(
      ListenerCredentials credentials,
      ListenerCredentials::Load(options.transport, addresses, absl::Now()));
  // Before the first thread (the loop's, the blocking pool's, gRPC's): every
  // thread must inherit the dropped credentials; listeners are bound after.
  NETPROBE_RETURN_IF_ERROR(DropAgentPrivileges(options, addresses));
  // Still a single thread: ListenUnix sets the socket's mode by the umask.
  std::optional<gid_t> socket_group;
  if (!options.unix_socket_group.empty()) {
    NETPROBE_ASSIGN_OR_RETURN(
        socket_group, LookUpGroup(options.unix_socket_group, "unix_socket_group"));
  }
  std::vector<UniqueFd> unix_listeners;
  std::vector<std::string> unix_paths;
  for (const ListenAddress& address : addresses) {
    if (address.kind != ListenAddress::Kind::kUnix) continue;
    NETPROBE_ASSIGN_OR_RETURN(
        UniqueFd listener,
        ListenUnix(address.path, options.unix_socket_mode, socket_group));
    unix_listeners.push_back(std::move(listener));
    unix_paths.push_back(address.path);
  }
  credentials.Build();

  std::unique_ptr<AgentServer> agent(new AgentServer());
  agent->options_ = options;
  for (const std::string& path : unix_paths) {
    agent->unix_paths_.push_back(path);
    agent->unix_identities_.push_back(IdentityOf(path));
  }
  NETPROBE_ASSIGN_OR_RETURN(agent->loop_, EventLoop::Create());
  agent->registry_ = std::make_unique<ProbeRegistry>(agent->loop_.get());
  agent->blocking_ = std::make_unique<BlockingPool>();
  for (const std::string& text : options.udp_echo) {
    NETPROBE_ASSIGN_OR_RETURN(SocketAddress address,
                              ParseUdpEchoAddress(text, "udp_echo"));
    NETPROBE_ASSIGN_OR_RETURN(auto responder,
                              UdpEchoResponder::Start(agent->loop_.get(), address));
    agent->responders_.push_back(std::move(responder));
  }
  if (!options.iperf_server.empty()) {
    NETPROBE_ASSIGN_OR_RETURN(iperf3::ServerOptions iperf, IperfServerOptions(options));
    NETPROBE_ASSIGN_OR_RETURN(
        agent->iperf_server_,
        iperf3::Server::Start(agent->loop_.get(), std::move(iperf)));
  }
  agent->policy_ = std::make_unique<PolicyHolder>(options.policy);
  // One count of each caller's probes and watches, held by what runs.
  std::shared_ptr<CallerSlots> slots = CallerSlots::Create();
  const StreamLimits queue = {.high_water = options.stream_queue_capacity,
                              .hard_limit = options.stream_queue_capacity,
                              .max_bytes = options.stream_queue_bytes};
  agent->probes_service_ = std::make_unique<ProbesService>(
      agent->loop_.get(), agent->registry_.get(), agent->blocking_.get(), queue,
      agent->policy_.get(), slots);

  agent->metrics_ = std::make_unique<metrics::Registry>();
  agent->results_hub_ = std::make_unique<ResultsHub>(agent->loop_.get(), queue);
  agent->schedule_metrics_ = std::make_unique<ScheduleMetrics>(
      agent->metrics_.get(), agent->results_hub_.get(), options.metrics_rtt_buckets);
  agent->scheduler_ = std::make_unique<Scheduler>(
      agent->loop_.get(), agent->probes_service_.get(), agent->schedule_metrics_.get());
  agent->mesh_metrics_ = std::make_unique<MeshMetrics>(agent->metrics_.get());
  MeshSchedulerOptions mesh_options;
  mesh_options.host = RealMeshHost();
  mesh_options.blocking = PoolRunner(agent->blocking_.get());
  agent->mesh_scheduler_ = std::make_unique<MeshScheduler>(
      agent->loop_.get(), agent->probes_service_.get(), agent->mesh_metrics_.get(),
      std::move(mesh_options));
  agent->results_service_ = std::make_unique<ResultsService>(
      agent->loop_.get(), agent->results_hub_.get(),
      [scheduler = agent->scheduler_.get()] { return scheduler->names(); },
      agent->policy_.get(), slots);
  agent->probe_endpoint_ = std::make_unique<ProbeEndpoint>(agent->probes_service_.get(),
                                                           options.schedule.modules);
  AddAgentMetrics(
      agent->metrics_.get(),
      {.active_probes = [registry =
                             agent->registry_.get()] { return registry->active(); },
       .active_streams = [] { return static_cast<size_t>(LiveStreams::Get().count()); },
       .watch_subscribers =
           [hub = agent->results_hub_.get()] { return hub->subscribers(); },
       .watch_results_dropped =
           [hub = agent->results_hub_.get()] { return hub->dropped_total(); }});
  agent->metrics_->AddCollector(metrics::ProcessMetricsCollector());
  if (agent->iperf_server_ != nullptr) {
    AddIperfServerMetrics(agent->metrics_.get(), agent->iperf_server_.get());
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  std::vector<int> ports(addresses.size(), 0);
  for (size_t i = 0; i < addresses.size(); ++i) {
    // Unix sockets are the UnixAcceptor's.
    if (addresses[i].kind == ListenAddress::Kind::kUnix) continue;
    // CheckListenerSecurity() and ListenerCredentials::Load() allowed each.
    builder.AddListeningPort(addresses[i].ToGrpcUri(), credentials.For(addresses[i]),
                             &ports[i]);
  }
  ApplyServerLimits(options.limits, &builder);
  agent->tokens_ = credentials.tokens();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  CallGuardOptions guard_options;
  guard_options.max_resets_per_connection = options.limits.max_resets_per_connection;
  guard_options.audit_lines_per_connection = options.limits.audit_lines_per_connection;
  guard_options.on_connection_ended =
      [ended = &agent->metrics_->Counter(
           "netprobe_connections_closed_total",
           "gRPC connections the agent closed, by reason (resets: HTTP/2 rapid reset)")] {
        ended->Add({{"reason", "resets"}});
      };
  guard_options.on_line_summarised = [summarised = &agent->metrics_->Counter(
                                          "netprobe_audit_lines_summarised_total",
                                          "Finished calls counted in an \"rpc flood\" "
                                          "summary instead of an audit line")] {
    summarised->Add({});
  };
  guard_options.own_thread = !options.caller_serves;
  agent->call_guard_ = std::make_unique<CallGuard>(std::move(guard_options));
  UnixAcceptorOptions acceptor_options;
  acceptor_options.max_connections_per_uid = options.limits.max_unix_connections_per_uid;
  acceptor_options.on_accepted = [guard =
                                      agent->call_guard_.get()](absl::string_view peer) {
    guard->OnNewConnection(peer);
  };
  acceptor_options.on_over_limit =
      [refused = &agent->metrics_->Counter(
           "netprobe_connections_refused_total",
           "Connections the agent closed as it accepted them, by reason (unix_per_uid: "
           "the uid held server_limits.max_unix_connections_per_uid)")] {
        refused->Add({{"reason", "unix_per_uid"}});
      };
  agent->unix_acceptor_ = std::make_unique<UnixAcceptor>(std::move(unix_listeners),
                                                         std::move(acceptor_options));
  interceptors.push_back(std::make_unique<RpcLogInterceptorFactory>(
      [rpcs = &RpcCounter(agent->metrics_.get())](absl::string_view method,
                                                  absl::string_view code) {
        rpcs->Add({{"method", std::string(method)}, {"code", std::string(code)}});
      },
      agent->call_guard_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  AgentFacts facts;
  facts.start_time = absl::Now();
  facts.probes = ProbesService::Support();
  facts.transport_security = credentials.Describe();
  for (const auto& responder : agent->responders_) {
    facts.udp_echo.push_back(responder.get());
  }
  facts.iperf_server = agent->iperf_server_.get();
  facts.schedule = [scheduler = agent->scheduler_.get(),
                    mesh = agent->mesh_scheduler_.get()] {
    std::vector<v1::ScheduledProbeInfo> described = scheduler->Describe();
    for (v1::ScheduledProbeInfo& info : mesh->Describe()) {
      described.push_back(std::move(info));
    }
    return described;
  };
  agent->agent_service_ =
      std::make_unique<AgentService>(std::move(facts), agent->policy_.get());
  builder.RegisterService(agent->agent_service_.get());
  builder.RegisterService(agent->probes_service_.get());
  builder.RegisterService(agent->results_service_.get());
  // Reflection as a callback service (gRPC 1.51's is synchronous and would
  // keep a thread of its own). Its service list is gRPC's: the services in
  // the order registered, reflection, then the default health service, which
  // the server adds as it starts.
  agent->reflection_service_ =
      std::make_unique<ReflectionService>(std::vector<std::string>{
          v1::Agent::service_full_name(), v1::Probes::service_full_name(),
          v1::Results::service_full_name(),
          grpc::reflection::v1alpha::ServerReflection::service_full_name(),
          "grpc.health.v1.Health"});
  builder.RegisterService(agent->reflection_service_.get());

  agent->loop_thread_ = std::thread([loop = agent->loop_.get()] {
    pthread_setname_np(pthread_self(), "np-loop");
    loop->Run();
  });
  agent->server_ = builder.BuildAndStart();
  if (agent->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("could not listen on ", absl::StrJoin(options.listen, ", "),
                     " (address in use, or not an address of this host; gRPC's own "
                     "message is above)"));
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (addresses[i].kind == ListenAddress::Kind::kUnix) {
      agent->bound_.push_back(absl::StrCat("unix:", addresses[i].path));
    } else {
      ListenAddress bound = addresses[i];
      bound.port = ports[i];
      agent->bound_.push_back(bound.ToGrpcUri());
    }
  }
  if (options.caller_serves) {
    agent->unix_acceptor_->Attach(agent->server_.get());
  } else {
    NETPROBE_RETURN_IF_ERROR(agent->unix_acceptor_->Start(agent->server_.get()));
  }
  agent->agent_service_->SetListenAddresses(agent->bound_);
  if (options.transport.tls() || agent->tokens_ != nullptr) {
    LogLine(absl::StrCat("netprobe-agent: ", credentials.summary()));
  }
  agent->credential_watchers_ = WatchCredentialFiles(credentials);
  std::vector<std::string> tcp_listeners;
  std::vector<uint16_t> tcp_ports;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (addresses[i].kind == ListenAddress::Kind::kUnix) continue;
    tcp_listeners.push_back(agent->bound_[i]);
    tcp_ports.push_back(static_cast<uint16_t>(ports[i]));
  }
  agent->call_guard_->SetTcpPorts(std::move(tcp_ports));
  agent->probes_service_->SetOwnTcpListeners(std::move(tcp_listeners));
  if (auto* health = agent->server_->GetHealthCheckService()) {
    for (const char* service :
         {"netprobe.v1.Agent", "netprobe.v1.Probes", "netprobe.v1.Results"}) {
      health->SetServingStatus(service, true);
    }
  }
  agent->scheduler_->Set(options.schedule.probes);
  agent->mesh_scheduler_->Set(options.schedule.meshes);
  if (!options.metrics_listen.empty()) {
    metrics::HttpRoutes routes;
    routes["/metrics"] = metrics::MetricsHandler(agent->metrics_.get());
    routes["/probe"] =
        [endpoint = agent->probe_endpoint_.get()](const metrics::HttpQuery& query) {
          return endpoint->Handle(query);
        };
    // Two workers: /probe runs wait on them, and threads are budgeted (an
    // idle agent keeps only the accepting one).
    metrics::HttpServerOptions http_options;
    http_options.max_workers = 2;
    http_options.on_rejected =
        [rejected = &agent->metrics_->Counter(
             "netprobe_http_rejected_total",
             "Metrics endpoint connections turned away (503) while every worker was "
             "busy")] { rejected->Add({}); };
    NETPROBE_ASSIGN_OR_RETURN(metrics::HttpAccess::BearerCheck bearer,
                              MetricsBearerCheck(options.metrics_token_file));
    NETPROBE_ASSIGN_OR_RETURN(
        http_options.access,
        metrics::HttpAccess::Open(options.metrics_web_config, std::move(bearer)));
    http_options.on_refused =
        [refused = &agent->metrics_->Counter(
             "netprobe_http_refused_total",
             "Metrics endpoint connections or requests refused: reason tls_handshake, "
             "plain_http (HTTP to the TLS port) or unauthorized (401)")](
            absl::string_view reason) {
          refused->Add({{"reason", std::string(reason)}});
        };
    std::shared_ptr<const metrics::HttpAccess::Snapshot> access =
        http_options.access->ForConnection();
    NETPROBE_ASSIGN_OR_RETURN(
        agent->http_, metrics::MetricsHttpServer::Start(options.metrics_listen,
                                                        std::move(routes), http_options));
    std::vector<std::string> needs, credentials;
    if (access->tls != nullptr && access->config.tls->client_auth ==
                                      metrics::ClientAuth::kRequireAndVerifyClientCert) {
      needs.push_back("client certificate");
    }
    if (!access->config.basic_auth_users.empty()) credentials.push_back("basic auth");
    if (access->bearer) credentials.push_back("bearer token");
    if (!credentials.empty()) needs.push_back(absl::StrJoin(credentials, " or "));
    agent->metrics_description_ = absl::StrCat(
        access->tls != nullptr ? "https://" : "http://", agent->http_->bound(),
        "/metrics",
        needs.empty() ? "" : absl::StrCat(" (", absl::StrJoin(needs, " and "), ")"));
    agent->agent_service_->SetMetrics(agent->metrics_description_);
  }
  return agent;
}

void AgentServer::ServeUntilReadable(int fd) {
  unix_acceptor_->ServeUntilReadable(fd, CallGuard::kTickInterval,
                                     [guard = call_guard_.get()] { guard->Tick(); });
}

void AgentServer::Reload(const AgentOptions& options) {
  policy_->Set(options.policy);
  scheduler_->Set(options.schedule.probes);
  mesh_scheduler_->Set(options.schedule.meshes);
  probe_endpoint_->SetModules(options.schedule.modules);
}

std::string AgentServer::metrics_address() const {
  return http_ == nullptr ? std::string() : http_->bound();
}

void AgentServer::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Scheduled runs stop first (they are nobody's stream); WatchResults
  // streams end with a StreamEnd like the probes' streams.
  if (scheduler_ != nullptr && loop_thread_.joinable()) scheduler_->Stop();
  if (mesh_scheduler_ != nullptr && loop_thread_.joinable()) mesh_scheduler_->Stop();
  if (results_hub_ != nullptr) results_hub_->EndAll();
  // No new unix connections; those open get the server's GOAWAY below.
  if (unix_acceptor_ != nullptr) unix_acceptor_->Stop();
  if (server_ != nullptr) {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
    // Probes end with a StreamEnd and their summaries; Shutdown() then waits
    // for those streams and cancels whatever is still open at the deadline.
    registry_->StopAll(StopReason::kAgentShutdown);
    // Streams finish (their status sent) before the server sends GOAWAY and
    // closes connections, which could otherwise overtake a status.
    const absl::Time deadline = absl::Now() + options_.shutdown_grace;
    LiveStreams::Get().WaitForNone(deadline);
    server_->Shutdown(absl::ToChronoTime(deadline));
  }
  // Without a thread of its own the guard ticked on the caller's, which is
  // here now: the flood summaries due are written before the agent stops.
  if (call_guard_ != nullptr && options_.caller_serves) call_guard_->Tick();
  // /probe handlers wait for runs the loop finishes (StopAll ended them).
  if (http_ != nullptr) http_->Stop();
  if (loop_ != nullptr) loop_->Stop();
  if (loop_thread_.joinable()) loop_thread_.join();
  // Only the files this agent bound: another agent may have replaced one.
  for (size_t i = 0; i < unix_paths_.size(); ++i) {
    if (unix_identities_[i] && IdentityOf(unix_paths_[i]) == unix_identities_[i]) {
      unlink(unix_paths_[i].c_str());
    }
  }
}

AgentServer::~AgentServer() { Shutdown(); }

absl::Status AgentServer::ReloadTokens() {
  return tokens_ == nullptr ? absl::OkStatus() : tokens_->Reload();
}

std::string AgentServer::iperf_server_address() const {
  return iperf_server_ == nullptr ? std::string() : iperf_server_->bound().ToString();
}

std::vector<std::string> AgentServer::udp_echo_addresses() const {
  std::vector<std::string> out;
  for (const auto& responder : responders_) out.push_back(responder->bound().ToString());
  return out;
}

}  // namespace netprobe
