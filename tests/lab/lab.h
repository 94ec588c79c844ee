#ifndef NETPROBE_TESTS_LAB_LAB_H_
#define NETPROBE_TESTS_LAB_LAB_H_

#include <google/protobuf/duration.pb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::testing {

// The foreign tools the lab tests run (scripts/install-deps.sh installs them).
inline constexpr char kPython[] = "/usr/bin/python3";
inline constexpr char kTcpdump[] = "/usr/bin/tcpdump";
inline constexpr char kTraceroute[] = "/usr/bin/traceroute";
inline constexpr char kTracepath[] = "/usr/bin/tracepath";
// As root, mtr takes any interval above 0 and lasts about count x interval
// plus its grace time (5 s by default): `mtr --report -n -c 200 -i 0.01
// --gracetime 1` about 3 s in the lab (-i 0.1: 26 s).
inline constexpr char kMtr[] = "/usr/bin/mtr";

// A reported duration in milliseconds.
inline double Ms(const google::protobuf::Duration& d) {
  return d.seconds() * 1e3 + d.nanos() / 1e6;
}

// One lab host: a network namespace with eth0 on the lab's bridge.
struct LabHost {
  std::string netns;
  std::string ipv4;  // 198.18.0.(10 + i), /24
  std::string ipv6;  // 2001:2::(10 + i) in hex, /64 (RFC 5180 benchmarking range)
};

// A small network of namespaces on one machine: a "switch" namespace holding
// a bridge, and N host namespaces each joined to it by a veth pair (eth0 on
// the host side). Names carry this process's pid and a counter, so labs of
// concurrent test runs never collide; the destructor deletes every namespace
// (and with them every veth), and Create() first removes labs left behind by
// test processes that no longer exist. Traffic stays inside the lab.
// Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN).
class Lab {
 public:
  static absl::StatusOr<std::unique_ptr<Lab>> Create(int hosts);

  // Routers in every layout below forward and send ICMP errors without rate
  // limits: none per destination (net.ipv4.icmp_ratelimit,
  // net.ipv6.icmp.ratelimit) nor the namespace's budget for both families
  // (net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst, 1,000/s and 50 by
  // default); so do the hosts at the ends (port unreachables).
  //
  // Two subnets joined by a router, for errors from routers:
  //   host 0 "near"   198.18.0.10, 2001:2::a       default via the router
  //   host 1 "router" 198.18.0.1,  2001:2::1       on the near bridge, and
  //                   198.18.1.1,  2001:2:0:1::1   on the far bridge (eth1)
  //   host 2 "far"    198.18.1.10, 2001:2:0:1::a   default via the router
  static absl::StatusOr<std::unique_ptr<Lab>> CreateRouted();

  // A chain of `routers` router namespaces between a source and a target,
  // one bridge br<k> and subnet per link k (0..routers): 198.18.k.0/24 and
  // 2001:2:0:k::/64, the node on the source's side .1 (::1), the other .2
  // (::2):
  //   host 0             "src"    198.18.0.1, 2001:2::1, default via 198.18.0.2
  //   host r (1..routers) "r<r>"  eth0 198.18.(r-1).2 (its host() address: the
  //                               one traceroute shows), eth1 198.18.r.1
  //   host routers + 1   "dst"    198.18.<routers>.2, default via the last router
  // Addresses are in canonical text (inet_ntop), as tools print them.
  static absl::StatusOr<std::unique_ptr<Lab>> CreateChain(int routers);

  // An ECMP diamond (IPv4): the source, a router splitting traffic to the
  // target's subnet over two middle routers (a multipath route, L4 hash:
  // fib_multipath_hash_policy=1), a router joining them, the target:
  //   host 0 "src" 198.18.0.1      host 1 "r1"  198.18.0.2
  //   host 2 "m1"  198.18.1.2      host 3 "m2"  198.18.2.2
  //   host 4 "r4"  198.18.3.2      host 5 "dst" 198.18.5.2
  // (each host's address as traceroute shows it). Answers come back through
  // m1 from r4 and the target, through each middle router from itself.
  static absl::StatusOr<std::unique_ptr<Lab>> CreateDiamond();

  // Two hosts on one subnet, as in Create(2) (host 0 198.18.0.10, 2001:2::a;
  // host 1 198.18.0.11, 2001:2::b), whose link has a constant delay: their
  // veths end in the switch namespace without a bridge, and a delay line
  // (tests/lab/delay_line.py, started here and stopped by the destructor)
  // forwards every frame between the two ends `one_way_delay` late, each way,
  // in order and without loss: ping RTT is 2 x one_way_delay + 0.5..1 ms
  // (each frame leaves 0..0.25 ms late: the line batches its sends).
  // tc netem would do this, but this kernel has no netem (nor fq). The
  // veths on the path carry MTU-sized frames with their checksums filled in
  // (ethtool: tx checksumming, TSO, GSO, GRO off); with offloads on no TCP
  // connection completes through the line. Rate limits: ShapeEgress.
  static absl::StatusOr<std::unique_ptr<Lab>> CreateDelayed(absl::Duration one_way_delay);
  ~Lab();

  const LabHost& host(int i) const { return hosts_.at(i); }
  int size() const { return static_cast<int>(hosts_.size()); }
  const std::string& switch_netns() const { return switch_netns_; }
  // A private directory for sockets and files of this lab, removed with it.
  const std::string& dir() const { return dir_; }

  // Runs argv inside host i's namespace (`ip netns exec`).
  absl::StatusOr<RunResult> Exec(int host, const std::vector<std::string>& argv,
                                 absl::Duration timeout = absl::Seconds(30)) const;
  absl::StatusOr<Process> Spawn(int host, const std::vector<std::string>& argv) const;
  // Runs `nft -f -` semantics: applies a ruleset text inside host i.
  absl::Status Nft(int host, const std::string& ruleset) const;
  // The packets counted by the one `counter` of host i's `inet lab` table.
  absl::StatusOr<int> NftCounterPackets(int host) const;

  // Sets the MTU of link `link` (bridge br<link>, in every layout): both
  // ends of each veth on it and the bridge. In CreateChain, link k joins
  // node k and node k + 1: SetLinkMtu(2, 1400) in a 3-router chain puts a
  // 1,400-byte link between r2 and r3, and r2 answers larger packets that
  // may not be fragmented (DF, and all of IPv6) with fragmentation needed /
  // packet too big, mtu 1400 (`tracepath -n` shows "pmtu 1400" on its TTL 3
  // line, from r2's address, then r3 at TTL 3). Call it before the traffic;
  // below 1280 the link loses IPv6. NOT_FOUND when there is no such link.
  absl::Status SetLinkMtu(int link, int mtu);

  // Limits what host i sends by its eth0 to `bits_per_second` (counting
  // Ethernet frames: TCP goodput with 1500-byte frames is at most
  // 1448 / 1514 of it, 95.6 Mbit/s at 100 Mbit/s), with a token bucket on
  // the interface (`tc qdisc replace dev eth0 root tbf rate R burst B
  // limit 65536`), like a slower link behind the host's NIC:
  //  - burst B: 1 ms at the rate, at least two full frames (3,028 bytes);
  //    bursts of 3,028 and 12,500 bytes measured the same goodput.
  //  - limit 64 KiB queued: UDP beyond the rate is lost, as on a real
  //    bottleneck, instead of blocking its sender: the queue holds less
  //    than a UDP socket's default send buffer (212,992 bytes, counted in
  //    skb truesize) can have in flight. Measured: iperf3 -u -b 50M into
  //    20 Mbit/s loses 60.6 % with limit 65536, nothing with 80000 (the
  //    sender blocks at 19.7 Mbit/s).
  //  - the host's TCP small queues limit (net.ipv4.tcp_limit_output_bytes,
  //    4 MiB here) goes down to 32 KiB, so one socket never fills the 64 KiB
  //    queue (with 4 MiB a 100 Mbit/s stream lost ~200 segments to it in
  //    5 s; with 32 KiB none, same goodput).
  //  - TSO and GSO off on eth0: the bucket sees the frames the wire would.
  // Measured, iperf3 receiver: 95.6 Mbit/s in 2 s at 100 Mbit/s on
  // Create(2)'s bridge; through CreateDelayed(10 ms), -t 3: 92.4..92.7 at
  // 100 Mbit/s (94.0 over 5 s: slow start), 18.4..18.9 at 20 Mbit/s.
  absl::Status ShapeEgress(int host, int64_t bits_per_second);

  // Host `router` drops `percent` % of the packets it forwards that came in
  // on its eth0 (in CreateChain and for the first router of CreateDiamond:
  // from the source's side, toward the target), chosen at random
  // (nftables numgen), and counts them: NftCounterPackets(router) is how
  // many it dropped (a rule in its `inet lab` table, chain `forward`; add
  // no other counter there). Probes to the hops beyond it are lost at
  // about `percent` %; its own answers (time exceeded, port unreachable)
  // and every answer on the way back are not touched.
  absl::Status DropRandomForwarded(int router, int percent) const;

  // Names for `ip netns exec` in host i (its /etc/netns/<netns>/ files, bind
  // mounted over /etc for processes started after this): `hosts` as its
  // /etc/hosts, and a resolv.conf whose only name server is the namespace's
  // own loopback, so no lookup leaves the lab (names not in `hosts` fail at
  // once). Removed with the lab.
  absl::Status SetNames(int host, const std::string& hosts) const;

  // Rewrites host i's /etc/netns/<netns>/hosts in place (truncate, then one
  // write: the same inode, so the bind mount of a process already running in
  // the host sees the new text at its next lookup; a rename would not be
  // seen). Writes the lab's resolv.conf (as SetNames) when there is none yet.
  // A reader between the truncate and the write sees an empty file.
  absl::Status SetHostsFile(int host, const std::string& text) const;

  // The argv prefix that runs a command in host i.
  std::vector<std::string> InHost(int host, const std::vector<std::string>& argv) const;

 private:
  Lab() = default;
  // Checks for root, removes abandoned labs, then runs `build` on a new lab.
  static absl::StatusOr<std::unique_ptr<Lab>> CreateWith(
      const std::function<absl::Status(Lab*)>& build);
  // The lab's name prefix, its directory and the switch namespace (every
  // layout's bridges live there); runs before each Build*.
  absl::Status AddSwitch();
  absl::Status Build(int hosts);
  absl::Status BuildRouted();
  absl::Status BuildChain(int routers);
  absl::Status BuildDiamond();
  absl::Status BuildDelayed(absl::Duration one_way_delay);
  // `bridge` empty: the switch side stays unbridged.
  absl::Status AddHost(const std::string& bridge, const std::string& ifname,
                       LabHost* host, const std::string& ipv4, const std::string& ipv6,
                       bool new_netns);
  absl::Status Sysctl(const std::string& netns, const std::string& setting);
  // A bridge in the switch namespace, multicast snooping off.
  absl::Status AddBridge(const std::string& bridge);
  // The ICMP limits (see above) off in `netns`.
  absl::Status UnlimitIcmp(const std::string& netns);
  absl::Status AddNetns(const std::string& netns);
  // ethtool -K: tx checksumming, TSO, GSO and GRO off on `ifname`.
  absl::Status OffloadsOff(const std::string& netns, const std::string& ifname);

  std::string prefix_;
  std::string switch_netns_;
  std::vector<LabHost> hosts_;
  std::vector<std::string> created_netns_;
  // One per AddHost: a host's interface and its port on a bridge.
  struct Port {
    std::string bridge;
    std::string netns;
    std::string ifname;
    std::string port;  // in the switch namespace
  };
  std::vector<Port> ports_;
  int port_counter_ = 0;
  std::string dir_;
  // CreateDelayed's forwarder in the switch namespace.
  std::optional<Process> delay_line_;
};

// Runs `ip ARGS...` and fails with its stderr when it exits non-zero.
absl::Status Ip(const std::vector<std::string>& args);

// The real netprobe-agent, started in a lab host and listening on a unix
// socket in the lab's directory (plus whatever `extra_args` add).
class LabAgent {
 public:
  // `wrapper` runs the agent through another command, e.g.
  // {"capsh", "--drop=cap_net_raw", "--"} (the agent path follows it as
  // `-c 'exec AGENT ...'`).
  static absl::StatusOr<LabAgent> Start(const Lab& lab, int host,
                                        std::vector<std::string> extra_args = {},
                                        std::vector<std::string> wrapper = {});

  // "unix:/.../agent-<host>.sock"
  const std::string& address() const { return address_; }
  // Listen addresses as the agent logged them ("unix:/...", "198.18.0.10:40123").
  const std::vector<std::string>& bound() const { return bound_; }
  Process& process() { return process_; }

  // Runs the real client (`netprobe --agent <address> ARGS...`) in the root
  // namespace; the unix socket reaches into the lab.
  absl::StatusOr<RunResult> Client(const std::vector<std::string>& args,
                                   absl::Duration timeout = absl::Seconds(30)) const;

 private:
  explicit LabAgent(Process process) : process_(std::move(process)) {}
  Process process_;
  std::string address_;
  std::vector<std::string> bound_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_LAB_LAB_H_
