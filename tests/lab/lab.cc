#include "tests/lab/lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe::testing {
namespace {

constexpr char kNetnsPrefix[] = "np-";
std::atomic<int> lab_counter{0};

// Deletes lab namespaces whose creating process is gone (a test killed before
// its destructors ran). Names are "np-<pid>-<n>-<role>".
void RemoveAbandonedLabs() {
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (!absl::ConsumePrefix(&name, kNetnsPrefix)) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (parts.size() < 3 || !absl::SimpleAtoi(parts[0], &pid) || pid <= 0) continue;
    if (kill(pid, 0) != 0 && errno == ESRCH) stale.emplace_back(entry->d_name);
  }
  closedir(dir);
  for (const std::string& netns : stale) {
    Ip({"netns", "del", netns}).IgnoreError();
    std::error_code ignored;
    std::filesystem::remove_all(absl::StrCat("/etc/netns/", netns), ignored);
  }
}

}  // namespace

absl::Status Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, absl::Seconds(20));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("`", absl::StrJoin(argv, " "), "` failed: ", result->err));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::CreateWith(
    const std::function<absl::Status(Lab*)>& build) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError("the lab needs root (network namespaces)");
  }
  RemoveAbandonedLabs();
  std::unique_ptr<Lab> lab(new Lab());
  absl::Status status = lab->AddSwitch();
  if (status.ok()) status = build(lab.get());
  if (!status.ok()) return status;  // ~Lab removes whatever was built.
  return lab;
}

absl::Status Lab::AddSwitch() {
  prefix_ = absl::StrCat(kNetnsPrefix, getpid(), "-", lab_counter.fetch_add(1));
  char tmpl[] = "/tmp/netprobe-lab-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return PosixError("mkdtemp", errno);
  dir_ = tmpl;
  switch_netns_ = absl::StrCat(prefix_, "-sw");
  NETPROBE_RETURN_IF_ERROR(Ip({"netns", "add", switch_netns_}));
  created_netns_.push_back(switch_netns_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::Create(int hosts) {
  return CreateWith([&](Lab* lab) { return lab->Build(hosts); });
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::CreateRouted() {
  return CreateWith([](Lab* lab) { return lab->BuildRouted(); });
}

// A new namespace whose interfaces skip IPv6 duplicate address detection: a
// tentative link-local address would hold back neighbour discovery (and so
// the first packets across a router) for a second or two.
absl::Status Lab::AddNetns(const std::string& netns) {
  NETPROBE_RETURN_IF_ERROR(Ip({"netns", "add", netns}));
  created_netns_.push_back(netns);
  for (const char* setting :
       {"net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"}) {
    NETPROBE_RETURN_IF_ERROR(Sysctl(netns, setting));
  }
  return Ip({"-n", netns, "link", "set", "lo", "up"});
}

absl::Status Lab::Sysctl(const std::string& netns, const std::string& setting) {
  auto result = RunCommand({"ip", "netns", "exec", netns, "sysctl", "-qw", setting});
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("sysctl ", setting, ": ", result->err));
  }
  return absl::OkStatus();
}

absl::Status Lab::AddBridge(const std::string& bridge) {
  // Snooping off: without a querier in the lab, whether the bridge forwards a
  // group to a port would depend on report timing; a plain switch floods.
  NETPROBE_RETURN_IF_ERROR(Ip({"-n", switch_netns_, "link", "add", bridge, "type",
                               "bridge", "mcast_snooping", "0"}));
  return Ip({"-n", switch_netns_, "link", "set", bridge, "up"});
}

absl::Status Lab::UnlimitIcmp(const std::string& netns) {
  // The budget: 100,000 a second with as large a burst (the kernel refills
  // it per_sec x jiffies / HZ at a time, in an int).
  for (const char* setting :
       {"net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
        "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=100000"}) {
    NETPROBE_RETURN_IF_ERROR(Sysctl(netns, setting));
  }
  return absl::OkStatus();
}

// Joins `host` (its namespace created when `new_netns`) to `bridge` in the
// switch namespace through a veth whose host side is `ifname`.
absl::Status Lab::AddHost(const std::string& bridge, const std::string& ifname,
                          LabHost* host, const std::string& ipv4, const std::string& ipv6,
                          bool new_netns) {
  if (new_netns) NETPROBE_RETURN_IF_ERROR(AddNetns(host->netns));
  const std::string port = absl::StrCat("p", port_counter_++);
  NETPROBE_RETURN_IF_ERROR(Ip({"-n", switch_netns_, "link", "add", port, "type", "veth",
                               "peer", "name", ifname, "netns", host->netns}));
  ports_.push_back({bridge, host->netns, ifname, port});
  if (bridge.empty()) {
    NETPROBE_RETURN_IF_ERROR(Ip({"-n", switch_netns_, "link", "set", port, "up"}));
  } else {
    NETPROBE_RETURN_IF_ERROR(
        Ip({"-n", switch_netns_, "link", "set", port, "master", bridge, "up"}));
  }
  NETPROBE_RETURN_IF_ERROR(
      Ip({"-n", host->netns, "addr", "add", ipv4, "brd", "+", "dev", ifname}));
  NETPROBE_RETURN_IF_ERROR(
      Ip({"-n", host->netns, "addr", "add", ipv6, "dev", ifname, "nodad"}));
  return Ip({"-n", host->netns, "link", "set", ifname, "up"});
}

absl::Status Lab::BuildRouted() {
  for (const char* bridge : {"br0", "br1"}) NETPROBE_RETURN_IF_ERROR(AddBridge(bridge));
  hosts_.resize(3);
  hosts_[0] = {absl::StrCat(prefix_, "-near"), "198.18.0.10", "2001:2::a"};
  hosts_[1] = {absl::StrCat(prefix_, "-router"), "198.18.0.1", "2001:2::1"};
  hosts_[2] = {absl::StrCat(prefix_, "-far"), "198.18.1.10", "2001:2:0:1::a"};
  NETPROBE_RETURN_IF_ERROR(
      AddHost("br0", "eth0", &hosts_[0], "198.18.0.10/24", "2001:2::a/64", true));
  NETPROBE_RETURN_IF_ERROR(
      AddHost("br0", "eth0", &hosts_[1], "198.18.0.1/24", "2001:2::1/64", true));
  NETPROBE_RETURN_IF_ERROR(
      AddHost("br1", "eth1", &hosts_[1], "198.18.1.1/24", "2001:2:0:1::1/64", false));
  NETPROBE_RETURN_IF_ERROR(
      AddHost("br1", "eth0", &hosts_[2], "198.18.1.10/24", "2001:2:0:1::a/64", true));
  const std::string& router = hosts_[1].netns;
  for (const char* setting :
       {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}) {
    NETPROBE_RETURN_IF_ERROR(Sysctl(router, setting));
  }
  NETPROBE_RETURN_IF_ERROR(UnlimitIcmp(router));
  for (auto [host, v4, v6] : {std::tuple{0, "198.18.0.1", "2001:2::1"},
                              std::tuple{2, "198.18.1.1", "2001:2:0:1::1"}}) {
    NETPROBE_RETURN_IF_ERROR(
        Ip({"-n", hosts_[host].netns, "route", "add", "default", "via", v4}));
    NETPROBE_RETURN_IF_ERROR(
        Ip({"-n", hosts_[host].netns, "-6", "route", "add", "default", "via", v6}));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::CreateChain(int routers) {
  return CreateWith([&](Lab* lab) { return lab->BuildChain(routers); });
}

namespace {

// The chain's addresses on link k: side 1 (toward the source) or 2.
std::string ChainV4(int link, int side) {
  return absl::StrCat("198.18.", link, ".", side);
}
std::string ChainV6(int link, int side) {
  const std::string text = absl::StrFormat("2001:2:0:%x::%d", link, side);
  in6_addr address{};
  char canonical[INET6_ADDRSTRLEN] = {};
  inet_pton(AF_INET6, text.c_str(), &address);
  inet_ntop(AF_INET6, &address, canonical, sizeof(canonical));
  return canonical;
}

}  // namespace

absl::Status Lab::BuildChain(int routers) {
  const int nodes = routers + 2;
  for (int link = 0; link + 1 < nodes; ++link) {
    NETPROBE_RETURN_IF_ERROR(AddBridge(absl::StrCat("br", link)));
  }
  hosts_.resize(nodes);
  for (int n = 0; n < nodes; ++n) {
    const std::string name =
        n == 0 ? "src" : (n == nodes - 1 ? "dst" : absl::StrCat("r", n));
    hosts_[n].netns = absl::StrCat(prefix_, "-", name);
    // A node's address: on the link toward the source (the source: its only one).
    hosts_[n].ipv4 = n == 0 ? ChainV4(0, 1) : ChainV4(n - 1, 2);
    hosts_[n].ipv6 = n == 0 ? ChainV6(0, 1) : ChainV6(n - 1, 2);
    if (n > 0) {
      NETPROBE_RETURN_IF_ERROR(AddHost(absl::StrCat("br", n - 1), "eth0", &hosts_[n],
                                       ChainV4(n - 1, 2) + "/24",
                                       ChainV6(n - 1, 2) + "/64", true));
    }
    if (n < nodes - 1) {
      NETPROBE_RETURN_IF_ERROR(AddHost(absl::StrCat("br", n), n == 0 ? "eth0" : "eth1",
                                       &hosts_[n], ChainV4(n, 1) + "/24",
                                       ChainV6(n, 1) + "/64", n == 0));
    }
    const std::string& netns = hosts_[n].netns;
    NETPROBE_RETURN_IF_ERROR(UnlimitIcmp(netns));
    if (n > 0 && n < nodes - 1) {
      for (const char* setting :
           {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}) {
        NETPROBE_RETURN_IF_ERROR(Sysctl(netns, setting));
      }
    }
    // Toward the target: the next node; back toward the source: the previous.
    if (n < nodes - 1) {
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "route", "add", "default", "via", ChainV4(n, 2)}));
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "-6", "route", "add", "default", "via", ChainV6(n, 2)}));
    } else {
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "route", "add", "default", "via", ChainV4(n - 1, 1)}));
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "-6", "route", "add", "default", "via", ChainV6(n - 1, 1)}));
    }
    for (int link = 0; n > 0 && n < nodes - 1 && link < n - 1; ++link) {
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "route", "add", absl::StrCat("198.18.", link, ".0/24"), "via",
              ChainV4(n - 1, 1)}));
      NETPROBE_RETURN_IF_ERROR(
          Ip({"-n", netns, "-6", "route", "add",
              absl::StrFormat("2001:2:0:%x::/64", link), "via", ChainV6(n - 1, 1)}));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::CreateDiamond() {
  return CreateWith([](Lab* lab) { return lab->BuildDiamond(); });
}

absl::Status Lab::BuildDiamond() {
  for (int link = 0; link <= 5; ++link) {
    NETPROBE_RETURN_IF_ERROR(AddBridge(absl::StrCat("br", link)));
  }
  const char* names[] = {"src", "r1", "m1", "m2", "r4", "dst"};
  const char* shown[] = {"198.18.0.1", "198.18.0.2", "198.18.1.2",
                         "198.18.2.2", "198.18.3.2", "198.18.5.2"};
  hosts_.resize(6);
  for (int n = 0; n < 6; ++n) {
    hosts_[n].netns = absl::StrCat(prefix_, "-", names[n]);
    hosts_[n].ipv4 = shown[n];
    hosts_[n].ipv6 = ChainV6(n, 2);
  }
  // (host, link, side 1 or 2, interface): link k is 198.18.k.0/24.
  const std::tuple<int, int, int, const char*> ports[] = {
      {0, 0, 1, "eth0"}, {1, 0, 2, "eth0"}, {1, 1, 1, "eth1"}, {2, 1, 2, "eth0"},
      {1, 2, 1, "eth2"}, {3, 2, 2, "eth0"}, {2, 3, 1, "eth1"}, {4, 3, 2, "eth0"},
      {3, 4, 1, "eth1"}, {4, 4, 2, "eth1"}, {4, 5, 1, "eth2"}, {5, 5, 2, "eth0"},
  };
  std::vector<bool> made(6, false);
  for (const auto& [host, link, side, ifname] : ports) {
    NETPROBE_RETURN_IF_ERROR(AddHost(absl::StrCat("br", link), ifname, &hosts_[host],
                                     ChainV4(link, side) + "/24",
                                     ChainV6(link, side) + "/64", !made[host]));
    made[host] = true;
  }
  for (int n = 0; n < 6; ++n) {
    NETPROBE_RETURN_IF_ERROR(UnlimitIcmp(hosts_[n].netns));
    if (n >= 1 && n <= 4) {
      NETPROBE_RETURN_IF_ERROR(Sysctl(hosts_[n].netns, "net.ipv4.ip_forward=1"));
    }
  }
  NETPROBE_RETURN_IF_ERROR(
      Sysctl(hosts_[1].netns, "net.ipv4.fib_multipath_hash_policy=1"));
  const std::vector<std::vector<std::string>> routes = {
      {hosts_[0].netns, "route", "add", "default", "via", "198.18.0.2"},
      {hosts_[1].netns, "route", "add", "198.18.5.0/24", "nexthop", "via", "198.18.1.2",
       "nexthop", "via", "198.18.2.2"},
      {hosts_[2].netns, "route", "add", "default", "via", "198.18.3.2"},
      {hosts_[2].netns, "route", "add", "198.18.0.0/24", "via", "198.18.1.1"},
      {hosts_[3].netns, "route", "add", "default", "via", "198.18.4.2"},
      {hosts_[3].netns, "route", "add", "198.18.0.0/24", "via", "198.18.2.1"},
      {hosts_[4].netns, "route", "add", "198.18.0.0/24", "via", "198.18.3.1"},
      {hosts_[5].netns, "route", "add", "default", "via", "198.18.5.1"},
  };
  for (std::vector<std::string> route : routes) {
    route.insert(route.begin(), "-n");
    NETPROBE_RETURN_IF_ERROR(Ip(route));
  }
  return absl::OkStatus();
}

absl::Status Lab::Build(int hosts) {
  NETPROBE_RETURN_IF_ERROR(AddBridge("br0"));
  hosts_.resize(hosts);
  for (int i = 0; i < hosts; ++i) {
    LabHost& host = hosts_[i];
    host.netns = absl::StrCat(prefix_, "-h", i);
    host.ipv4 = absl::StrCat("198.18.0.", 10 + i);
    host.ipv6 = absl::StrFormat("2001:2::%x", 10 + i);
    NETPROBE_RETURN_IF_ERROR(
        AddHost("br0", "eth0", &host, host.ipv4 + "/24", host.ipv6 + "/64", true));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::CreateDelayed(absl::Duration one_way_delay) {
  return CreateWith([&](Lab* lab) { return lab->BuildDelayed(one_way_delay); });
}

absl::Status Lab::OffloadsOff(const std::string& netns, const std::string& ifname) {
  auto result = RunCommand({"ip", "netns", "exec", netns, "ethtool", "-K", ifname, "tx",
                            "off", "tso", "off", "gso", "off", "gro", "off"});
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("ethtool -K ", ifname, ": ", result->err));
  }
  return absl::OkStatus();
}

absl::Status Lab::BuildDelayed(absl::Duration one_way_delay) {
  if (one_way_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a delay line cannot go back in time");
  }
  // The switch namespace only carries frames between the two ports: no
  // IPv6 of its own (router solicitations, MLD) on them.
  NETPROBE_RETURN_IF_ERROR(Sysctl(switch_netns_, "net.ipv6.conf.default.disable_ipv6=1"));
  hosts_.resize(2);
  for (int i = 0; i < 2; ++i) {
    LabHost& host = hosts_[i];
    host.netns = absl::StrCat(prefix_, "-h", i);
    host.ipv4 = absl::StrCat("198.18.0.", 10 + i);
    host.ipv6 = absl::StrFormat("2001:2::%x", 10 + i);
    NETPROBE_RETURN_IF_ERROR(
        AddHost("", "eth0", &host, host.ipv4 + "/24", host.ipv6 + "/64", true));
  }
  for (const Port& port : ports_) {
    NETPROBE_RETURN_IF_ERROR(OffloadsOff(port.netns, port.ifname));
    NETPROBE_RETURN_IF_ERROR(OffloadsOff(switch_netns_, port.port));
  }
  auto line = Process::Start({"ip", "netns", "exec", switch_netns_, kPython,
                              NETPROBE_DELAY_LINE, "--delay-ms",
                              absl::StrCat(absl::ToDoubleMilliseconds(one_way_delay)),
                              ports_[0].port, ports_[1].port});
  if (!line.ok()) return line.status();
  delay_line_.emplace(*std::move(line));
  auto ready = delay_line_->WaitForStdout("ready", absl::Seconds(10));
  if (!ready.ok()) {
    return absl::InternalError(
        absl::StrCat("the delay line did not start: ", ready.status().message(), "; ",
                     delay_line_->err()));
  }
  return absl::OkStatus();
}

absl::Status Lab::ShapeEgress(int host, int64_t bits_per_second) {
  if (bits_per_second < 8000) {
    return absl::InvalidArgumentError(absl::StrCat("rate ", bits_per_second, " bit/s"));
  }
  const std::string& netns = hosts_.at(host).netns;
  const int64_t burst = std::max<int64_t>(bits_per_second / 8 / 1000, 2 * 1514);
  NETPROBE_RETURN_IF_ERROR(Sysctl(netns, "net.ipv4.tcp_limit_output_bytes=32768"));
  auto offloads = RunCommand({"ip", "netns", "exec", netns, "ethtool", "-K", "eth0",
                              "tso", "off", "gso", "off"});
  if (!offloads.ok()) return offloads.status();
  if (offloads->exit_code != 0) {
    return absl::InternalError(absl::StrCat("ethtool -K eth0: ", offloads->err));
  }
  auto result =
      RunCommand({"ip", "netns", "exec", netns, "tc", "qdisc", "replace", "dev", "eth0",
                  "root", "tbf", "rate", absl::StrCat(bits_per_second, "bit"), "burst",
                  absl::StrCat(burst), "limit", "65536"});
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("tc qdisc replace ... tbf: ", result->err));
  }
  return absl::OkStatus();
}

Lab::~Lab() {
  // The delay line first, while its interfaces exist: it prints its counters
  // and exits on SIGTERM (Process's destructor SIGKILLs it otherwise).
  if (delay_line_.has_value()) {
    delay_line_->Signal(SIGTERM);
    delay_line_->Wait(absl::Seconds(5)).IgnoreError();
    delay_line_.reset();
  }
  for (auto it = created_netns_.rbegin(); it != created_netns_.rend(); ++it) {
    Ip({"netns", "del", *it}).IgnoreError();
    std::error_code ignored;
    std::filesystem::remove_all(absl::StrCat("/etc/netns/", *it), ignored);
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::Status Lab::SetNames(int host, const std::string& hosts) const {
  const std::string dir = absl::StrCat("/etc/netns/", hosts_.at(host).netns);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat(dir, ": ", error.message()));
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"hosts", hosts},
        std::pair<std::string, std::string>{"resolv.conf", "nameserver 127.0.0.1\n"}}) {
    std::ofstream out(absl::StrCat(dir, "/", name));
    out << text;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", name));
  }
  return absl::OkStatus();
}

absl::Status Lab::SetHostsFile(int host, const std::string& text) const {
  const std::string dir = absl::StrCat("/etc/netns/", hosts_.at(host).netns);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat(dir, ": ", error.message()));
  const std::string resolv = absl::StrCat(dir, "/resolv.conf");
  if (!std::filesystem::exists(resolv, error)) {
    std::ofstream out(resolv);
    out << "nameserver 127.0.0.1\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", resolv));
  }
  const std::string path = absl::StrCat(dir, "/hosts");
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return PosixError(path, errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(path, errno);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::vector<std::string> Lab::InHost(int host,
                                     const std::vector<std::string>& argv) const {
  std::vector<std::string> out = {"ip", "netns", "exec", hosts_.at(host).netns};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

absl::StatusOr<RunResult> Lab::Exec(int host, const std::vector<std::string>& argv,
                                    absl::Duration timeout) const {
  return RunCommand(InHost(host, argv), timeout);
}

absl::StatusOr<Process> Lab::Spawn(int host, const std::vector<std::string>& argv) const {
  return Process::Start(InHost(host, argv));
}

absl::Status Lab::Nft(int host, const std::string& ruleset) const {
  const std::string path =
      absl::StrCat(dir_, "/nft-", host, "-", lab_counter.fetch_add(1), ".nft");
  FILE* f = fopen(path.c_str(), "we");
  if (f == nullptr) return PosixError(path, errno);
  fputs(ruleset.c_str(), f);
  fclose(f);
  auto result = Exec(host, {"nft", "-f", path});
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("nft -f failed: ", result->err));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Lab::NftCounterPackets(int host) const {
  auto listed = Exec(host, {"nft", "list", "table", "inet", "lab"});
  if (!listed.ok()) return listed.status();
  absl::string_view text = listed->out;
  const size_t at = text.find("counter packets ");
  int packets = 0;
  if (at == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(at + 16, text.find(' ', at + 16) - (at + 16)),
                        &packets)) {
    return absl::InternalError(absl::StrCat("no counter in the lab table: ", text));
  }
  return packets;
}

absl::Status Lab::SetLinkMtu(int link, int mtu) {
  const std::string bridge = absl::StrCat("br", link);
  const std::string text = absl::StrCat(mtu);
  bool found = false;
  for (const Port& port : ports_) {
    if (port.bridge != bridge) continue;
    found = true;
    NETPROBE_RETURN_IF_ERROR(
        Ip({"-n", switch_netns_, "link", "set", port.port, "mtu", text}));
    NETPROBE_RETURN_IF_ERROR(
        Ip({"-n", port.netns, "link", "set", port.ifname, "mtu", text}));
  }
  if (!found) return absl::NotFoundError(absl::StrCat("no link ", link, " in the lab"));
  return Ip({"-n", switch_netns_, "link", "set", bridge, "mtu", text});
}

absl::Status Lab::DropRandomForwarded(int router, int percent) const {
  if (percent < 0 || percent > 100) {
    return absl::InvalidArgumentError(absl::StrCat("loss ", percent, "% is not 0..100"));
  }
  return Nft(router,
             absl::StrCat("table inet lab {\n chain forward {\n"
                          "  type filter hook forward priority 0; policy accept;\n"
                          "  iifname \"eth0\" numgen random mod 100 < ",
                          percent, " counter drop\n }\n}\n"));
}

absl::StatusOr<LabAgent> LabAgent::Start(const Lab& lab, int host,
                                         std::vector<std::string> extra_args,
                                         std::vector<std::string> wrapper) {
  static std::atomic<int> agents{0};
  const std::string socket =
      absl::StrCat(lab.dir(), "/agent-", host, "-", agents.fetch_add(1), ".sock");
  std::vector<std::string> argv = {NETPROBE_AGENT_BIN, "--listen",
                                   absl::StrCat("unix:", socket)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (!wrapper.empty()) {
    // capsh-style: WRAPPER... -c "exec ARGV..." (arguments here need no quoting).
    std::string command = absl::StrCat("exec ", absl::StrJoin(argv, " "));
    argv = wrapper;
    argv.push_back("-c");
    argv.push_back(command);
  }
  auto process = lab.Spawn(host, argv);
  if (!process.ok()) return process.status();
  LabAgent agent(*std::move(process));
  auto line = agent.process_.WaitForStderr("listening on", absl::Seconds(15));
  if (!line.ok()) return line.status();
  agent.address_ = absl::StrCat("unix:", socket);
  absl::string_view rest = *line;
  rest = rest.substr(rest.find("listening on ") + 13);
  agent.bound_ = absl::StrSplit(rest, ' ', absl::SkipEmpty());
  return agent;
}

absl::StatusOr<RunResult> LabAgent::Client(const std::vector<std::string>& args,
                                           absl::Duration timeout) const {
  std::vector<std::string> argv = {NETPROBE_CLIENT_BIN, "--agent", address_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

}  // namespace netprobe::testing
