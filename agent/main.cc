// netprobe-agent: flags and config only; builds the server and runs it until
// SIGTERM or SIGINT. The main thread takes the signals (a signalfd) and, while
// it waits for them, accepts the unix connections and ticks the call guard
// (AgentOptions::caller_serves): threads are budgeted.
#include <errno.h>
#include <fcntl.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/text_format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/unique_fd.h"
#include "agent/policy/policy.h"
#include "agent/schedule/mesh_peers.h"
#include "agent/schedule/probe_metrics.h"
#include "agent/schedule/schedule_config.h"
#include "agent/server/agent_server.h"
#include "agent/server/version.h"
#include "agent/util/log.h"
#include "common/option_parser.h"
#include "common/posix_error.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {
namespace {

std::vector<OptionSpec> AgentOptionSpecs() {
  return {
      {0, "listen", "ADDR",
       absl::StrCat("listen on unix:/PATH, HOST:PORT or [V6]:PORT; repeatable "
                    "(default unix:",
                    kDefaultUnixSocket,
                    " alone; TCP needs --client-ca or --token-file, or --insecure)"),
       true},
      {0, "insecure", "",
       "allow TCP listeners that take anonymous calls (plaintext off loopback)"},
      {0, "config", "FILE",
       "AgentConfig in protobuf text format (proto/netprobe/v1/config.proto)"},
      {0, "unix-socket-mode", "OCTAL", "permissions of unix sockets (default 0660)"},
      {0, "unix-socket-group", "NAME",
       "group owning unix sockets (default netprobe when it exists, else the agent's)"},
      {0, "stream-queue", "N", "events buffered per stream, 16..65536 (default 256)"},
      {0, "stream-queue-bytes", "N",
       "bytes of events buffered per stream, 65536..1073741824 (default 8388608)"},
      {0, "udp-echo", "PORT|ADDR:PORT",
       "run a UDP echo responder (RFC 862) there; repeatable or comma-separated; "
       "port 0: the kernel chooses (see `netprobe info`)",
       true},
      {0, "iperf-server", "[ADDR:]PORT",
       "run an iperf3 server there (TCP and UDP; iperf3 -c clients and other agents' "
       "throughput probes); port 0: the kernel chooses"},
      {0, "iperf-server-max-tests", "N",
       "tests the iperf3 server runs at once, 1..64 (default 2); more are refused as "
       "busy"},
      {0, "iperf-server-max-duration", "DURATION",
       "longest test (-t plus -O) the iperf3 server accepts (default 60s); tests bounded "
       "by bytes (-n, -k) are refused"},
      {0, "iperf-server-allow", "CIDR",
       "clients allowed to run iperf3 tests; repeatable or comma-separated (default all)",
       true},
      {0, "shutdown-grace", "DURATION",
       "on SIGTERM, how long open streams get to end with their summaries (default 5s)"},
      {0, "user", "NAME",
       "started as root: run as this user, keeping only CAP_NET_RAW, CAP_NET_ADMIN "
       "(and CAP_NET_BIND_SERVICE for ports below 1024), no new privileges"},
      {0, "group", "NAME", "with --user: the primary group (default the user's)"},
      {0, "enable-probe", "NAME",
       "enable a probe the policy leaves off (Capture, Broadcast); repeatable or "
       "comma-separated",
       true},
      {0, "tls-cert", "FILE",
       "TLS on every TCP listener: the certificate chain (PEM, leaf first); with "
       "--tls-key"},
      {0, "tls-key", "FILE", "the certificate's private key (PEM, unencrypted)"},
      {0, "client-ca", "FILE",
       "mutual TLS: TCP clients must present a certificate signed by a CA in FILE"},
      {0, "metrics-listen", "HOST:PORT",
       "serve Prometheus metrics (/metrics) and blackbox-style probes "
       "(/probe?module=&target=) there; port 0: the kernel chooses"},
      {0, "metrics-web-config", "FILE",
       "TLS and basic auth for the metrics endpoint: a web config file as Prometheus "
       "exporters use (tls_server_config, basic_auth_users, http_server_config)"},
      {0, "metrics-token-file", "FILE",
       "bearer tokens for the metrics endpoint; FILE: NAME TOKEN per line"},
      {0, "metrics-rtt-buckets", "SECONDS,...",
       "upper bounds of the netprobe_probe_rtt_seconds buckets, ascending (default "
       "0.00001,0.000025,...,10)"},
      {0, "token-file", "FILE",
       "require a bearer token on every call over TCP; FILE: NAME TOKEN per line"},
      {'h', "help", "", "show this help"},
      {'V', "version", "", "print the version"},
  };
}

absl::StatusOr<v1::AgentConfig> ReadConfig(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return PosixError(absl::StrCat("--config ", path), errno);
  google::protobuf::io::FileInputStream input(fd.get());
  v1::AgentConfig config;
  google::protobuf::TextFormat::Parser parser;
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string errors;
    void AddError(int line, int column, const std::string& message) override {
      absl::StrAppend(&errors, "line ", line + 1, " column ", column + 1, ": ", message,
                      "; ");
    }
  } collector;
  parser.RecordErrorsTo(&collector);
  if (!parser.Parse(&input, &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--config ", path, ": not a valid AgentConfig: ", collector.errors));
  }
  return config;
}

absl::StatusOr<AgentOptions> BuildOptions(const ParsedOptions& flags) {
  AgentOptions options;
  v1::Policy policy;
  if (flags.Has("config")) {
    NETPROBE_ASSIGN_OR_RETURN(v1::AgentConfig config, ReadConfig(flags.Get("config")));
    options.listen.assign(config.listen().begin(), config.listen().end());
    options.insecure = config.insecure();
    if (config.has_unix_socket_mode()) {
      if (config.unix_socket_mode() > 0777) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "unix_socket_mode: %04o is not a mode from 0 to 0777 (write it in octal "
            "with a leading 0, e.g. 0660)",
            config.unix_socket_mode()));
      }
      options.unix_socket_mode = config.unix_socket_mode();
    }
    options.unix_socket_group = config.unix_socket_group();
    if (config.has_stream_queue_capacity()) {
      options.stream_queue_capacity = config.stream_queue_capacity();
    }
    if (config.has_stream_queue_bytes()) {
      options.stream_queue_bytes = config.stream_queue_bytes();
    }
    options.udp_echo.assign(config.udp_echo().begin(), config.udp_echo().end());
    if (config.has_iperf_server()) {
      const v1::IperfServer& iperf = config.iperf_server();
      options.iperf_server = iperf.listen();
      if (iperf.has_max_tests()) options.iperf_server_max_tests = iperf.max_tests();
      if (iperf.has_max_duration()) {
        options.iperf_server_max_duration =
            absl::Seconds(iperf.max_duration().seconds()) +
            absl::Nanoseconds(iperf.max_duration().nanos());
      }
      options.iperf_server_allow.assign(iperf.allow().begin(), iperf.allow().end());
    }
    NETPROBE_RETURN_IF_ERROR(
        ApplyTransportConfig(config, &options.transport, &options.limits));
    policy = config.policy();
    options.user = config.user();
    options.group = config.group();
    options.metrics_listen = config.metrics_listen();
    options.metrics_web_config = config.metrics_web_config();
    options.metrics_token_file = config.metrics_token_file();
    if (config.metrics_rtt_buckets_size() > 0) {
      options.metrics_rtt_buckets.assign(config.metrics_rtt_buckets().begin(),
                                         config.metrics_rtt_buckets().end());
      NETPROBE_RETURN_IF_ERROR(
          CheckRttBuckets(options.metrics_rtt_buckets, "metrics_rtt_buckets"));
    }
    NETPROBE_ASSIGN_OR_RETURN(options.schedule, ValidateSchedule(config));
    // Mesh names are expanded now (blocking; before any thread of the
    // agent's): a name with no peer, too many or too many for the interval
    // fails the start, or the reload (the old config stays).
    NETPROBE_RETURN_IF_ERROR(ExpandMeshesNow(&options.schedule, RealMeshHost()));
    if (config.has_shutdown_grace()) {
      options.shutdown_grace = absl::Seconds(config.shutdown_grace().seconds()) +
                               absl::Nanoseconds(config.shutdown_grace().nanos());
    }
  }
  if (flags.Has("listen")) {
    options.listen.clear();
    for (const std::string& value : flags.GetAll("listen")) {
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        options.listen.emplace_back(part);
      }
    }
  }
  if (flags.Has("udp-echo")) {
    options.udp_echo.clear();
    for (const std::string& value : flags.GetAll("udp-echo")) {
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        options.udp_echo.emplace_back(part);
      }
    }
  }
  if (flags.Has("iperf-server")) options.iperf_server = flags.Get("iperf-server");
  NETPROBE_ASSIGN_OR_RETURN(auto iperf_tests,
                            flags.GetUint("iperf-server-max-tests", 1, 64));
  if (iperf_tests) options.iperf_server_max_tests = static_cast<int>(*iperf_tests);
  NETPROBE_ASSIGN_OR_RETURN(auto iperf_duration,
                            flags.GetDuration("iperf-server-max-duration"));
  if (iperf_duration) options.iperf_server_max_duration = *iperf_duration;
  if (flags.Has("iperf-server-allow")) {
    options.iperf_server_allow.clear();
    for (const std::string& value : flags.GetAll("iperf-server-allow")) {
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        options.iperf_server_allow.emplace_back(part);
      }
    }
  }
  if (options.iperf_server.empty() &&
      (flags.Has("iperf-server-max-tests") || flags.Has("iperf-server-max-duration") ||
       flags.Has("iperf-server-allow"))) {
    return absl::InvalidArgumentError(
        "--iperf-server-max-tests, --iperf-server-max-duration and --iperf-server-allow "
        "need --iperf-server");
  }
  if (flags.Has("enable-probe")) {
    if (policy.enabled_probes().empty()) {
      for (const std::string& p : Policy::DefaultEnabledProbes())
        policy.add_enabled_probes(p);
    }
    for (const std::string& value : flags.GetAll("enable-probe")) {
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        policy.add_enabled_probes(std::string(part));
      }
    }
  }
  NETPROBE_ASSIGN_OR_RETURN(options.policy, Policy::Build(policy));
  NETPROBE_RETURN_IF_ERROR(CheckSchedulePolicy(options.schedule, *options.policy));
  if (flags.Has("insecure")) options.insecure = true;
  ApplyTransportFlags(flags, &options.transport);
  if (flags.Has("unix-socket-mode")) {
    const std::string text = flags.Get("unix-socket-mode");
    char* end = nullptr;
    const unsigned long mode = std::strtoul(text.c_str(), &end, 8);
    if (text.empty() || *end != '\0' || mode > 0777) {
      return absl::InvalidArgumentError(
          absl::StrCat("--unix-socket-mode: '", flags.Get("unix-socket-mode"),
                       "' is not an octal mode from 0 to 0777"));
    }
    options.unix_socket_mode = mode;
  }
  if (flags.Has("unix-socket-group"))
    options.unix_socket_group = flags.Get("unix-socket-group");
  if (flags.Has("metrics-listen")) options.metrics_listen = flags.Get("metrics-listen");
  if (flags.Has("metrics-web-config"))
    options.metrics_web_config = flags.Get("metrics-web-config");
  if (flags.Has("metrics-token-file"))
    options.metrics_token_file = flags.Get("metrics-token-file");
  if (flags.Has("metrics-rtt-buckets")) {
    options.metrics_rtt_buckets.clear();
    for (absl::string_view part : absl::StrSplit(flags.Get("metrics-rtt-buckets"), ',')) {
      double bound = 0;
      if (!absl::SimpleAtod(part, &bound)) {
        return absl::InvalidArgumentError(absl::StrCat("--metrics-rtt-buckets: '", part,
                                                       "' is not a number of seconds"));
      }
      options.metrics_rtt_buckets.push_back(bound);
    }
    NETPROBE_RETURN_IF_ERROR(
        CheckRttBuckets(options.metrics_rtt_buckets, "--metrics-rtt-buckets"));
  }
  if (options.metrics_listen.empty() &&
      (!options.metrics_web_config.empty() || !options.metrics_token_file.empty())) {
    return absl::InvalidArgumentError(
        "--metrics-web-config and --metrics-token-file need --metrics-listen");
  }
  if (flags.Has("user")) options.user = flags.Get("user");
  if (flags.Has("group")) options.group = flags.Get("group");
  NETPROBE_ASSIGN_OR_RETURN(auto queue, flags.GetUint("stream-queue", 16, 65536));
  if (queue) options.stream_queue_capacity = *queue;
  if (options.stream_queue_capacity < 16 || options.stream_queue_capacity > 65536) {
    return absl::InvalidArgumentError("stream_queue_capacity: must be from 16 to 65536");
  }
  NETPROBE_ASSIGN_OR_RETURN(
      auto queue_bytes, flags.GetUint("stream-queue-bytes", 65536, uint64_t{1} << 30));
  if (queue_bytes) options.stream_queue_bytes = *queue_bytes;
  if (options.stream_queue_bytes < 65536 ||
      options.stream_queue_bytes > (size_t{1} << 30)) {
    return absl::InvalidArgumentError(
        "stream_queue_bytes: must be from 65536 to 1073741824 (1 GiB)");
  }
  NETPROBE_ASSIGN_OR_RETURN(auto grace, flags.GetDuration("shutdown-grace"));
  if (grace) options.shutdown_grace = *grace;
  if (options.shutdown_grace > absl::Minutes(10)) {
    return absl::InvalidArgumentError("shutdown grace: at most 10m");
  }
  return options;
}

// Probes hold one descriptor per attempt in flight (up to 4096 per request);
// the usual soft limit of 1024 would turn busy sweeps into EMFILE errors.
void RaiseFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Serves `agent` until a signal of `signal_fd` comes; returns its number, or
// 0 when the signalfd cannot be read (the agent then shuts down, as it did
// when sigwait failed).
int NextSignal(AgentServer& agent, int signal_fd) {
  while (true) {
    agent.ServeUntilReadable(signal_fd);
    signalfd_siginfo info;
    const ssize_t n = read(signal_fd, &info, sizeof(info));
    if (n == static_cast<ssize_t>(sizeof(info))) return static_cast<int>(info.ssi_signo);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return 0;
  }
}

int Run(int argc, char** argv) {
  const OptionParser parser(AgentOptionSpecs());
  auto flags = parser.Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::fprintf(stderr, "netprobe-agent: %s\nTry 'netprobe-agent --help'.\n",
                 std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->Has("help")) {
    std::printf(
        "Usage: netprobe-agent [OPTION]...\nThe netprobe agent: runs network probes "
        "for gRPC clients.\n\n%s",
        parser.Help().c_str());
    return 0;
  }
  if (flags->Has("version")) {
    std::printf("netprobe-agent %s\n", kNetprobeVersion);
    return 0;
  }
  if (!flags->positional().empty()) {
    std::fprintf(stderr, "netprobe-agent: unexpected argument '%s'\n",
                 flags->positional().front().c_str());
    return 2;
  }
  auto options = BuildOptions(*flags);
  if (!options.ok()) {
    std::fprintf(stderr, "netprobe-agent: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }

  // Signals are taken synchronously by this thread (a signalfd); every
  // thread started below inherits the blocked mask, so none of them is
  // interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  UniqueFd signal_fd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd) {
    LogLine(absl::StrCat("netprobe-agent: cannot start: signalfd: ", strerror(errno)));
    return 1;
  }
  options->caller_serves = true;
  signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  // Debian's Abseil runs Mutex deadlock detection, a graph update on every
  // lock, which showed in profiles of the stream bridge; the agent's lock
  // order is flat (no nested locks), so it buys nothing here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  auto agent = AgentServer::Start(*std::move(options));
  if (!agent.ok()) {
    LogLine(absl::StrCat("netprobe-agent: cannot start: ", agent.status().message()));
    // A listen address that is refused as given is a usage error.
    return agent.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  LogLine(absl::StrCat("netprobe-agent ", kNetprobeVersion, " pid ", getpid(),
                       " listening on ",
                       absl::StrJoin((*agent)->bound_addresses(), " ")));
  if (!(*agent)->metrics_address().empty()) {
    LogLine(absl::StrCat("netprobe-agent: metrics on ", (*agent)->metrics_description()));
  }
  if (!(*agent)->iperf_server_address().empty()) {
    LogLine(absl::StrCat("netprobe-agent: iperf3 server on ",
                         (*agent)->iperf_server_address()));
  }
  for (const std::string& address : (*agent)->udp_echo_addresses()) {
    LogLine(absl::StrCat("netprobe-agent: udp echo responder on ", address));
  }

  int signal_number = 0;
  while ((signal_number = NextSignal(**agent, signal_fd.get())) == SIGHUP) {
    // Reload: the token file first (a broken config file must not keep a
    // revoked token valid), then the config file and flags again; what fails
    // to load leaves the running configuration as it was.
    if (absl::Status tokens = (*agent)->ReloadTokens(); !tokens.ok()) {
      LogLine(absl::StrCat("netprobe-agent: SIGHUP: tokens not reloaded: ",
                           tokens.message()));
    }
    auto reloaded = BuildOptions(*flags);
    if (!reloaded.ok()) {
      LogLine(absl::StrCat(
          "netprobe-agent: SIGHUP: not reloaded, the running configuration (policy, "
          "scheduled probes, modules) stays in force: ",
          reloaded.status().message()));
      continue;
    }
    reloaded->caller_serves = true;
    (*agent)->Reload(*reloaded);
    LogLine(
        "netprobe-agent: SIGHUP: configuration reloaded (policy, scheduled probes, "
        "modules; listeners and metrics_listen stay as started)");
  }
  LogLine(absl::StrCat("netprobe-agent: ", strsignal(signal_number),
                       ": shutting down (open streams end with their summaries)"));
  (*agent)->Shutdown();
  LogLine("netprobe-agent: stopped");
  return 0;
}

}  // namespace
}  // namespace netprobe

int main(int argc, char** argv) { return netprobe::Run(argc, argv); }
