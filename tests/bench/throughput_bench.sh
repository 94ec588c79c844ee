#!/usr/bin/env bash
# Throughput benchmark (issue 20), on demand (not a test), as root: one TCP
# stream on loopback, the agent's iperf3 client against iperf3 3.12's own,
# to the same `iperf3 -s` in the same run.
#
# An `iperf3 -s` on 127.0.0.1 (a free port) and an agent with
# `--enable-probe Throughput` on a private unix socket; then ROUNDS rounds,
# each of them one after the other:
#   iperf3 -c 127.0.0.1 -p PORT -t SECONDS -J            (iperf3's client)
#   netprobe --json throughput -t SECONDS 127.0.0.1:PORT (the agent's)
# For each test: goodput (the receiver's bits/s: iperf3's sum_received, our
# summary's receiver totals, both what the iperf3 -s counted), and CPU
# seconds per Gbit received (= cores per Gbit/s) of
#   the sending side: iperf3 -c's, and the agent's over the command (the CLI
#     that only prints is counted apart, by /usr/bin/time);
#   the receiving iperf3 -s, the same program for both (a check: it should
#     cost the same per Gbit either way).
# CPU time is the scheduler's on-CPU time in ns (/proc/PID/task/*/schedstat,
# the first field, summed over threads; for iperf3 -c, single-threaded in
# 3.12, read when it has exited and before it is reaped): the same figure as
# utime+stime or perf's task-clock, without the 10 ms ticks. On loopback
# the kernel does the receiving end's TCP processing in whichever context
# runs the softirq (the sender's send(), the receiver's recv(), or a
# ksoftirqd thread when the CPUs are busy, which neither end is charged
# for; each round's line shows ksoftirqd's CPU too, which other load on the
# machine also lands in), so how the work splits between the ends varies
# from test to test by tens of percent; the sum of both ends per Gbit
# (sender + iperf3 -s) is the steadier figure and has a row of its own.
# Rounds alternate, so load from elsewhere falls on both alike; each row is
# the median over the rounds, ratio = netprobe / iperf3 (goodput: higher is
# better; CPU: lower). Then once each in reverse (-R: the far end sends, the
# agent or iperf3 -c receives).
#
#   sudo tests/bench/throughput_bench.sh         builds the release build,
#                                                runs in a network namespace
#                                                of its own, prints the table
#   tests/bench/run_all.sh (section throughput)  runs it with --rows FILE in
#                                                its lab: no build, rows
#                                                appended to FILE
#
# Environment: ROUNDS (7), SECONDS_PER_TEST (5), REVERSE (1: the -R runs, 0:
# none); AGENT and CLIENT (the release build's).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SELF=$ROOT/tests/bench/throughput_bench.sh
ROUNDS=${ROUNDS:-7}
SECONDS_PER_TEST=${SECONDS_PER_TEST:-5}
REVERSE=${REVERSE:-1}
AGENT=${AGENT:-$ROOT/build-release/agent/netprobe-agent}
CLIENT=${CLIENT:-$ROOT/build-release/client/netprobe}
export ROUNDS SECONDS_PER_TEST REVERSE AGENT CLIENT

# ---------------------------------------------------------------------------
# Outside: build, a namespace of its own, then this script inside it.
if [ "${1:-}" != --rows ] && [ "${1:-}" != --in-lab ]; then
  [ "$(id -u)" -eq 0 ] || { echo "throughput_bench: run as root (a namespace)" >&2; exit 1; }
  ./scripts/install-deps.sh >/dev/null
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe >/dev/null
  for pair in iperf3:iperf3 bc:bc /usr/bin/time:time ss:iproute2; do
    command -v "${pair%%:*}" >/dev/null ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pair#*:}" >/dev/null
  done
  ns=netprobe-tpbench-$$
  mine=$(mktemp /tmp/netprobe-tpbench-rows-XXXXXX)
  cleanup() {
    local p
    # What runs in the namespace is ours (it is this run's): by pid.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -f "$mine"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  ip netns exec "$ns" "$SELF" --in-lab "$mine"
  printf '\nThroughput benchmark, %s, %s, %d cores, load average %s before, %s after; median of %d rounds of %d s; ratio = netprobe / iperf3\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$(nproc)" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$ROUNDS" "$SECONDS_PER_TEST"
  awk -F'\t' 'BEGIN {printf "%-82s %16s %12s %7s %20s %5s\n", "metric", "netprobe", "peer", "ratio", "goal", "met"}
    {printf "%-82s %16s %12s %7s %20s %5s\n", $1, $2, $3, $4, $5, $6}' "$mine"
  exit 0
fi

# ---------------------------------------------------------------------------
# Inside a lab (run_all's, or ours): the runs, the rows.
rows=$2
for tool in iperf3 bc /usr/bin/time ss; do
  command -v "$tool" >/dev/null || { echo "throughput_bench: no $tool" >&2; exit 1; }
done
work=$(mktemp -d /tmp/netprobe-tpbench-XXXXXX)
agent_pid=
server_pid=
stop() {
  local p
  for p in $agent_pid $server_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

calc() { echo "$*" | bc -l; }
fmt() { printf "%.${1}f" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
med() { printf '%s\n' "$@" | median; }
ratio() { if [ "$(calc "$2 > 0")" = 1 ]; then fmt 2 "$(calc "$1 / $2")"; else echo -; fi; }
yesno() { [ "$(calc "$1")" = 1 ] && echo yes || echo NO; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" >>"$rows"; }
log() { echo "[$(date +%H:%M:%S)] $*"; }
# On-CPU seconds of a process's threads so far (schedstat: ns, softirq work
# done in their context included)
cpu_s() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ns += $1} END {printf "%.9f\n", ns / 1e9}'
}
# ksoftirqd's on-CPU seconds so far, all CPUs
ksoft_s() {
  local p
  for p in $(pgrep '^ksoftirqd/'); do cat "/proc/$p/schedstat" 2>/dev/null; done |
    awk '{ns += $1} END {printf "%.9f\n", ns / 1e9}'
}
# oncpu FILE LIMIT COMMAND...: runs a single-threaded command, killed after
# LIMIT seconds; its on-CPU seconds to FILE, read from /proc/PID/schedstat
# after it exited and before it is reaped.
oncpu() {
  local out=$1
  shift
  python3 - "$out" "$@" <<'PY'
import os, subprocess, sys, threading
child = subprocess.Popen(sys.argv[3:])
threading.Timer(float(sys.argv[2]), child.kill).start()
os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
with open("/proc/%d/schedstat" % child.pid) as f:
    ns = int(f.read().split()[0])
with open(sys.argv[1], "w") as f:
    f.write("%.9f\n" % (ns / 1e9))
code = child.wait()
os._exit(code if code >= 0 else 1)
PY
}
time_s() { tail -n 1 "$1" | awk '{print $1 + $2}'; }

# "receiver_bits_per_second receiver_bytes sender_bytes cpu_percent" of a
# test: from iperf3 -J (FILE iperf3) or our --json lines (FILE netprobe);
# cpu_percent is the test's own figure of the client side (iperf3's
# host_total, our summary's local_cpu_total), a cross-check only.
results() {
  python3 - "$1" "$2" <<'PY'
import json, sys
path, kind = sys.argv[1], sys.argv[2]
if kind == "iperf3":
    end = json.load(open(path))["end"]
    r, s = end["sum_received"], end["sum_sent"]
    print(r["bits_per_second"], r["bytes"], s["bytes"], end["cpu_utilization_percent"]["host_total"])
    sys.exit()
summary = None
for line in open(path):
    ev = json.loads(line)
    if "summary" in ev:
        summary = ev["summary"]
if summary is None or summary.get("error"):
    print("0 0 0 0")
    sys.exit()
total = [t for t in summary["totals"] if int(t.get("streamId", 0)) == 0][0]
print(total["receiverBitsPerSecond"], total["receiverBytes"], total["senderBytes"],
      summary.get("localCpuTotal", 0))
PY
}

"$AGENT" --listen "unix:$work/agent.sock" --enable-probe Throughput 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/agent.log" && break
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "listening on" "$work/agent.log" || {
  echo "throughput_bench: the agent did not start:" >&2
  cat "$work/agent.log" >&2
  exit 1
}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
iperf3 -s -B 127.0.0.1 -p "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  [ -n "$(ss -Hltn "sport = :$port")" ] && break
  sleep 0.1
done
[ -n "$(ss -Hltn "sport = :$port")" ] || { echo "throughput_bench: iperf3 -s did not start" >&2; cat "$work/server.log" >&2; exit 1; }

T=$SECONDS_PER_TEST
gbit() { calc "$1 * 8 / 1000000000"; }
# One test; prints "goodput_bps cpu_s_per_gbit_sender_side server_cpu_s_per_gbit
# client_cli_cpu_s_per_gbit cpu_percent both_ends_cpu_s_per_gbit ksoftirqd_cpu_s_per_gbit"
# (for -R the "sender side" is the agent or iperf3 -c: the side that is not iperf3 -s).
one() {
  local tool=$1 reverse=${2:-} s0 s1 a0 a1 k0 k1 bps rbytes pct side server cli g
  sleep 1  # the previous test's sockets gone, the server back to listening
  k0=$(ksoft_s)
  s0=$(cpu_s "$server_pid")
  if [ "$tool" = iperf3 ]; then
    echo 0 >"$work/c.cpu"
    oncpu "$work/c.cpu" $((T + 30)) \
      iperf3 -c 127.0.0.1 -p "$port" -t "$T" $reverse -J >"$work/c.json" 2>"$work/c.err" || true
    s1=$(cpu_s "$server_pid")
    read -r bps rbytes _ pct <<<"$(results "$work/c.json" iperf3 2>/dev/null || echo 0 0 0 0)"
    side=$(cat "$work/c.cpu")
    cli=0
  else
    a0=$(cpu_s "$agent_pid")
    /usr/bin/time -f '%U %S' -o "$work/c.time" timeout $((T + 30)) "$CLIENT" --agent "unix:$work/agent.sock" \
      --json throughput -t "${T}s" $reverse "127.0.0.1:$port" >"$work/c.json" 2>"$work/c.err" || true
    a1=$(cpu_s "$agent_pid")
    s1=$(cpu_s "$server_pid")
    read -r bps rbytes _ pct <<<"$(results "$work/c.json" netprobe 2>/dev/null || echo 0 0 0 0)"
    side=$(calc "$a1 - $a0")
    cli=$(time_s "$work/c.time")
  fi
  k1=$(ksoft_s)
  server=$(calc "$s1 - $s0")
  if [ "$(calc "$rbytes > 0")" != 1 ]; then
    echo "throughput_bench: $tool $reverse failed:" >&2
    head -c 600 "$work/c.json" "$work/c.err" >&2 || true
    echo "0 nan nan nan 0 nan nan"
    return
  fi
  g=$(gbit "$rbytes")
  echo "$bps $(calc "$side / $g") $(calc "$server / $g") $(calc "$cli / $g") $pct $(calc "($side + $server) / $g") $(calc "($k1 - $k0) / $g")"
}

log "throughput: iperf3 -s on 127.0.0.1:$port, $ROUNDS rounds of iperf3 -c and netprobe throughput, $T s each"
ip_g=() ip_c=() ip_s=() ip_t=() np_g=() np_c=() np_s=() np_t=() np_cli=() pair_g=() pair_c=() pair_t=()
for r in $(seq "$ROUNDS"); do
  read -r g c s _ p t k <<<"$(one iperf3)"
  ip_g+=("$g"); ip_c+=("$c"); ip_s+=("$s"); ip_t+=("$t")
  log "  round $r: iperf3 -c   $(fmt 2 "$(calc "$g / 1000000000")") Gbit/s, CPU s/Gbit: client $(fmt 4 "$c") (its -J: $(fmt 0 "$p")% of a core), iperf3 -s $(fmt 4 "$s"), ksoftirqd $(fmt 4 "$k")"
  read -r g c s cl p t k <<<"$(one netprobe)"
  np_g+=("$g"); np_c+=("$c"); np_s+=("$s"); np_t+=("$t"); np_cli+=("$cl")
  pair_g+=("$(calc "$g / ${ip_g[-1]}")"); pair_c+=("$(calc "$c / ${ip_c[-1]}")"); pair_t+=("$(calc "$t / ${ip_t[-1]}")")
  log "  round $r: netprobe    $(fmt 2 "$(calc "$g / 1000000000")") Gbit/s, CPU s/Gbit: agent $(fmt 4 "$c") (its summary: $(fmt 0 "$p")% of a core), CLI $(fmt 4 "$cl"), iperf3 -s $(fmt 4 "$s"), ksoftirqd $(fmt 4 "$k"); ratios goodput $(fmt 2 "${pair_g[-1]}"), CPU/Gbit $(fmt 2 "${pair_c[-1]}"), both ends $(fmt 2 "${pair_t[-1]}")"
done
a=$(med "${np_g[@]}"); b=$(med "${ip_g[@]}")
row "throughput: goodput, Gbit/s, 1 TCP stream, loopback, ${T} s (iperf3 -c)" \
  "$(fmt 2 "$(calc "$a / 1000000000")")" "$(fmt 2 "$(calc "$b / 1000000000")")" "$(ratio "$a" "$b")" ">= 1.00 x" \
  "$(yesno "$a >= $b")"
row "throughput: goodput ratio, median of the $ROUNDS paired rounds" "$(fmt 2 "$(med "${pair_g[@]}")")" - - ">= 1.00" \
  "$(yesno "$(med "${pair_g[@]}") >= 1")"
a=$(med "${np_c[@]}"); b=$(med "${ip_c[@]}")
row "throughput: sender CPU s per Gbit (cores per Gbit/s), agent (iperf3 -c)" "$(fmt 4 "$a")" "$(fmt 4 "$b")" \
  "$(ratio "$a" "$b")" "<= 1.00 x" "$(yesno "$a <= $b")"
row "throughput: sender CPU ratio, median of the $ROUNDS paired rounds" "$(fmt 2 "$(med "${pair_c[@]}")")" - - "<= 1.00" \
  "$(yesno "$(med "${pair_c[@]}") <= 1")"
a=$(med "${np_t[@]}"); b=$(med "${ip_t[@]}")
row "throughput: both ends' CPU s per Gbit, agent + iperf3 -s (iperf3 -c + iperf3 -s)" "$(fmt 4 "$a")" "$(fmt 4 "$b")" \
  "$(ratio "$a" "$b")" "<= 1.00 x" "$(yesno "$a <= $b")"
row "throughput: both ends' CPU ratio, median of the $ROUNDS paired rounds" "$(fmt 2 "$(med "${pair_t[@]}")")" - - "<= 1.00" \
  "$(yesno "$(med "${pair_t[@]}") <= 1")"
a=$(med "${np_s[@]}"); b=$(med "${ip_s[@]}")
row "throughput: receiver iperf3 -s CPU s per Gbit, in our test (in iperf3's)" "$(fmt 4 "$a")" "$(fmt 4 "$b")" \
  "$(ratio "$a" "$b")" - -
row "throughput: the CLI's CPU s per Gbit (prints the events; not in the sender row)" "$(fmt 4 "$(med "${np_cli[@]}")")" - - - -

if [ "$REVERSE" = 1 ]; then
  read -r g c s _ p t k <<<"$(one iperf3 -R)"
  read -r g2 c2 s2 cl2 _ t2 k2 <<<"$(one netprobe -R)"
  log "  -R: iperf3 -c receives $(fmt 2 "$(calc "$g / 1000000000")") Gbit/s, CPU s/Gbit client $(fmt 4 "$c"), iperf3 -s (sends) $(fmt 4 "$s"), ksoftirqd $(fmt 4 "$k"); the agent receives $(fmt 2 "$(calc "$g2 / 1000000000")") Gbit/s, agent $(fmt 4 "$c2"), CLI $(fmt 4 "$cl2"), iperf3 -s $(fmt 4 "$s2"), ksoftirqd $(fmt 4 "$k2")"
  row "throughput -R (once): goodput, Gbit/s, the agent receives (iperf3 -c -R)" \
    "$(fmt 2 "$(calc "$g2 / 1000000000")")" "$(fmt 2 "$(calc "$g / 1000000000")")" "$(ratio "$g2" "$g")" - -
  row "throughput -R (once): receiver CPU s per Gbit, agent (iperf3 -c -R)" "$(fmt 4 "$c2")" "$(fmt 4 "$c")" \
    "$(ratio "$c2" "$c")" - -
  row "throughput -R (once): both ends' CPU s per Gbit, agent + iperf3 -s (iperf3 -c -R + iperf3 -s)" "$(fmt 4 "$t2")" \
    "$(fmt 4 "$t")" "$(ratio "$t2" "$t")" - -
  row "throughput -R (once): sender iperf3 -s CPU s per Gbit, in our test (in iperf3's)" "$(fmt 4 "$s2")" \
    "$(fmt 4 "$s")" "$(ratio "$s2" "$s")" - -
fi
