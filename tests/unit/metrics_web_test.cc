// The metrics endpoint's web config file (exporter-toolkit's format), its
// TLS and its basic / bearer auth, against a server on loopback (port 0).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/metrics/http_access.h"
#include "agent/metrics/http_endpoint.h"
#include "agent/metrics/http_listen_address.h"
#include "agent/metrics/web_config.h"
#include "agent/net/unique_fd.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/test_certificates.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::kCaPem;
using ::netprobe::testing::kLeafKey;
using ::netprobe::testing::kLeafPem;
using ::netprobe::testing::kOtherKey;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

// `htpasswd -nbBC 4 prometheus s3cret` (cost 4: fast tests).
constexpr char kHash[] = "$2y$04$0bW7Sfx6ustzqn8HG2QBo.SAxgYp/0KvUCW/HLCiC5ZO9I4M/E2dC";

absl::Status ParseError(const std::string& yaml) {
  return ParseWebConfig(yaml, "/etc/netprobe/web.yml").status();
}

TEST(ParseWebConfigTest, TheToolkitsFieldsAndRelativePaths) {
  auto config = ParseWebConfig(absl::StrCat(R"(
tls_server_config:
  cert_file: tls/server.crt
  key_file: /keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
http_server_config:
  http2: true
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: ')",
                                            kHash, "'\n"),
                               "/etc/netprobe/web.yml");
  ASSERT_THAT(config, IsOk());
  ASSERT_TRUE(config->tls.has_value());
  EXPECT_EQ(config->tls->cert_file, "/etc/netprobe/tls/server.crt");
  EXPECT_EQ(config->tls->key_file, "/keys/server.key");
  EXPECT_EQ(config->tls->client_ca_file, "/etc/netprobe/ca.crt");
  EXPECT_EQ(config->tls->client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(config->tls->min_version, 0x0304);
  EXPECT_EQ(config->headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(config->basic_auth_users.at("prometheus"), kHash);
  EXPECT_EQ(FilesOf(*config).size(), 3u);
}

TEST(ParseWebConfigTest, EmptyFileOrNoCertificateIsPlainHttp) {
  for (const char* yaml : {"", "# nothing\n", "tls_server_config:\n", "{}"}) {
    auto config = ParseWebConfig(yaml, "web.yml");
    ASSERT_THAT(config, IsOk()) << yaml;
    EXPECT_FALSE(config->tls.has_value()) << yaml;
    EXPECT_TRUE(config->basic_auth_users.empty());
  }
}

TEST(ParseWebConfigTest, ErrorsNameTheFileTheFieldAndTheLimit) {
  const std::pair<std::string, std::string> cases[] = {
      {"tls_server_config: [1]", "tls_server_config: must be a mapping"},
      {"tls_sever_config: {}",
       "tls_sever_config: unknown field; known: tls_server_config"},
      {"tls_server_config: {cert_file: a}", "tls_server_config.key_file: missing"},
      {"tls_server_config: {key_file: a}", "tls_server_config.cert_file: missing"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}",
       "tls_server_config.min_version: 'TLS14' is not one of TLS10, TLS11, TLS12, TLS13"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, "
       "max_version: TLS12}",
       "max_version: is below min_version"},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: Always}",
       "client_auth_type: 'Always' is not one of NoClientCert"},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: "
       "RequireAndVerifyClientCert}",
       "client_ca_file: missing: client_auth_type verifies"},
      {"tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}",
       "client_ca_file: given, but client_auth_type does not verify"},
      {"tls_server_config: {cert_file: a, key_file: b, cipher_suites: [x]}",
       "tls_server_config.cipher_suites: not supported by this agent"},
      {"http_server_config: {http2: maybe}",
       "http_server_config.http2: must be true or false"},
      {"http_server_config: {headers: {Content-Type: x}}",
       "headers.Content-Type: is set by the agent itself"},
      {"http_server_config: {headers: {'bad name': x}}", "is not a valid header name"},
      {"basic_auth_users: {alice: secret}",
       "basic_auth_users.alice: is not a bcrypt hash"},
      {"basic_auth_users: [alice]", "basic_auth_users: must be a mapping"},
      {"basic_auth_users: {alice: '$2y$31$0bW7Sfx6ustzqn8HG2QBo.SAxgYp/0KvUCW/"
       "HLCiC5ZO9I4M/E2dC'}",
       "bcrypt cost 31 is outside 4..16"},
      {"tls_server_config: {cert_file: a\n", "not valid YAML: line"},
  };
  for (const auto& [yaml, message] : cases) {
    EXPECT_THAT(ParseError(yaml),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(HasSubstr("/etc/netprobe/web.yml: "),
                                          HasSubstr(message))))
        << yaml;
  }
}

TEST(ParseWebConfigTest, AHashIsNeverInTheMessage) {
  absl::Status status = ParseError("basic_auth_users: {alice: $2y$10$short}");
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("short")));
}

// A directory of files for one test, removed after it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/netprobe-web-XXXXXX";
    path_ = mkdtemp(name);
  }
  ~TempDir() { [[maybe_unused]] int rc = system(absl::StrCat("rm -rf ", path_).c_str()); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string file = absl::StrCat(path_, "/", name);
    std::ofstream(file + ".tmp") << text;
    rename((file + ".tmp").c_str(), file.c_str());  // a new inode, as tools replace files
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(BuildTlsContextTest, AKeyOfAnotherCertificateIsRefusedNamingBothFiles) {
  TempDir dir;
  WebTlsConfig tls;
  tls.cert_file = dir.Write("server.crt", kLeafPem);
  tls.key_file = dir.Write("server.key", kOtherKey);
  EXPECT_THAT(BuildTlsContext(tls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("server.key (the key of cert_file "),
                                        HasSubstr("key values mismatch"))));
  tls.cert_file = dir.path() + "/missing.crt";
  EXPECT_THAT(BuildTlsContext(tls),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tls_server_config.cert_file " + tls.cert_file)));
}

class MetricsWebTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsHttpServer> Serve(const std::string& web_config,
                                           HttpAccess::BearerCheck bearer = nullptr) {
    const std::string file = web_config.empty() ? "" : dir_.Write("web.yml", web_config);
    auto access = HttpAccess::Open(file, std::move(bearer));
    EXPECT_THAT(access, IsOk());
    if (!access.ok()) return nullptr;
    HttpRoutes routes;
    routes["/metrics"] = [](const HttpQuery&) {
      return HttpReply{200, "text/plain", "ok\n"};
    };
    HttpServerOptions options;
    options.access = std::move(*access);
    options.read_timeout = absl::Seconds(2);
    options.on_refused = [this](absl::string_view reason) {
      absl::MutexLock lock(&mu_);
      refused_.emplace_back(reason);
    };
    auto server = MetricsHttpServer::Start("127.0.0.1:0", std::move(routes), options);
    EXPECT_THAT(server, IsOk());
    if (!server.ok()) return nullptr;
    address_ = *ParseHttpListenAddress((*server)->bound());
    return *std::move(server);
  }
  std::string TlsConfig(const std::string& extra = "") {
    return absl::StrCat(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n", extra);
  }
  void SetUp() override {
    dir_.Write("server.crt", kLeafPem);
    dir_.Write("server.key", kLeafKey);
    dir_.Write("ca.crt", kCaPem);
  }
  std::unique_ptr<httplib::SSLClient> Tls() {
    auto client = std::make_unique<httplib::SSLClient>(address_.host, address_.port);
    client->enable_server_certificate_verification(false);  // CN=agent1, no IP SAN
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    return client;
  }
  std::unique_ptr<httplib::Client> Plain() {
    auto client = std::make_unique<httplib::Client>(address_.host, address_.port);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
    return client;
  }
  std::vector<std::string> Refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }

  TempDir dir_;
  HttpListenAddress address_;
  absl::Mutex mu_;
  std::vector<std::string> refused_ ABSL_GUARDED_BY(mu_);
};

TEST_F(MetricsWebTest, TlsServesAndPlainHttpIsToldItIsTheWrongProtocol) {
  auto server =
      Serve(TlsConfig("http_server_config:\n  headers:\n    X-Frame-Options: deny\n"));
  ASSERT_NE(server, nullptr);
  httplib::Result res = Tls()->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
  EXPECT_EQ(res->get_header_value("X-Frame-Options"), "deny");

  httplib::Result plain = Plain()->Get("/metrics");
  ASSERT_TRUE(plain) << httplib::to_string(plain.error());
  EXPECT_EQ(plain->status, 400);
  EXPECT_THAT(plain->body, HasSubstr("HTTP request to an HTTPS server"));
  EXPECT_THAT(Refused(), ::testing::ElementsAre("plain_http"));
}

TEST_F(MetricsWebTest, AClientCertificateIsRequiredAndVerified) {
  auto server = Serve(TlsConfig(
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
  ASSERT_NE(server, nullptr);
  httplib::Result without = Tls()->Get("/metrics");
  EXPECT_FALSE(without && without->status == 200);
  // The test leaf is signed by the CA: as a client certificate it passes.
  httplib::SSLClient with(address_.host, address_.port, dir_.path() + "/server.crt",
                          dir_.path() + "/server.key");
  with.enable_server_certificate_verification(false);
  httplib::Result res = with.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(Refused(), ::testing::ElementsAre("tls_handshake"));
}

TEST_F(MetricsWebTest, BasicAuthUsersAndBearerTokens) {
  auto server =
      Serve(absl::StrCat(TlsConfig(), "basic_auth_users:\n  prometheus: '", kHash, "'\n"),
            [](absl::string_view token) { return token == "tok-123"; });
  ASSERT_NE(server, nullptr);
  auto client = Tls();
  httplib::Result none = client->Get("/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value_count("WWW-Authenticate"), 2u);
  EXPECT_EQ(none->body, "unauthorized: valid credentials are required\n");

  client->set_basic_auth("prometheus", "wrong");
  EXPECT_EQ(client->Get("/metrics")->status, 401);
  client->set_basic_auth("nobody", "s3cret");
  EXPECT_EQ(client->Get("/metrics")->status, 401);
  client->set_basic_auth("prometheus", "s3cret");
  EXPECT_EQ(client->Get("/metrics")->status, 200);
  EXPECT_EQ(client->Get("/metrics")->status, 200);  // from the cache
  // An unknown path is 404 only once authorized: nothing is learnt before.
  EXPECT_EQ(client->Get("/nope")->status, 404);

  auto bearer = Tls();
  bearer->set_bearer_token_auth("tok-123");
  EXPECT_EQ(bearer->Get("/metrics")->status, 200);
  bearer->set_bearer_token_auth("tok-124");
  EXPECT_EQ(bearer->Get("/metrics")->status, 401);
  EXPECT_EQ(Refused().size(), 4u);
}

TEST_F(MetricsWebTest, TheFileIsFollowed) {
  const std::string file = dir_.Write("web.yml", "# plain\n");
  auto access = HttpAccess::Open(file, nullptr);
  ASSERT_THAT(access, IsOk());
  EXPECT_FALSE((*access)->ForConnection()->auth_required());
  dir_.Write("web.yml", absl::StrCat("basic_auth_users:\n  prometheus: '", kHash, "'\n"));
  std::shared_ptr<const HttpAccess::Snapshot> now = (*access)->ForConnection();
  EXPECT_TRUE(now->auth_required());
  dir_.Write("web.yml", "basic_auth_users: [broken\n");
  EXPECT_TRUE((*access)->ForConnection()->auth_required()) << "the last good one stays";
  EXPECT_EQ((*access)->ForConnection(), now);
  // A replaced certificate is a change too.
  dir_.Write("web.yml", TlsConfig());
  std::shared_ptr<const HttpAccess::Snapshot> tls = (*access)->ForConnection();
  ASSERT_NE(tls->tls, nullptr);
  dir_.Write("server.key", kOtherKey);  // does not match: not taken
  EXPECT_EQ((*access)->ForConnection(), tls);
  dir_.Write("server.key", kLeafKey);
  EXPECT_NE((*access)->ForConnection(), tls);
}

TEST(HttpAccessTest, ABadFileAtStartIsAnError) {
  auto access = HttpAccess::Open("/nonexistent/web.yml", nullptr);
  ASSERT_FALSE(access.ok());
  EXPECT_THAT(access.status().message(),
              HasSubstr("--metrics-web-config /nonexistent/web.yml"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
