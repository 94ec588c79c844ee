#!/usr/bin/env bash
# Installs what netprobe needs to build, run and test, from Debian 12 packages.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libpcap-dev libcap-dev libgtest-dev libgmock-dev libssl-dev
  libcpp-httplib-dev libyaml-cpp-dev libcrypt-dev
  # benchmarks: tests/bench/micro_bench (Google Benchmark)
  libbenchmark-dev
  # fuzzing: clang 14 with its libFuzzer and sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # tests: the lab, faults, foreign tools and a foreign gRPC client
  iproute2 nftables tcpdump iputils-ping traceroute socat procps libcap2-bin openssl
  netcat-openbsd fping
  # tests and the traceroute benchmark: the other path tools (mtr's curses
  # build without X, and iputils' tracepath for the path MTU)
  mtr-tiny iputils-tracepath
  # tests and the throughput benchmark: the peer of the Throughput probe
  iperf3
  # tests: the lab's delay line forwards plain frames only, so the veths on
  # its path have checksum and segmentation offloads off (ethtool -K)
  ethtool
  python3 python3-grpcio python3-protobuf python3-yaml util-linux mount
  # tests: bcrypt hashes for the metrics endpoint's basic auth users, made by
  # the tool its docs name (htpasswd -B), and curl as an HTTPS client
  apache2-utils curl
  # tests: a real Prometheus server scrapes the agent in the lab, and promtool
  # (in the same package) checks the /metrics exposition
  prometheus
  # tests: Wireshark's command-line tools (tshark, capinfos) read the pcapng
  # files and drive netprobe-extcap as Wireshark would
  tshark
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The package enables a Prometheus server on :9090 where systemd runs; the
# tests start their own inside the lab, so the system one is turned off.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
