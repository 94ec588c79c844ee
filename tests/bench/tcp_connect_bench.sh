#!/usr/bin/env bash
# TCP connect benchmark, on demand (not a test). Builds a release build, starts
# an agent on a private unix socket, and measures on loopback, side by side with
# nmap -sT in the same run:
#   1. refused connects/s: every port of 127.0.0.1 that nothing listens on
#      (netprobe: 1024 ports x 64 attempts; nmap: -p1-65535)
#   2. a 1,024-port sweep: wall time of one request vs nmap -p1-1024
#   3. accepted connects/s against a listener that accepts and closes
#      (netprobe only: nmap scans each port once)
# Each figure is the median of REPS runs (default 5). Run as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}

./scripts/install-deps.sh >/dev/null
for tool in nmap bc; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe accept_sink >/dev/null

work=$(mktemp -d /tmp/netprobe-bench-XXXXXX)
cleanup() { kill "$agent_pid" "$sink_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
build-release/agent/netprobe-agent --listen "unix:$work/agent.sock" 2>"$work/agent.log" &
agent_pid=$!
build-release/tests/bench/accept_sink >"$work/sink.port" &
sink_pid=$!
for _ in $(seq 50); do
  [ -S "$work/agent.sock" ] && [ -s "$work/sink.port" ] && break
  sleep 0.1
done
sink_port=$(cat "$work/sink.port")
np() { build-release/client/netprobe --agent "unix:$work/agent.sock" "$@"; }

# Ports 1..1024 of loopback that nothing listens on.
closed=()
for p in $(seq 1 1024); do
  ss -Htln "sport = :$p" | grep -q . || closed+=("127.0.0.1:$p")
done

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$agent_pid/stat"; }

refused_np=(); refused_nmap=(); sweep_np=(); sweep_nmap=(); accepted_np=()
ticks_before=$(cpu_ticks)
accepted_total=0
for _ in $(seq "$REPS"); do
  t=$(seconds np tcp -c 64 -i 0 --concurrency 256 -W 2s "${closed[@]}")
  refused_np+=("$(echo "${#closed[@]} * 64 / $t" | bc -l)")
  t=$(seconds nmap -sT -Pn -n -T5 -p1-65535 127.0.0.1)
  refused_nmap+=("$(echo "65535 / $t" | bc -l)")
  sweep_np+=("$(seconds np tcp --concurrency 1024 -W 2s "${closed[@]}")")
  sweep_nmap+=("$(seconds nmap -sT -Pn -n -T5 -p1-1024 127.0.0.1)")
  t=$(seconds np tcp -c 50000 -i 0 --concurrency 256 "127.0.0.1:$sink_port")
  accepted_np+=("$(echo "50000 / $t" | bc -l)")
  accepted_total=$((accepted_total + 50000))
done
ticks_after=$(cpu_ticks)

r_np=$(printf '%s\n' "${refused_np[@]}" | median)
r_nmap=$(printf '%s\n' "${refused_nmap[@]}" | median)
s_np=$(printf '%s\n' "${sweep_np[@]}" | median)
s_nmap=$(printf '%s\n' "${sweep_nmap[@]}" | median)
a_np=$(printf '%s\n' "${accepted_np[@]}" | median)
hz=$(getconf CLK_TCK)
attempts=$(( REPS * (${#closed[@]} * 65 + 50000) ))
cpu_per_k=$(echo "($ticks_after - $ticks_before) / $hz / ($attempts / 1000)" | bc -l)

printf '\nTCP connect benchmark, %s, %d cores, median of %d runs\n' "$(uname -r)" "$(nproc)" "$REPS"
printf '%-44s %12s %12s %8s\n' metric netprobe "nmap -sT" ratio
printf '%-44s %12.0f %12.0f %8.2f\n' "refused connects/s (loopback)" "$r_np" "$r_nmap" "$(echo "$r_np / $r_nmap" | bc -l)"
printf '%-44s %12.3f %12.3f %8.2f\n' "sweep of ${#closed[@]} closed ports, seconds" "$s_np" "$s_nmap" "$(echo "$s_nmap / $s_np" | bc -l)"
printf '%-44s %12.0f %12s %8s\n' "accepted connects/s (accept+close listener)" "$a_np" "-" "-"
printf '%-44s %12.3f %12s %8s\n' "agent CPU seconds per 1,000 connects" "$cpu_per_k" "-" "-"
echo "(ratio > 1: netprobe is faster)"
