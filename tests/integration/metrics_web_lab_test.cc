// Issue 17: the metrics endpoint behind TLS and auth, in exporter-toolkit's
// web config format. The real agent in lab host 0 serves /metrics and /probe
// over TLS; a real Prometheus server (Debian's) in lab host 2 scrapes it with
// a client certificate and basic auth (or a bearer token), `promtool check
// web-config` accepts the agent's file, and curl in the same host is refused
// without each credential. Certificates come from the openssl CLI, the bcrypt
// hash from htpasswd.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/net/monotonic_clock.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/lab/test_certificates.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

constexpr int kAgent = 0, kTarget = 1, kPrometheus = 2;
constexpr char kPassword[] = "scrape-5e1b7c";
constexpr char kToken[] = "metrics-token-8f2a61c4d0b94e7a";

// Runs a PromQL instant query against Prometheus at argv[1] and prints
// the value of the first series, or nothing.
constexpr char kQuery[] = R"py(
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
data = json.load(urllib.request.urlopen(url, timeout=10))
for r in data["data"]["result"][:1]:
    print(r["value"][1])
)py";

struct Curled {
  int exit_code = -1;  // curl's: 0 for any HTTP answer
  int status = 0;
  std::string body;
  std::string err;
};

class MetricsWebLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = Lab::Create(3);
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    dir_ = lab_->dir();
    ASSERT_THAT(MakeTestCa(dir_, "ca"), IsOk());
    ASSERT_THAT(MakeTestLeaf(dir_, "agent", "ca",
                             absl::StrCat("subjectAltName=IP:", lab_->host(kAgent).ipv4,
                                          "\nextendedKeyUsage=serverAuth\n")),
                IsOk());
    ASSERT_THAT(MakeTestLeaf(dir_, "prometheus", "ca", "extendedKeyUsage=clientAuth\n"),
                IsOk());
    auto hash = RunCommand({"htpasswd", "-nbBC", "10", "prometheus", kPassword});
    ASSERT_THAT(hash, IsOk());
    ASSERT_EQ(hash->exit_code, 0) << hash->err;
    hash_ = std::string(absl::StripAsciiWhitespace(hash->out));
    hash_ = hash_.substr(hash_.find(':') + 1);  // "prometheus:$2y$10$..."
    WriteSecret("tokens", absl::StrCat("prometheus ", kToken, "\n"));
    WriteSecret("token", absl::StrCat(kToken, "\n"));
  }

  std::string File(absl::string_view name) const { return absl::StrCat(dir_, "/", name); }
  std::string Contents(absl::string_view name) const {
    std::ifstream in(File(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteSecret(const std::string& name, const std::string& text) {
    std::ofstream(File(name) + ".tmp") << text;
    chmod((File(name) + ".tmp").c_str(), 0600);
    std::rename((File(name) + ".tmp").c_str(), File(name).c_str());
  }
  // Writes the web config and checks it with promtool, as an operator would.
  void WriteWebConfig(const std::string& text) {
    std::ofstream(File("web.yml.tmp")) << text;
    std::rename(File("web.yml.tmp").c_str(), File("web.yml").c_str());
    auto check = RunCommand({"promtool", "check", "web-config", File("web.yml")});
    ASSERT_THAT(check, IsOk());
    ASSERT_EQ(check->exit_code, 0) << check->out << check->err;
  }
  std::string MutualTlsAndBasicAuth() const {
    return absl::StrCat(
        "tls_server_config:\n  cert_file: agent.pem\n  key_file: agent.key\n",
        "  client_auth_type: RequireAndVerifyClientCert\n", "  client_ca_file: ca.pem\n",
        "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
        "basic_auth_users:\n  prometheus: ", hash_, "\n");
  }

  // The agent with an "icmp" module for /probe, the endpoint on its lab
  // address (port 0) behind web.yml.
  void StartAgent(std::vector<std::string> args) {
    std::ofstream(File("agent.textproto"))
        << "modules { name: \"icmp\" timeout { seconds: 2 } "
           "ping { count: 2 interval { nanos: 100000000 } } }\n";
    args.insert(args.begin(), {"--config", File("agent.textproto"), "--metrics-listen",
                               absl::StrCat(lab_->host(kAgent).ipv4, ":0"),
                               "--metrics-web-config", File("web.yml")});
    auto agent = LabAgent::Start(*lab_, kAgent, args);
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    auto line = agent_->process().WaitForStderr("metrics on https://", absl::Seconds(10));
    ASSERT_THAT(line, IsOk()) << agent_->process().err();
    const std::string rest = line->substr(line->find("https://") + 8);
    metrics_ = rest.substr(0, rest.find("/metrics"));
  }

  // curl from the Prometheus host; `args` before the URL.
  Curled Curl(std::vector<std::string> args, const std::string& url) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time",
                                     "10",   "-w",  "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    Curled out;
    auto run = lab_->Exec(kPrometheus, argv);
    EXPECT_THAT(run, IsOk());
    if (!run.ok()) return out;
    out.exit_code = run->exit_code;
    out.err = run->err;
    const size_t last = run->out.rfind('\n');
    if (last != std::string::npos) {
      (void)absl::SimpleAtoi(run->out.substr(last + 1), &out.status);
      out.body = run->out.substr(0, last);
    }
    return out;
  }
  std::vector<std::string> ClientCert() const {
    return {"--cacert", File("ca.pem"),        "--cert", File("prometheus.pem"),
            "--key",    File("prometheus.key")};
  }
  std::string Url(const std::string& path) const {
    return absl::StrCat("https://", metrics_, path);
  }

  // Prometheus in its host (on a loopback port the kernel picked there)
  // scraping /metrics and /probe with `auth` (the YAML lines of a scrape
  // config), until `up` and `probe_success` are 1 in its query API (at
  // most 40 s).
  void ScrapeWithPrometheus(const std::string& auth) {
    auto fd = OpenSocketInNetns(lab_->host(kPrometheus).netns, AF_INET, SOCK_STREAM, 0);
    ASSERT_THAT(fd, IsOk());
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(any);
    ASSERT_EQ(bind(fd->get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
    ASSERT_EQ(getsockname(fd->get(), reinterpret_cast<sockaddr*>(&any), &length), 0);
    const std::string web = absl::StrCat("127.0.0.1:", ntohs(any.sin_port));
    *fd = UniqueFd();
    const std::string config = File("prometheus.yml");
    std::ofstream(config) << absl::StrCat(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n",
        "  - job_name: netprobe\n    scheme: https\n", auth,
        "    static_configs:\n      - targets: ['", metrics_, "']\n",
        "  - job_name: blackbox-icmp\n    scheme: https\n    metrics_path: /probe\n",
        "    scrape_interval: 2s\n    scrape_timeout: 2s\n",
        "    params:\n      module: [icmp]\n", auth,
        "    static_configs:\n      - targets: ['", lab_->host(kTarget).ipv4, "']\n",
        "    relabel_configs:\n      - source_labels: [__address__]\n",
        "        target_label: __param_target\n      - target_label: __address__\n",
        "        replacement: '", metrics_, "'\n");
    auto check = RunCommand({"promtool", "check", "config", config});
    ASSERT_THAT(check, IsOk());
    ASSERT_EQ(check->exit_code, 0) << check->out << check->err;
    auto prometheus = lab_->Spawn(
        kPrometheus, {"prometheus", "--config.file", config, "--storage.tsdb.path",
                      File("tsdb"), "--web.listen-address", web, "--log.level=warn"});
    ASSERT_THAT(prometheus, IsOk());
    const std::vector<std::string> queries = {R"(up{job="netprobe"})",
                                              R"(probe_success{job="blackbox-icmp"})"};
    std::vector<std::string> values(queries.size());
    const absl::Duration deadline = MonotonicNow() + absl::Seconds(40);
    for (size_t i = 0; i < queries.size(); ++i) {
      while (values[i] != "1" && MonotonicNow() < deadline) {
        auto run = lab_->Exec(kPrometheus, {"python3", "-c", kQuery,
                                            absl::StrCat("http://", web), queries[i]});
        if (run.ok()) values[i] = std::string(absl::StripAsciiWhitespace(run->out));
        if (values[i] != "1") poll(nullptr, 0, 500);
      }
      EXPECT_EQ(values[i], "1") << queries[i] << "\n" << prometheus->err();
    }
  }

  // The agent's own count of refusals for `reason`, read with `auth`.
  double Refused(const std::vector<std::string>& auth, const std::string& reason) {
    Curled page = Curl(auth, Url("/metrics"));
    EXPECT_EQ(page.status, 200) << page.err;
    const std::string series =
        absl::StrCat("netprobe_http_refused_total{reason=\"", reason, "\"} ");
    for (absl::string_view line : absl::StrSplit(page.body, '\n')) {
      double value = 0;
      if (absl::ConsumePrefix(&line, series) && absl::SimpleAtod(line, &value))
        return value;
    }
    return 0;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::string dir_, hash_, metrics_;
};

TEST_F(MetricsWebLabTest,
       PrometheusScrapesOverMutualTlsWithBasicAuthAndOthersAreRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteWebConfig(MutualTlsAndBasicAuth()));
  ASSERT_NO_FATAL_FAILURE(StartAgent({}));
  ASSERT_NO_FATAL_FAILURE(ScrapeWithPrometheus(absl::StrCat(
      "    tls_config:\n      ca_file: ", File("ca.pem"), "\n      cert_file: ",
      File("prometheus.pem"), "\n      key_file: ", File("prometheus.key"),
      "\n    basic_auth:\n      username: prometheus\n      password: ", kPassword,
      "\n")));

  std::vector<std::string> good = ClientCert();
  good.insert(good.end(), {"-u", absl::StrCat("prometheus:", kPassword), "-D", "-"});
  Curled ok = Curl(good, Url("/metrics"));
  EXPECT_EQ(ok.status, 200) << ok.err;
  EXPECT_THAT(ok.body, HasSubstr("X-Content-Type-Options: nosniff"));
  EXPECT_THAT(ok.body, HasSubstr("netprobe_build_info"));

  // No client certificate: the handshake fails (curl's error, no HTTP).
  Curled no_cert =
      Curl({"--cacert", File("ca.pem"), "-u", absl::StrCat("prometheus:", kPassword)},
           Url("/metrics"));
  EXPECT_NE(no_cert.exit_code, 0);
  EXPECT_EQ(no_cert.status, 0);
  // A certificate but no or wrong credentials: 401 asking for Basic.
  std::vector<std::string> no_auth = ClientCert();
  no_auth.push_back("-D-");
  Curled none =
      Curl(no_auth, Url("/probe?module=icmp&target=" + lab_->host(kTarget).ipv4));
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.body, HasSubstr("WWW-Authenticate: Basic realm=\"netprobe\""));
  std::vector<std::string> wrong = ClientCert();
  wrong.insert(wrong.end(), {"-u", "prometheus:wrong"});
  EXPECT_EQ(Curl(wrong, Url("/metrics")).status, 401);
  // Plain HTTP to the TLS port is told so.
  Curled plain = Curl({}, absl::StrCat("http://", metrics_, "/metrics"));
  EXPECT_EQ(plain.status, 400);
  EXPECT_THAT(plain.body, HasSubstr("Client sent an HTTP request to an HTTPS server."));

  good.pop_back();
  good.pop_back();
  EXPECT_GE(Refused(good, "tls_handshake"), 1);
  EXPECT_GE(Refused(good, "unauthorized"), 2);
  EXPECT_EQ(Refused(good, "plain_http"), 1);
}

TEST_F(MetricsWebLabTest, BearerTokensAndRotatedFilesApplyToTheNextConnection) {
  ASSERT_NO_FATAL_FAILURE(WriteWebConfig(
      "tls_server_config:\n  cert_file: agent.pem\n  key_file: agent.key\n"));
  ASSERT_NO_FATAL_FAILURE(StartAgent({"--metrics-token-file", File("tokens")}));
  ASSERT_NO_FATAL_FAILURE(ScrapeWithPrometheus(absl::StrCat(
      "    tls_config:\n      ca_file: ", File("ca.pem"),
      "\n    authorization:\n      credentials_file: ", File("token"), "\n")));

  const std::vector<std::string> ca = {"--cacert", File("ca.pem")};
  auto with_token = [&](const std::string& token) {
    std::vector<std::string> args = ca;
    args.insert(args.end(), {"-H", "Authorization: Bearer " + token});
    return Curl(args, Url("/metrics"));
  };
  EXPECT_EQ(with_token(kToken).status, 200);
  EXPECT_EQ(Curl(ca, Url("/metrics")).status, 401);
  EXPECT_EQ(with_token("metrics-token-00000000000000000").status, 401);

  // A new token file: the new token works at once, the old one no more.
  const std::string next = "metrics-token-next-2b9c7e1f4a";
  WriteSecret("tokens", absl::StrCat("prometheus ", next, "\n"));
  EXPECT_EQ(with_token(next).status, 200);
  EXPECT_EQ(with_token(kToken).status, 401);

  // A new certificate: the next connection presents it, no restart.
  ASSERT_THAT(MakeTestLeaf(dir_, "agent-next", "ca",
                           absl::StrCat("subjectAltName=IP:", lab_->host(kAgent).ipv4,
                                        "\nextendedKeyUsage=serverAuth\n")),
              IsOk());
  WriteSecret("agent.key", Contents("agent-next.key"));
  WriteSecret("agent.pem", Contents("agent-next.pem"));
  std::vector<std::string> verbose = ca;
  verbose.insert(verbose.end(), {"-v", "-H", "Authorization: Bearer " + next});
  Curled rotated = Curl(verbose, Url("/metrics"));
  EXPECT_EQ(rotated.status, 200) << rotated.err;
  EXPECT_THAT(rotated.err, HasSubstr("subject: CN=agent-next"));

  // A broken web config keeps the last good one, and says so.
  std::ofstream(File("web.yml")) << "tls_server_config: {cert_file: agent.pem}\n";
  EXPECT_EQ(with_token(next).status, 200);
  auto logged = agent_->process().WaitForStderr("not reloaded", absl::Seconds(5));
  ASSERT_THAT(logged, IsOk());
  EXPECT_THAT(*logged, HasSubstr("tls_server_config.key_file: missing"));
  EXPECT_THAT(*logged, HasSubstr("the previous web configuration stays in force"));
}

TEST_F(MetricsWebLabTest, ABadWebConfigStopsTheStartNamingTheField) {
  std::ofstream(File("web.yml")) << "tls_server_config:\n  cert_file: agent.pem\n"
                                    "  key_file: agent.key\n  min_version: TLS14\n";
  auto check = RunCommand({"promtool", "check", "web-config", File("web.yml")});
  ASSERT_THAT(check, IsOk());
  EXPECT_NE(check->exit_code, 0) << "promtool agrees it is bad";
  auto run = RunCommand({NETPROBE_AGENT_BIN, "--listen",
                         absl::StrCat("unix:", dir_, "/bad.sock"), "--metrics-listen",
                         "127.0.0.1:0", "--metrics-web-config", File("web.yml")});
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->err,
              HasSubstr("web.yml: tls_server_config.min_version: 'TLS14' is not "
                        "one of TLS10, TLS11, TLS12, TLS13"));
  auto alone = RunCommand({NETPROBE_AGENT_BIN, "--listen",
                           absl::StrCat("unix:", dir_, "/bad.sock"),
                           "--metrics-web-config", File("web.yml")});
  ASSERT_THAT(alone, IsOk());
  EXPECT_EQ(alone->exit_code, 2);
  EXPECT_THAT(alone->err, HasSubstr("need --metrics-listen"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
