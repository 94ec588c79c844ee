#include "tests/lab/mesh_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/net/monotonic_clock.h"
#include "common/posix_error.h"
#include "tests/lab/netns_socket.h"

namespace netprobe::testing {
namespace {

// A Duration message's text form.
std::string DurationText(absl::Duration d) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  return absl::StrCat("{ seconds: ", nanos / 1000000000, " nanos: ", nanos % 1000000000,
                      " }");
}

// Parses `{k="v",...}` at the start of `*rest` into `labels`, consuming it.
bool ParseLabels(absl::string_view* rest, std::map<std::string, std::string>* labels) {
  if (!absl::ConsumePrefix(rest, "{")) return false;
  while (true) {
    if (absl::ConsumePrefix(rest, "}")) return true;
    const size_t eq = rest->find("=\"");
    if (eq == absl::string_view::npos) return false;
    std::string key(absl::StripAsciiWhitespace(rest->substr(0, eq)));
    rest->remove_prefix(eq + 2);
    std::string value;
    while (true) {
      if (rest->empty()) return false;
      const char c = rest->front();
      rest->remove_prefix(1);
      if (c == '"') break;
      if (c == '\\') {
        if (rest->empty()) return false;
        const char e = rest->front();
        rest->remove_prefix(1);
        value.push_back(e == 'n' ? '\n' : e);
      } else {
        value.push_back(c);
      }
    }
    (*labels)[std::move(key)] = std::move(value);
    absl::ConsumePrefix(rest, ",");
  }
}

}  // namespace

absl::StatusOr<std::vector<MetricSample>> ParseExposition(const std::string& text) {
  std::vector<MetricSample> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    MetricSample sample;
    absl::string_view rest = line;
    const size_t name_end = rest.find_first_of("{ ");
    if (name_end == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("exposition line: '", line, "'"));
    }
    sample.name = std::string(rest.substr(0, name_end));
    rest.remove_prefix(name_end);
    if (rest.front() == '{' && !ParseLabels(&rest, &sample.labels)) {
      return absl::InvalidArgumentError(
          absl::StrCat("exposition line: bad labels: '", line, "'"));
    }
    rest = absl::StripLeadingAsciiWhitespace(rest);
    // The value, then an optional timestamp.
    const absl::string_view value = rest.substr(0, rest.find(' '));
    if (value == "+Inf") {
      sample.value = HUGE_VAL;
    } else if (value == "-Inf") {
      sample.value = -HUGE_VAL;
    } else if (!absl::SimpleAtod(value, &sample.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("exposition line: bad value: '", line, "'"));
    }
    out.push_back(std::move(sample));
  }
  return out;
}

std::vector<MetricSample> Select(const std::vector<MetricSample>& samples,
                                 const std::string& name,
                                 const std::map<std::string, std::string>& labels) {
  std::vector<MetricSample> out;
  for (const MetricSample& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(sample);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MeshLab>> MeshLab::Start(const MeshLabOptions& options) {
  if (options.agents < 1) return absl::InvalidArgumentError("MeshLab: agents < 1");
  std::unique_ptr<MeshLab> mesh(new MeshLab());
  mesh->options_ = options;
  auto lab = Lab::Create(options.agents + options.extra_hosts);
  if (!lab.ok()) return lab.status();
  mesh->lab_ = *std::move(lab);
  std::vector<int> all;
  for (int i = 0; i < options.agents; ++i) all.push_back(i);
  if (absl::Status s = mesh->SetMeshMembers(all); !s.ok()) return s;
  mesh->agents_.resize(options.agents);
  mesh->metrics_.resize(options.agents);
  for (int i = 0; i < options.agents; ++i) {
    mesh->config_paths_.push_back(
        absl::StrCat(mesh->lab_->dir(), "/mesh-agent-", i, ".textproto"));
    if (absl::Status s = mesh->WriteConfig(i, mesh->ConfigText(i)); !s.ok()) return s;
  }
  for (int i = 0; i < options.agents; ++i) {
    if (absl::Status s = mesh->StartAgent(i); !s.ok()) return s;
  }
  return mesh;
}

std::string MeshLab::ConfigText(int i) const {
  // Not a raw text proto literal: clang-format would reflow it.
  std::string kinds;
  if (options_.ping) absl::StrAppend(&kinds, "    ping: true\n");
  if (options_.udp_echo)
    absl::StrAppend(&kinds, "    udp_echo_port: ", kMeshUdpEchoPort, "\n");
  if (options_.tcp) absl::StrAppend(&kinds, "    tcp_port: ", kMeshTcpPort, "\n");
  return absl::StrCat(
      "udp_echo: \"", address(i), ":", kMeshUdpEchoPort, "\"\n", "metrics_listen: \"",
      address(i), ":0\"\n", options_.config_fields, "\n",
      "scheduled_probes {\n"
      "  name: \"mesh\"\n"
      "  interval ",
      DurationText(options_.interval), "\n",
      "  labels { key: \"fleet\" value: \"lab\" }\n", options_.entry_fields, "\n",
      "  mesh {\n"
      "    peers: \"",
      kMeshName, "\"\n", "    family: ADDRESS_FAMILY_IPV4\n", "    timeout ",
      DurationText(options_.timeout), "\n", kinds, options_.mesh_fields, "\n",
      "  }\n}\n");
}

absl::Status MeshLab::WriteConfig(int i, const std::string& text) {
  std::ofstream out(config_paths_.at(i), std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    return absl::InternalError(absl::StrCat("cannot write ", config_paths_.at(i)));
  return absl::OkStatus();
}

absl::Status MeshLab::StartAgent(int i) {
  if (agents_.at(i) != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("mesh agent ", i, " runs already"));
  }
  auto agent =
      LabAgent::Start(*lab_, i,
                      {"--config", config_paths_.at(i), "--listen",
                       absl::StrCat(address(i), ":", kMeshTcpPort), "--insecure"});
  if (!agent.ok()) {
    return absl::Status(agent.status().code(),
                        absl::StrCat("mesh agent ", i, ": ", agent.status().message()));
  }
  auto owned = std::make_unique<LabAgent>(*std::move(agent));
  auto line = owned->process().WaitForStderr("metrics on http://", absl::Seconds(10));
  if (!line.ok()) return line.status();
  const std::string rest = line->substr(line->find("http://") + 7);
  metrics_.at(i) = rest.substr(0, rest.find("/metrics"));
  agents_.at(i) = std::move(owned);
  return absl::OkStatus();
}

absl::Status MeshLab::StopAgent(int i) {
  if (agents_.at(i) == nullptr) return absl::OkStatus();
  Process& process = agents_.at(i)->process();
  process.Signal(SIGTERM);
  auto code = process.Wait(absl::Seconds(10));
  if (!code.ok()) return code.status();
  agents_.at(i).reset();
  return absl::OkStatus();
}

absl::StatusOr<std::string> MeshLab::Reload(int i) {
  if (agents_.at(i) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("mesh agent ", i, " is stopped"));
  }
  Process& process = agents_.at(i)->process();
  process.Drain(absl::ZeroDuration());
  const size_t from = process.err().size();
  process.Signal(SIGHUP);
  const absl::Duration deadline = MonotonicNow() + absl::Seconds(10);
  while (MonotonicNow() < deadline) {
    process.Drain(absl::Milliseconds(100));
    const std::string& err = process.err();
    const size_t pos = err.find("SIGHUP: ", from);
    if (pos == std::string::npos) continue;
    // The outcome line, not the token one ("SIGHUP: tokens ...").
    const size_t begin =
        err.rfind('\n', pos) == std::string::npos ? 0 : err.rfind('\n', pos) + 1;
    const size_t end = err.find('\n', pos);
    if (end == std::string::npos) continue;
    return err.substr(begin, end - begin);
  }
  return absl::DeadlineExceededError(
      absl::StrCat("mesh agent ", i, " logged no SIGHUP outcome in 10 s; stderr:\n",
                   process.err().substr(from)));
}

std::string MeshLab::HostsText(const std::vector<int>& members) const {
  std::string text = "127.0.0.1 localhost\n::1 localhost\n";
  for (int m : members) absl::StrAppend(&text, address(m), " ", kMeshName, "\n");
  return text;
}

absl::Status MeshLab::SetMeshMembers(const std::vector<int>& members) {
  const std::string text = HostsText(members);
  for (int h = 0; h < lab_->size(); ++h) {
    if (absl::Status s = lab_->SetHostsFile(h, text); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MeshLab::ScrapeText(int i) {
  if (agents_.at(i) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("mesh agent ", i, " is stopped"));
  }
  agents_.at(i)->process().Drain(absl::ZeroDuration());
  const std::string& hostport = metrics_.at(i);
  const size_t colon = hostport.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(hostport.substr(colon + 1), &port)) {
    return absl::InternalError(absl::StrCat("metrics address '", hostport, "'"));
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    return absl::InternalError(absl::StrCat("metrics address '", hostport, "'"));
  }
  auto fd = OpenSocketInNetns(lab_->host(i).netns, AF_INET, SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  // Blocking I/O bounded by the socket timeouts (connect obeys SO_SNDTIMEO).
  timeval limit{5, 0};
  setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  if (connect(fd->get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    return PosixError(absl::StrCat("connect ", hostport), errno);
  }
  const std::string request = absl::StrCat("GET /metrics HTTP/1.1\r\nHost: ", hostport,
                                           "\r\nConnection: close\r\n\r\n");
  if (send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return PosixError(absl::StrCat("send to ", hostport), errno);
  }
  std::string response;
  char buffer[65536];
  while (true) {
    const ssize_t n = recv(fd->get(), buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(absl::StrCat("recv from ", hostport), errno);
    if (n == 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  const size_t header_end = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.1 200") || header_end == std::string::npos) {
    return absl::InternalError(absl::StrCat("GET http://", hostport, "/metrics: '",
                                            response.substr(0, 200), "'"));
  }
  if (absl::StrContains(absl::AsciiStrToLower(response.substr(0, header_end)),
                        "transfer-encoding: chunked")) {
    return absl::UnimplementedError("chunked /metrics response");
  }
  return response.substr(header_end + 4);
}

absl::StatusOr<std::vector<MetricSample>> MeshLab::Scrape(int i) {
  auto text = ScrapeText(i);
  if (!text.ok()) return text.status();
  return ParseExposition(*text);
}

}  // namespace netprobe::testing
