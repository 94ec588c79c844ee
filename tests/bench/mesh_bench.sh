#!/usr/bin/env bash
# Mesh benchmark, on demand (not a test), as root: what one agent costs when
# it probes 999 peers, and fping over the same 999 addresses in the same run.
#
# A network namespace of its own (netprobe-meshbench-PID: only lo, deleted on
# exit with its /etc/netns/ files, even on failure) whose hosts file names
# 999 loopback addresses mesh.bench (127.0.1.1 .. 127.0.4.249, as the ping
# benchmark's targets). One agent there with a mesh entry on mesh.bench:
# ping, UDP echo to port 7 (the agent's own --udp-echo responder, on every
# address) and TCP connect to port 7431 (the agent's own gRPC listener on
# 0.0.0.0, --insecure: accepted connections, as in a fleet), include_self (lo
# is the agent's own interface), the default timeout (1 s), count 1 and
# budget (100 attempts/s). The agent answers itself, so its CPU counts both
# ends of each UDP echo and TCP connect (each agent of a fleet answers its
# N-1 peers too); the kernel answers the pings (softirq time: counted in no
# process, for fping neither).
#
#   1. default: interval 60 s (2,997 attempts a round: 30 s of sending at the
#      budget); CPU (utime + stime, /proc/PID/stat) over WINDOW_ROUNDS (2)
#      intervals of steady state (any window of whole intervals holds the
#      same work), RSS and its peak (VmRSS, VmHWM) after them; then one
#      /metrics scrape (999 x 3 x 16 + 8 series): its size and CPU.
#   2. short: interval 10 s, 1,000 attempts/s, all kinds: CPU per attempt
#      over SHORT_ROUNDS (3) intervals; then the same with ping only.
#   3. fping -c 1 -q -t 1000 over the 999 addresses (its default 10 ms
#      between pings), REPS (3) runs: CPU per ping (getrusage of the child).
#   4. an idle agent (no scheduled probe): RSS, for the mesh's share.
# Derived: per-agent CPU and packets per second and series for fleets of 100,
# 1,000 and 10,000 agents at the default interval (each agent probes N-1
# peers, 3 kinds): per-attempt CPU (2) x attempts per second.
#
#   sudo tests/bench/mesh_bench.sh           builds the release build, prints
#                                            the table
#   tests/bench/run_all.sh (section mesh)    runs it with --rows FILE: no
#                                            build, rows appended to FILE
#
# Environment: AGENT (the release build's), INTERVAL_S (60), WINDOW_ROUNDS (2),
# SHORT_S (10), SHORT_ROUNDS (3), REPS (3). About 4 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SELF=$ROOT/tests/bench/mesh_bench.sh
AGENT=${AGENT:-$ROOT/build-release/agent/netprobe-agent}
INTERVAL_S=${INTERVAL_S:-60}
WINDOW_ROUNDS=${WINDOW_ROUNDS:-2}
SHORT_S=${SHORT_S:-10}
SHORT_ROUNDS=${SHORT_ROUNDS:-3}
REPS=${REPS:-3}
PEERS=999
export AGENT INTERVAL_S WINDOW_ROUNDS SHORT_S SHORT_ROUNDS REPS
PY=/usr/bin/python3

# ---------------------------------------------------------------------------
# Inside the namespace: the runs, the rows.
if [ "${1:-}" = --in-ns ]; then
  work=$2
  rows=$3
  hz=$(getconf CLK_TCK)
  agent_pid=
  stop_agent() {
    if [ -n "$agent_pid" ]; then
      kill "$agent_pid" 2>/dev/null || true
      wait "$agent_pid" 2>/dev/null || true
      agent_pid=
    fi
  }
  trap stop_agent EXIT
  log() { echo "[$(date +%H:%M:%S)] $*"; }
  calc() { echo "$*" | bc -l; }
  fmt() { printf "%.${1}f" "$2"; }
  median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
  cpu_s() {  # utime + stime of a process so far, s
    local s a
    s=$(cat "/proc/$1/stat")
    read -r -a a <<<"${s##*) }"
    calc "(${a[11]} + ${a[12]}) / $hz"
  }
  status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
  row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" >>"$rows"; }
  # Starts the agent with config $1 (log $work/agent.log); sets agent_pid and
  # metrics (host:port).
  start_agent() {
    "$AGENT" --listen "unix:$work/agent.sock" --listen 0.0.0.0:7431 --insecure \
      --config "$1" 2>"$work/agent.log" &
    agent_pid=$!
    for _ in $(seq 100); do
      grep -q "listening on" "$work/agent.log" && break
      kill -0 "$agent_pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "listening on" "$work/agent.log" || {
      echo "mesh_bench: the agent did not start:" >&2
      cat "$work/agent.log" >&2
      exit 1
    }
    metrics=$(sed -n 's|.*metrics on http://\([^/]*\)/metrics.*|\1|p' "$work/agent.log" | head -n 1)
  }
  scrape() { curl -sf --max-time 30 "http://$metrics/metrics"; }
  # The sum of a metric's samples (matching an optional label filter) in $1.
  sum_of() {
    awk -v n="$2" -v f="${3:-}" '{split($1, p, "{")} p[1] == n && index($1, f) {s += $2} END {print s + 0}' "$1"
  }
  config() {  # interval_s attempts_per_second kinds-fields
    cat <<EOF
udp_echo: "7"
metrics_listen: "127.0.0.1:0"
scheduled_probes {
  name: "mesh"
  interval { seconds: $1 }
  mesh {
    peers: "mesh.bench"
    family: ADDRESS_FAMILY_IPV4
    include_self: true
    max_attempts_per_second: $2
    $3
  }
}
EOF
  }
  all_kinds='ping: true udp_echo_port: 7 tcp_port: 7431'

  # 4. Idle agent (no scheduled probe): its RSS.
  printf 'metrics_listen: "127.0.0.1:0"\nudp_echo: "7"\n' >"$work/idle.textproto"
  start_agent "$work/idle.textproto"
  sleep 2
  idle_rss=$(status_kb "$agent_pid" VmRSS)
  stop_agent
  log "idle agent: RSS $idle_rss kB"

  # 1. Default interval.
  config "$INTERVAL_S" 100 "$all_kinds" >"$work/default.textproto"
  start_agent "$work/default.textproto"
  sleep 5  # past start-up (the first expansion, the listeners)
  c0=$(cpu_s "$agent_pid")
  window=$((INTERVAL_S * WINDOW_ROUNDS))
  log "default: interval $INTERVAL_S s, $PEERS peers x 3 kinds; CPU over $window s"
  sleep "$window"
  c1=$(cpu_s "$agent_pid")
  rss=$(status_kb "$agent_pid" VmRSS)
  hwm=$(status_kb "$agent_pid" VmHWM)
  s0=$(cpu_s "$agent_pid")
  t0=$EPOCHREALTIME
  scrape >"$work/default.prom"
  t1=$EPOCHREALTIME
  s1=$(cpu_s "$agent_pid")
  stop_agent
  series=$(grep -c '^netprobe_mesh_' "$work/default.prom" || true)
  bytes=$(wc -c <"$work/default.prom")
  rounds=$(sum_of "$work/default.prom" netprobe_mesh_rounds_total)
  attempts=$(sum_of "$work/default.prom" netprobe_mesh_attempts_total)
  answers=$(sum_of "$work/default.prom" netprobe_mesh_answers_total)
  ok=$(awk 'index($1, "netprobe_mesh_success{") == 1 && $2 == 1' "$work/default.prom" | wc -l)
  skipped=$(sum_of "$work/default.prom" netprobe_mesh_skipped_rounds_total)
  per_interval=$(calc "($c1 - $c0) / $WINDOW_ROUNDS")
  log "  CPU $(fmt 2 "$(calc "$c1 - $c0")") s in $window s; RSS $rss kB (peak $hwm); $rounds rounds, $attempts attempts, $answers answers, success 1 on $ok of $((PEERS * 3)); skipped $skipped"
  log "  one scrape: $series mesh series, $bytes bytes, $(fmt 3 "$(calc "$s1 - $s0")") s CPU, $(fmt 3 "$(calc "$t1 - $t0")") s"
  row "mesh: 999 peers x 3 kinds, interval ${INTERVAL_S} s: agent CPU per interval, s" "$(fmt 2 "$per_interval")" - - - -
  row "mesh: the same, agent CPU, % of one core" "$(fmt 3 "$(calc "100 * $per_interval / $INTERVAL_S")")" - - - -
  row "mesh: the same, agent RSS / peak, MB (idle agent's RSS)" \
    "$(fmt 1 "$(calc "$rss / 1024")") / $(fmt 1 "$(calc "$hwm / 1024")")" "$(fmt 1 "$(calc "$idle_rss / 1024")")" - - -
  row "mesh: the same, RSS above the idle agent per peer (16 series x 3 kinds), KB" \
    "$(fmt 2 "$(calc "($rss - $idle_rss) / $PEERS")")" - - - -
  row "mesh: the same, peers x kinds with success 1, of $((PEERS * 3)) (rounds $rounds, skipped $skipped)" \
    "$ok" - - "$((PEERS * 3))" "$([ "$ok" = $((PEERS * 3)) ] && echo yes || echo NO)"
  row "mesh: one /metrics scrape of $series mesh series ($bytes bytes): agent CPU, ms" \
    "$(fmt 1 "$(calc "1000 * ($s1 - $s0)")")" - - - -

  # 2. Short interval: CPU per attempt, all kinds then ping only.
  short() {  # kinds-fields label -> prints CPU per attempt in us
    config "$SHORT_S" 1000 "$1" >"$work/short.textproto"
    start_agent "$work/short.textproto"
    sleep 3
    local a0 a1 n
    a0=$(cpu_s "$agent_pid")
    sleep $((SHORT_S * SHORT_ROUNDS))
    a1=$(cpu_s "$agent_pid")
    scrape >"$work/short.prom"
    stop_agent
    n=$(calc "$PEERS * $2 * $SHORT_ROUNDS")
    log >&2 "  short, $3: CPU $(fmt 2 "$(calc "$a1 - $a0")") s over $SHORT_ROUNDS rounds of $n attempts in all; counters: $(sum_of "$work/short.prom" netprobe_mesh_attempts_total) attempts, $(sum_of "$work/short.prom" netprobe_mesh_answers_total) answers, $(sum_of "$work/short.prom" netprobe_mesh_skipped_rounds_total) skipped"
    calc "1000000 * ($a1 - $a0) / $n"
  }
  log "short: interval $SHORT_S s, 1,000 attempts/s, $SHORT_ROUNDS rounds"
  us_all=$(short "$all_kinds" 3 "ping + udp + tcp")
  us_ping=$(short "ping: true" 1 "ping only")

  # 3. fping over the same addresses.
  mapfile -t targets < <(awk '$2 == "mesh.bench" {print $1}' /etc/hosts)
  fp=()
  for _ in $(seq "$REPS"); do
    # user + sys from getrusage (microseconds; /usr/bin/time prints 10 ms steps).
    fp+=("$("$PY" -c '
import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "w"))
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(1e6 * (r.ru_utime + r.ru_stime) / (len(sys.argv) - 8))' "$work/fp.err" fping -c 1 -q -t 1000 "${targets[@]}")")
  done
  fp_loss=$(awk -F'[/=,%]' '/xmt/ {x += $5; r += $6} END {print (x ? 100 * (x - r) / x : 100)}' "$work/fp.err")
  us_fp=$(printf '%s\n' "${fp[@]}" | median)
  log "fping -c 1 over ${#targets[@]}: CPU per ping ${fp[*]} us (loss $fp_loss % last run)"
  ratio() { [ "$(calc "$2 > 0")" = 1 ] && fmt 2 "$(calc "$1 / $2")" || echo -; }
  row "mesh: agent CPU per attempt, us, ping only, both ends (fping -c 1 per ping)" \
    "$(fmt 1 "$us_ping")" "$(fmt 1 "$us_fp")" "$(ratio "$us_ping" "$us_fp")" - -
  row "mesh: agent CPU per attempt, us, ping + udp + tcp, both ends (fping -c 1 per ping)" \
    "$(fmt 1 "$us_all")" "$(fmt 1 "$us_fp")" "$(ratio "$us_all" "$us_fp")" - -
  # Derived: each agent probes N-1 peers x 3 kinds per interval (and answers
  # as many); CPU from the default run's cost per attempt (its whole CPU over
  # its attempts: the idle agent's share included, the higher figure) and
  # from the short run's; series N-1 x 3 x 16 + 8 (no_rtt_histogram: x 3 + 8).
  us_default=$(calc "1000000 * $per_interval / ($PEERS * 3)")
  row "mesh: agent CPU per attempt at interval ${INTERVAL_S} s (all its CPU / attempts), us" "$(fmt 1 "$us_default")" - - - -
  for n in 100 1000 10000; do
    att=$(((n - 1) * 3))
    row "mesh derived, fleet of $n, interval $INTERVAL_S s: attempts/s, CPU % of a core (${INTERVAL_S} s / ${SHORT_S} s cost), series (no_rtt_histogram)" \
      "$(fmt 1 "$(calc "$att / $INTERVAL_S")") / $(fmt 2 "$(calc "$att * $us_default / 10000 / $INTERVAL_S")")-$(fmt 2 "$(calc "$att * $us_all / 10000 / $INTERVAL_S")") / $((att * 16 + 8)) ($((att * 3 + 8)))" - - - -
  done
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build (unless run_all did), the namespace, then this script in it.
[ "$(id -u)" -eq 0 ] || { echo "mesh_bench: run as root (namespaces, raw sockets)" >&2; exit 1; }
rows=
if [ "${1:-}" = --rows ]; then
  rows=$2
else
  ./scripts/install-deps.sh >/dev/null
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target netprobe-agent >/dev/null
fi
for tool in fping bc curl; do
  command -v "$tool" >/dev/null || { echo "mesh_bench: no $tool (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/netprobe-mesh-bench-XXXXXX)
ns=netprobe-meshbench-$$
cleanup() {
  local p
  # What runs in the namespace is ours (it is this run's): by pid.
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
# Names for processes started by `ip netns exec` (bind mounted over /etc):
# mesh.bench -> the 999 addresses; no name server (lookups stay here).
mkdir -p "/etc/netns/$ns"
{
  echo "127.0.0.1 localhost"
  for i in $(seq 0 $((PEERS - 1))); do echo "127.0.$((1 + i / 250)).$((1 + i % 250)) mesh.bench"; done
} >"/etc/netns/$ns/hosts"
echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"

echo "[$(date +%H:%M:%S)] mesh: one agent, $PEERS loopback peers ($ns), interval $INTERVAL_S s x $WINDOW_ROUNDS, then $SHORT_S s x $SHORT_ROUNDS; fping"
mine=$work/rows.tsv
: >"$mine"
ip netns exec "$ns" "$SELF" --in-ns "$work" "$mine"
if [ -n "$rows" ]; then
  cat "$mine" >>"$rows"
else
  printf '\nMesh benchmark, %s, %d cores, load average %s; ratio = netprobe / peer\n\n' \
    "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  awk -F'\t' 'BEGIN {printf "%-100s %24s %12s %7s %10s %5s\n", "metric", "netprobe", "peer", "ratio", "goal", "met"}
    {printf "%-100s %24s %12s %7s %10s %5s\n", $1, $2, $3, $4, $5, $6}' "$mine"
fi
