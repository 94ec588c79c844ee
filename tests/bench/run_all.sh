#!/usr/bin/env bash
# The benchmark suite: ONE command, as root, on demand (not a test).
#
#   sudo tests/bench/run_all.sh
#
# Builds the release build (./scripts/build.sh release: the agent, the CLI and
# the bench targets of tests/bench/CMakeLists.txt), installs the peer tools
# from Debian packages where missing (fping, nmap, socat, tcpdump, iputils
# ping, iproute2's ss, traceroute, mtr), creates the lab (a network namespace
# of its own, netprobe-bench-PID, deleted on exit even on failure) and runs
# every benchmark inside it on loopback (traceroute: in a lab of its own),
# side by side with its peer tool on the same traffic in the same run, then
# prints one table: metric, netprobe, peer, ratio, goal, met. Each figure is
# the median of REPS runs (default 3) unless the metric says otherwise.
# BENCHMARKS.md describes the method of each row.
#
# Sections (about 13 minutes on the 2-core machine, most of it the capture's
# 60 s runs and the mesh's 60 s intervals):
#   agent   idle USS, PSS, RSS (anon/file) and threads of an agent with no flags
#           but a unix listener and a config raising the one-client limit;
#           RSS and threads with 1,000 concurrent Ping streams held by one
#           client process (tests/bench/hold_streams.py)
#   ping    1,000 targets: fastest zero-loss rate (text and --json) and a
#           sustained 20,000/s run against fping; CPU per 1,000 probes/s;
#           reported RTT against the kernel's capture timestamps, against
#           iputils ping's
#   tcp     refused connects/s and CPU against nmap -sT; accepted connects/s
#   udp     UDP echo RTT against the capture's, agent responder and socat
#   capture 100,000 pps for 60 s captured by netprobe (streamed to the
#           client, -w) and tcpdump -w at the same time, from one blast
#   sockets 10,001 TCP sockets listed by netprobe and ss
#   traceroute  a full trace to a 5-hop target: netprobe traceroute -n against
#           traceroute -n and mtr --report -n -c 1, TRACE_REPS runs each
#           (tests/bench/traceroute_bench.sh: a lab of 6 namespaces of its own)
#   throughput  one TCP stream on loopback to an iperf3 -s: netprobe
#           throughput against iperf3 -c, TP_ROUNDS alternating rounds of
#           TP_SECONDS each, goodput and CPU per Gbit, then -R once each
#           (tests/bench/throughput_bench.sh)
#   mesh    one agent probing 999 loopback peers (a name in its namespace's
#           hosts file), ping + UDP echo + TCP connect: CPU per interval at
#           60 s, RSS, a scrape's cost, CPU per attempt at 10 s against fping
#           -c 1 over the same addresses, per-agent cost for fleets of 100 to
#           10,000 (tests/bench/mesh_bench.sh: a namespace of its own; about
#           4 minutes)
#   micro   tests/bench/micro_bench (Google Benchmark): the hot pure functions
#
# Environment: REPS (3), SECTIONS ("agent ping tcp udp capture sockets traceroute
# throughput mesh micro"), TRACE_REPS (20), TP_ROUNDS (7), TP_SECONDS (5),
# PING_COUNT (rounds of the fastest-rate run, 50), PING_SUSTAIN_S (10),
# CAPTURE_S (60), CAPTURE_RATE (100000), CAPTURE_REPS (REPS), STREAMS (1000),
# SOCKET_CONNS (5000), RESULTS (a file the table is copied to; default
# build-release/bench-results.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

REPS=${REPS:-3}
SECTIONS=${SECTIONS:-"agent ping tcp udp capture sockets traceroute throughput mesh micro"}
TRACE_REPS=${TRACE_REPS:-20}
TP_ROUNDS=${TP_ROUNDS:-7}
TP_SECONDS=${TP_SECONDS:-5}
PING_COUNT=${PING_COUNT:-50}
PING_SUSTAIN_S=${PING_SUSTAIN_S:-10}
CAPTURE_S=${CAPTURE_S:-60}
CAPTURE_RATE=${CAPTURE_RATE:-100000}
CAPTURE_REPS=${CAPTURE_REPS:-$REPS}
STREAMS=${STREAMS:-1000}
SOCKET_CONNS=${SOCKET_CONNS:-5000}
RESULTS=${RESULTS:-$ROOT/build-release/bench-results.txt}
export REPS SECTIONS TRACE_REPS TP_ROUNDS TP_SECONDS PING_COUNT PING_SUSTAIN_S CAPTURE_S CAPTURE_RATE CAPTURE_REPS STREAMS \
  SOCKET_CONNS RESULTS

AGENT=$ROOT/build-release/agent/netprobe-agent
CLIENT=$ROOT/build-release/client/netprobe
BENCH=$ROOT/build-release/tests/bench
PY=/usr/bin/python3
hz=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------
# Outside the lab: build, peers, the namespace; then this script again inside.
if [ "${1:-}" != --in-lab ]; then
  [ "$(id -u)" -eq 0 ] || { echo "run_all: run as root (raw sockets, namespaces)" >&2; exit 1; }
  t0=$(date +%s)
  work=$(mktemp -d /dev/shm/netprobe-bench-XXXXXX)
  ns=netprobe-bench-$$
  cleanup() {
    # What runs in the lab is ours (the namespace is this run's): by pid.
    local p
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  echo "run_all: building (./scripts/build.sh release; log in $work/build.log)"
  if ! ./scripts/build.sh release >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    exit 1
  fi
  need=()
  for pair in fping:fping nmap:nmap socat:socat tcpdump:tcpdump ping:iputils-ping ss:iproute2 \
    bc:bc /usr/bin/time:time pgrep:procps traceroute:traceroute mtr:mtr-tiny iperf3:iperf3; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "run_all: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  [ -x "$BENCH/micro_bench" ] || echo "run_all: no micro_bench (libbenchmark-dev missing?)" >&2
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  echo "run_all: lab namespace $ns; sections: $SECTIONS; REPS=$REPS"
  ip netns exec "$ns" "$0" --in-lab "$work"
  t1=$(date +%s)
  echo "run_all: $((t1 - t0)) s in all (build and setup included)" | tee -a "$RESULTS"
  exit 0
fi

# ---------------------------------------------------------------------------
# Inside the lab namespace.
work=$2
rows=$work/rows.tsv
: >"$rows"
pids=()
agent_pid=
cleanup_lab() {
  local p
  for p in "${pids[@]}" $agent_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup_lab EXIT

log() { echo "[$(date +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
calc() { echo "$*" | bc -l; }
fmt() { printf "%.${1}f" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
med() { printf '%s\n' "$@" | median; }
# user+sys seconds of a process so far
cpu_s() {
  local s a
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  read -r -a a <<<"${s##*) }"
  calc "(${a[11]} + ${a[12]}) / $hz"
}
# "user sys" seconds from /usr/bin/time -f '%U %S' output (last line)
time_s() { tail -n 1 "$1" | awk '{print $1 + $2}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# A table row: metric, netprobe, peer, ratio, goal, met
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" >>"$rows"; }
ratio() {  # a / b to 2 places, "-" when undefined
  local x=${1//[^0-9.e-]/} y=${2//[^0-9.e-]/}
  if [ -n "$x" ] && [ -n "$y" ] && [ "$(calc "$y > 0")" = 1 ]; then fmt 2 "$(calc "$x / $y")"; else echo -; fi
}
yesno() { [ "$(calc "$1")" = 1 ] && echo yes || echo NO; }

start_agent() {  # socket, extra flags...; sets agent_pid
  local sock=$1
  shift
  "$AGENT" --listen "unix:$sock" "$@" 2>"$sock.log" &
  agent_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && grep -q "listening on" "$sock.log" && return; sleep 0.1; done
  echo "run_all: the agent did not start:" >&2
  cat "$sock.log" >&2
  exit 1
}
stop_agent() {
  kill "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
  agent_pid=
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "lab up: $(uname -r), $(nproc) cores, load average $load0"

# ---------------------------------------------------------------------------
section_agent() {
  log "agent: idle, then $STREAMS concurrent Ping streams"
  local sock=$work/idle.sock rss anon file pss uss threads names
  # A binary just linked has dirty page-cache pages, which smaps counts as
  # Private_Dirty: written back first, USS counts what the agent itself holds.
  sync
  # The default policy lets one client run 64 probes at once; the streams
  # below are one client's 1,000.
  printf 'policy { limits { concurrent_probes_per_client: %d } }\n' "$((STREAMS + 100))" >"$work/agent-streams.textproto"
  start_agent "$sock" --config "$work/agent-streams.textproto"
  sleep 2
  rss=$(status_kb "$agent_pid" VmRSS)
  anon=$(status_kb "$agent_pid" RssAnon)
  file=$(status_kb "$agent_pid" RssFile)
  pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$agent_pid/smaps_rollup")
  # USS: the pages only this process has (private clean + dirty): what the
  # agent costs the host, whatever else maps the same libraries.
  uss=$(awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {s += $2} END {print s}' "/proc/$agent_pid/smaps_rollup")
  # Of it, what the agent wrote (heap, stacks, relocated data); the rest is
  # clean file pages (code) that no other process maps just now.
  local dirty
  dirty=$(awk '$1 == "Private_Dirty:" {print $2}' "/proc/$agent_pid/smaps_rollup")
  threads=$(status_kb "$agent_pid" Threads)
  names=$(cat /proc/"$agent_pid"/task/*/comm | sort | uniq -c | awk '{printf "%s%s%s", (NR > 1 ? ", " : ""), $2, ($1 > 1 ? " x" $1 : "")}')
  log "  idle: RSS $rss kB (anon $anon, file $file), PSS $pss kB, USS $uss kB, $threads threads: $names"
  row "agent idle private memory (USS: private clean + dirty), MB" "$(fmt 1 "$(calc "$uss / 1024")")" - - "<= 4" \
    "$(yesno "$uss <= 4 * 1024")"
  row "agent idle USS of it private dirty (written: heap, stacks, relocations), MB" "$(fmt 1 "$(calc "$dirty / 1024")")" - - - -
  row "agent idle RSS, MB (mostly shared library pages)" "$(fmt 1 "$(calc "$rss / 1024")")" - - - -
  row "agent idle RSS anon (heap, stacks), MB" "$(fmt 1 "$(calc "$anon / 1024")")" - - - -
  row "agent idle RSS file-backed (shared libraries), MB" "$(fmt 1 "$(calc "$file / 1024")")" - - - -
  row "agent idle PSS (shared pages divided among their users), MB" "$(fmt 1 "$(calc "$pss / 1024")")" - - - -
  row "agent idle threads ($names)" "$threads" - - "<= 8" "$(yesno "$threads <= 8")"

  # The streams: one client process, ceil(N/100) connections.
  mkfifo "$work/hold.in"
  "$PY" "$ROOT/tests/bench/hold_streams.py" --agent "unix:$sock" --streams "$STREAMS" \
    --seconds 120 <"$work/hold.in" >"$work/hold.out" 2>&1 &
  local holder=$!
  pids+=("$holder")
  exec 7>"$work/hold.in"
  for _ in $(seq 600); do grep -q "^open\|^failed" "$work/hold.out" && break; sleep 0.1; done
  local opened rss_held threads_held per
  opened=$(sed -n 's/^open \([0-9]*\)/\1/p' "$work/hold.out")
  sleep 3
  rss_held=$(status_kb "$agent_pid" VmRSS)
  threads_held=$(status_kb "$agent_pid" Threads)
  exec 7>&-
  wait "$holder" || true
  sleep 1
  local rss_after
  rss_after=$(status_kb "$agent_pid" VmRSS)
  log "  $STREAMS streams: $(head -n 1 "$work/hold.out"); RSS $rss_held kB, $threads_held threads; after they closed: RSS $rss_after kB"
  if [ -n "$opened" ]; then
    per=$(calc "($rss_held - $rss) / $opened")
    row "$opened concurrent Ping streams: agent RSS per stream, KB" "$(fmt 1 "$per")" - - "<= 64" "$(yesno "$per <= 64")"
    row "$opened concurrent Ping streams: agent RSS, MB / threads" \
      "$(fmt 1 "$(calc "$rss_held / 1024")") / $threads_held" - - "no thread per stream" \
      "$(yesno "$threads_held < $threads + 16")"
  else
    row "$STREAMS concurrent Ping streams" "FAILED: $(head -c 120 "$work/hold.out")" - - "<= 64 KB each" NO
  fi
  stop_agent
}

# ---------------------------------------------------------------------------
np() { "$CLIENT" --agent "unix:$work/agent.sock" "$@"; }

section_ping() {
  log "ping: 1,000 targets on loopback, netprobe vs fping"
  local targets=() i
  for i in $(seq 0 999); do targets+=("127.0.$((1 + i / 250)).$((1 + i % 250))"); done
  local total=$((PING_COUNT * 1000)) s e a0 a1 rep
  local np_text=() np_json=() fp_rate=() np_loss=() np_jloss=() fp_loss=()
  fp_loss_of() { awk -F'[/=,%]' '/xmt/ {x += $5; r += $6} END {print (x ? 100 * (x - r) / x : 100)}' "$1"; }
  json_loss_of() {
    "$PY" -c '
import json, sys
sent = recv = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if "summary" in ev: sent += int(ev["summary"]["sent"]); recv += int(ev["summary"]["received"])
print(100.0 * (sent - recv) / sent if sent else 100)' "$1"
  }
  for rep in $(seq "$REPS"); do
    s=$(now); timeout 60 "$CLIENT" --agent "unix:$work/agent.sock" ping -c "$PING_COUNT" -i 1ms --rate 100000 -W 1s "${targets[@]}" >"$work/np.txt" || true; e=$(now)
    np_text+=("$(calc "$total / ($e - $s)")"); np_loss+=("$(fp_loss_of "$work/np.txt")")
    s=$(now); timeout 60 "$CLIENT" --agent "unix:$work/agent.sock" --json ping -c "$PING_COUNT" -i 1ms --rate 100000 -W 1s "${targets[@]}" >"$work/np.json" || true; e=$(now)
    np_json+=("$(calc "$total / ($e - $s)")"); np_jloss+=("$(json_loss_of "$work/np.json")")
    s=$(now); timeout 60 fping -c "$PING_COUNT" -p 1 -i 0 -t 1000 "${targets[@]}" >"$work/fp.txt" 2>"$work/fp.err" || true; e=$(now)
    fp_rate+=("$(calc "$total / ($e - $s)")"); fp_loss+=("$(fp_loss_of "$work/fp.err")")
    log "  fastest, run $rep: netprobe $(fmt 0 "${np_text[-1]}")/s (loss ${np_loss[-1]}%), --json $(fmt 0 "${np_json[-1]}")/s (loss ${np_jloss[-1]}%), fping $(fmt 0 "${fp_rate[-1]}")/s (loss ${fp_loss[-1]}%)"
  done
  local a b worst i
  a=$(med "${np_text[@]}"); b=$(med "${fp_rate[@]}")
  # The goal holds on every run: the worst of the runs' own ratios.
  worst=$(for i in "${!np_text[@]}"; do calc "${np_text[$i]} / ${fp_rate[$i]}"; done | sort -g | head -n 1)
  row "ping: probes/s, 1,000 targets, as fast as each goes, text (fping)" "$(fmt 0 "$a")" "$(fmt 0 "$b")" "$(ratio "$a" "$b")" \
    ">= 1.0 every run" "$(yesno "$worst >= 1.0")"
  row "ping: the worst run's ratio of the above (fping)" "$(fmt 2 "$worst")" - - ">= 1.0" "$(yesno "$worst >= 1.0")"
  row "ping: loss % of that run (fping)" "$(med "${np_loss[@]}")" "$(med "${fp_loss[@]}")" - 0 "$(yesno "$(med "${np_loss[@]}") == 0")"
  b=$(med "${np_text[@]}"); a=$(med "${np_json[@]}")
  row "ping: probes/s as above, --json (our text rate)" "$(fmt 0 "$a")" "$(fmt 0 "$b")" "$(ratio "$a" "$b")" ">= 0.8" \
    "$(yesno "$a >= 0.8 * $b")"

  # Sustained: PING_SUSTAIN_S seconds at a fixed rate over the 1,000 targets,
  # probes/s from the summaries' transmitted totals and the wall time. fping
  # keeps every sequence number for its 10 s timeout in a map of 65,535, so
  # it cannot sustain more than about 6,500/s for longer than a few seconds
  # ("not enough sequence numbers available"): it is asked 20,000/s and then
  # 6,000/s; CPU is compared at 6,000/s, the rate both sustain.
  sent_of() { awk -F'[/=,%]' '/xmt/ {x += $5} END {print x + 0}' "$1"; }
  sustain() {  # tool rate -> "probes/s loss% cpu%/1k agent-cpu%/1k wall-s captured"
    local tool=$1 rate=$2 count per_us s e a0 a1 sent cpu
    count=$((rate * PING_SUSTAIN_S / 1000))
    per_us=$((1000000000 / rate))  # per-target period: 1,000 targets / rate
    # The rate is the kernel's: the requests sent (the summaries' totals)
    # over the time from the first to the last echo request captured on lo
    # (process start and the wait for the last replies left out, for both
    # tools alike).
    tcpdump -i lo -nn -s 64 -B 8192 --time-stamp-precision=nano -w "$work/su.pcap" \
      'icmp[icmptype] == icmp-echo' 2>"$work/su.tcpdump" &
    local td=$!
    for _ in $(seq 50); do grep -q listening "$work/su.tcpdump" && break; sleep 0.1; done
    a0=$(cpu_s "$agent_pid")
    s=$(now)
    if [ "$tool" = netprobe ]; then
      /usr/bin/time -f '%U %S' -o "$work/su.time" timeout $((PING_SUSTAIN_S * 3 + 10)) "$CLIENT" \
        --agent "unix:$work/agent.sock" ping -c "$count" -i "${per_us}us" --rate "$rate" -W 1s \
        "${targets[@]}" >"$work/su.out" 2>&1 || true
    else
      /usr/bin/time -f '%U %S' -o "$work/su.time" timeout $((PING_SUSTAIN_S * 3 + 10)) fping -c "$count" \
        -p "$(fmt 3 "$(calc "$per_us / 1000")")" -i "$(fmt 3 "$(calc "1000 / $rate")")" -t 1000 \
        "${targets[@]}" >/dev/null 2>"$work/su.out" || true
    fi
    e=$(now)
    a1=$(cpu_s "$agent_pid")
    sleep 0.2
    kill "$td"; wait "$td" 2>/dev/null || true
    local span
    span=$("$PY" - "$work/su.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, n, first, last = 24, 0, None, None
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack_from("<IIII", data, off)
    t = sec + frac * 1e-9
    first = t if first is None else first
    last = t
    n += 1
    off += 16 + incl
print("%d %.6f" % (n, (last - first) if n > 1 else 0))
PY
)
    rm -f "$work/su.pcap"
    local captured seconds
    read -r captured seconds <<<"$span"
    sent=$(sent_of "$work/su.out")
    if [ "$tool" = netprobe ]; then cpu=$(calc "$a1 - $a0 + $(time_s "$work/su.time")"); else cpu=$(time_s "$work/su.time"); fi
    if [ "$sent" -gt 0 ] && [ "$(calc "$seconds > 0")" = 1 ]; then
      echo "$(calc "($sent - 1) / $seconds") $(fp_loss_of "$work/su.out") $(calc "100 * $cpu / ($sent / 1000)") $(calc "100 * ($a1 - $a0) / ($sent / 1000)") $(calc "$e - $s") $captured"
    else
      echo "0 100 nan nan $(calc "$e - $s") ${captured:-0}"
      grep -m 1 -i "error" "$work/su.out" >"$work/su.err" || true
    fi
  }
  local rate=20000 low=6000 x pps loss cpu cpua wall cap
  local n20=() l20=() c20=() f20=() fl20=() n6=() c6=() ca6=() f6=() fl6=() fc6=()
  for rep in $(seq "$REPS"); do
    read -r pps loss cpu cpua wall cap <<<"$(sustain netprobe "$rate")"; n20+=("$pps"); l20+=("$loss"); c20+=("$cpu")
    x="netprobe's command took $(fmt 2 "$wall") s, $cap requests captured"
    rm -f "$work/su.err"
    read -r pps loss cpu cpua wall cap <<<"$(sustain fping "$rate")"; f20+=("$pps"); fl20+=("$loss")
    x="$x; fping's $(fmt 2 "$wall") s$(sed 's/^/: /' "$work/su.err" 2>/dev/null || true)"
    read -r pps loss cpu cpua wall cap <<<"$(sustain netprobe "$low")"; n6+=("$pps"); c6+=("$cpu"); ca6+=("$cpua")
    read -r pps loss cpu cpua wall cap <<<"$(sustain fping "$low")"; f6+=("$pps"); fl6+=("$loss"); fc6+=("$cpu")
    log "  sustained ${PING_SUSTAIN_S} s, run $rep: $rate/s asked: netprobe $(fmt 0 "${n20[-1]}")/s loss ${l20[-1]}%, fping $(fmt 0 "${f20[-1]}")/s loss ${fl20[-1]}% ($x); $low/s asked: netprobe $(fmt 0 "${n6[-1]}")/s, fping $(fmt 0 "${f6[-1]}")/s loss ${fl6[-1]}%"
  done
  local nl fbest fl
  a=$(med "${n20[@]}"); nl=$(med "${l20[@]}")
  # fping's sustained figure: its 20,000/s run if that had zero loss, else its 6,000/s run's.
  if [ "$(med "${fl20[@]}")" = 0 ]; then fbest=$(med "${f20[@]}"); fl=0; else fbest=$(med "${f6[@]}"); fl=$(med "${fl6[@]}"); fi
  row "ping: sustained probes/s, 0 loss, 1,000 targets, ${PING_SUSTAIN_S} s (fping)" "$(fmt 0 "$a")" "$(fmt 0 "$fbest")" "$(ratio "$a" "$fbest")" \
    ">= 20,000 (-1%), 0 loss" "$(yesno "$a >= 19800 && $nl == 0")"
  row "ping: loss % at 20,000/s asked for ${PING_SUSTAIN_S} s (fping)" "$nl" "$(med "${fl20[@]}")" - 0 "$(yesno "$nl == 0")"
  a=$(med "${c6[@]}"); b=$(med "${fc6[@]}")
  row "ping: CPU % of a core per 1,000 probes/s at 6,000/s, agent+client (fping)" "$(fmt 2 "$a")" "$(fmt 2 "$b")" "$(ratio "$a" "$b")" \
    "<= 1.5 x" "$(yesno "$a <= 1.5 * $b")"
  row "ping: CPU % of a core per 1,000 probes/s at 6,000/s, agent alone" "$(fmt 2 "$(med "${ca6[@]}")")" - - - -
  row "ping: CPU % of a core per 1,000 probes/s at 20,000/s, agent+client" "$(fmt 2 "$(med "${c20[@]}")")" - - - -

  # RTT against the kernel's capture timestamps: netprobe to 127.0.0.1,
  # iputils ping to 127.0.0.2, in one capture.
  tcpdump -i lo -nn -U --time-stamp-precision=nano -w "$work/lo.pcap" icmp 2>"$work/tcpdump.log" &
  local td=$!
  pids+=("$td")
  for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done
  np --json ping -c 500 -i 2ms 127.0.0.1 >"$work/gap.json"
  ping -n -c 500 -i 0.002 127.0.0.2 >"$work/gap.ping" 2>&1 || true
  sleep 0.5
  kill "$td"; wait "$td" 2>/dev/null || true
  local gap
  gap=$(tcpdump -r "$work/lo.pcap" -nn -tt --time-stamp-precision=nano 2>/dev/null | "$PY" -c '
import json, re, statistics, sys
req = {}; cap = {}
for line in sys.stdin:
    m = re.match(r"([0-9.]+) IP (\S+) > (\S+): ICMP echo (request|reply), id (\d+), seq (\d+)", line)
    if not m: continue
    t = float(m.group(1)); kind = m.group(4); dst = m.group(3).rstrip(":")
    peer = dst if kind == "request" else m.group(2)
    key = (peer, int(m.group(5)), int(m.group(6)))
    if kind == "request": req.setdefault(key, t)
    elif key in req and key not in cap: cap[key] = (t - req[key]) * 1e6
def capture_of(peer):
    return {k[2]: v for k, v in cap.items() if k[0] == peer}
ours = {}
for line in open(sys.argv[1]):
    r = json.loads(line).get("reply")
    if r and r["result"]["outcome"] == "OUTCOME_OK" and not r.get("duplicate"):
        ours[int(r["sequence"])] = float(r["rtt"].rstrip("s")) * 1e6
theirs = {}
for line in open(sys.argv[2]):
    m = re.search(r"icmp_seq=(\d+) .*time=([0-9.]+) ms", line)
    if m: theirs[int(m.group(1))] = float(m.group(2)) * 1000
c1, c2 = capture_of("127.0.0.1"), capture_of("127.0.0.2")
g1 = [abs(ours[s] - c1[s]) for s in ours if s in c1]
g2 = [abs(theirs[s] - c2[s]) for s in theirs if s in c2]
print("%.2f %d %.2f %d %.2f %.2f %.2f %.2f" % (statistics.median(g1), len(g1), statistics.median(g2), len(g2),
      statistics.median(ours.values()), statistics.median(c1.values()),
      statistics.median(theirs.values()), statistics.median(c2.values())))' "$work/gap.json" "$work/gap.ping")
  local g1 n1 g2 n2 r1 c1 r2 c2
  read -r g1 n1 g2 n2 r1 c1 r2 c2 <<<"$gap"
  log "  RTT gap: netprobe $g1 us ($n1 packets; RTT $r1 us, capture $c1 us), iputils ping $g2 us ($n2; RTT $r2, capture $c2)"
  row "ping: median |RTT - capture RTT|, us, 500 x 2 ms (iputils ping)" "$g1" "$g2" "$(ratio "$g1" "$g2")" "< 2" "$(yesno "$g1 < 2")"
}

# ---------------------------------------------------------------------------
section_tcp() {
  log "tcp: loopback, netprobe vs nmap -sT"
  "$BENCH/accept_sink" >"$work/sink.port" &
  local sink=$!
  pids+=("$sink")
  for _ in $(seq 50); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
  local sink_port closed=() p
  sink_port=$(cat "$work/sink.port")
  for p in $(seq 1 1024); do
    [ "$p" = "$sink_port" ] || closed+=("127.0.0.1:$p")
  done
  local attempts=$((${#closed[@]} * 64)) refused_np=() refused_nm=() cpu_np=() cpu_nm=() acc=() sweep_np=() sweep_nm=()
  local s e a0 a1 rep t
  for rep in $(seq "$REPS"); do
    a0=$(cpu_s "$agent_pid")
    s=$(now)
    /usr/bin/time -f '%U %S' -o "$work/np.time" timeout 60 "$CLIENT" --agent "unix:$work/agent.sock" \
      tcp -c 64 -i 0 --concurrency 256 -W 2s "${closed[@]}" >/dev/null 2>&1 || true
    e=$(now)
    a1=$(cpu_s "$agent_pid")
    refused_np+=("$(calc "$attempts / ($e - $s)")")
    cpu_np+=("$(calc "100 * ($a1 - $a0 + $(time_s "$work/np.time")) / ($e - $s) / (${refused_np[-1]} / 1000)")")
    s=$(now)
    /usr/bin/time -f '%U %S' -o "$work/nm.time" timeout 120 nmap -sT -Pn -n -T5 -p1-65535 127.0.0.1 >/dev/null 2>&1 || true
    e=$(now)
    refused_nm+=("$(calc "65535 / ($e - $s)")")
    cpu_nm+=("$(calc "100 * $(time_s "$work/nm.time") / ($e - $s) / (${refused_nm[-1]} / 1000)")")
    s=$(now); np tcp --concurrency 1024 -W 2s "${closed[@]}" >/dev/null 2>&1 || true; e=$(now)
    sweep_np+=("$(calc "$e - $s")")
    s=$(now); nmap -sT -Pn -n -T5 -p1-1024 127.0.0.1 >/dev/null 2>&1 || true; e=$(now)
    sweep_nm+=("$(calc "$e - $s")")
    s=$(now); timeout 60 "$CLIENT" --agent "unix:$work/agent.sock" tcp -c 50000 -i 0 --concurrency 256 "127.0.0.1:$sink_port" >/dev/null 2>&1 || true; e=$(now)
    acc+=("$(calc "50000 / ($e - $s)")")
    log "  run $rep: refused netprobe $(fmt 0 "${refused_np[-1]}")/s cpu/1k ${cpu_np[-1]:0:5}%, nmap $(fmt 0 "${refused_nm[-1]}")/s cpu/1k ${cpu_nm[-1]:0:5}%; sweep $(fmt 3 "${sweep_np[-1]}") s vs $(fmt 3 "${sweep_nm[-1]}") s; accepted $(fmt 0 "${acc[-1]}")/s"
  done
  kill "$sink" 2>/dev/null || true
  local a b
  a=$(med "${acc[@]}")
  row "tcp: accepted connects/s (full handshake, listener accepts+closes)" "$(fmt 0 "$a")" - - ">= 20,000" "$(yesno "$a >= 20000")"
  a=$(med "${refused_np[@]}"); b=$(med "${refused_nm[@]}")
  row "tcp: refused connects/s, closed ports (nmap -sT -T5)" "$(fmt 0 "$a")" "$(fmt 0 "$b")" "$(ratio "$a" "$b")" ">= 20,000" "$(yesno "$a >= 20000")"
  a=$(med "${sweep_np[@]}"); b=$(med "${sweep_nm[@]}")
  local worst i
  worst=$(for i in "${!sweep_np[@]}"; do calc "${sweep_np[$i]} / ${sweep_nm[$i]}"; done | sort -g | tail -n 1)
  row "tcp: sweep of ${#closed[@]} closed ports, s, process start incl. (nmap -p1-1024)" "$(fmt 3 "$a")" "$(fmt 3 "$b")" "$(ratio "$a" "$b")" \
    "<= 1.0 x every run" "$(yesno "$worst <= 1.0")"
  row "tcp: the worst run's ratio of the sweep (nmap)" "$(fmt 2 "$worst")" - - "<= 1.0" "$(yesno "$worst <= 1.0")"
  a=$(med "${cpu_np[@]}"); b=$(med "${cpu_nm[@]}")
  row "tcp: CPU % of a core per 1,000 connects/s, agent+client (nmap)" "$(fmt 2 "$a")" "$(fmt 2 "$b")" "$(ratio "$a" "$b")" - -
}

# ---------------------------------------------------------------------------
section_udp() {
  log "udp: echo RTT against the capture's, agent responder vs socat"
  local port socat_port socat_pid
  port=$(sed -n 's/.*udp echo responder on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/agent.sock.log")
  socat_port=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  socat -T 60 "UDP4-LISTEN:$socat_port,bind=127.0.0.1,fork,reuseaddr" PIPE &
  socat_pid=$!
  pids+=("$socat_pid")
  measure() {  # port label -> "median_gap p90 matched"
    tcpdump -i lo -nn -U --time-stamp-precision=nano -w "$work/$2.pcap" "udp and port $1" 2>"$work/tcpdump.log" &
    local td=$!
    for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done
    np --json udp -c 500 -i 2ms "127.0.0.1:$1" >"$work/$2.json"
    sleep 0.3
    kill "$td"; wait "$td" 2>/dev/null || true
    "$PY" - "$work/$2.pcap" "$work/$2.json" "$1" <<'PY'
import json, statistics, struct, sys
pcap, events, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(pcap, "rb").read()
assert struct.unpack("<I", data[:4])[0] == 0xa1b23c4d, "want a nanosecond pcap"
link = struct.unpack("<I", data[20:24])[0]
offset, sent, cap = 24, {}, {}
while offset + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack("<IIII", data[offset:offset + 16])
    frame = data[offset + 16:offset + 16 + incl]
    offset += 16 + incl
    ip = frame[14 if link == 1 else 0:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    sport, dport = struct.unpack(">HH", udp[:4])
    payload = udp[8:]
    if len(payload) < 12 or payload[:4] != b"NPUE":
        continue
    seq = struct.unpack(">I", payload[8:12])[0]
    t = sec + frac * 1e-9
    if dport == port and seq not in sent:
        sent[seq] = t
    elif sport == port and seq in sent and seq not in cap:
        cap[seq] = (t - sent[seq]) * 1e6
ours = {}
for line in open(events):
    r = json.loads(line).get("reply")
    if r and r["result"]["outcome"] == "OUTCOME_OK" and not r.get("duplicate"):
        ours[int(r["sequence"])] = float(r["rtt"].rstrip("s")) * 1e6
gaps = sorted(abs(ours[s] - cap[s]) for s in ours if s in cap)
print("%.2f %.2f %d %.2f" % (statistics.median(gaps), gaps[int(len(gaps) * 0.9)], len(gaps),
      statistics.median(cap.values())))
PY
  }
  local g_np=() g_so=() p_np=() p_so=() c_np=() c_so=() rep g p n c
  for rep in $(seq "$REPS"); do
    read -r g p n c <<<"$(measure "$port" agent)"; g_np+=("$g"); p_np+=("$p"); c_np+=("$c")
    read -r g p n c <<<"$(measure "$socat_port" socat)"; g_so+=("$g"); p_so+=("$p"); c_so+=("$c")
    log "  run $rep: gap median ${g_np[-1]} us (p90 ${p_np[-1]}) agent responder, ${g_so[-1]} us (p90 ${p_so[-1]}) socat; capture RTT ${c_np[-1]} vs ${c_so[-1]} us"
  done
  kill "$socat_pid" 2>/dev/null || true
  local a b
  a=$(med "${g_np[@]}"); b=$(med "${g_so[@]}")
  row "udp echo: median |RTT - capture RTT|, us, to the agent's responder (to socat)" "$a" "$b" "$(ratio "$a" "$b")" "< 3" "$(yesno "$a < 3")"
  a=$(med "${c_np[@]}"); b=$(med "${c_so[@]}")
  row "udp echo: capture RTT, us: agent's responder (socat's)" "$a" "$b" "$(ratio "$a" "$b")" - -
}

# ---------------------------------------------------------------------------
section_capture() {
  log "capture: $CAPTURE_RATE pps x $CAPTURE_S s, netprobe and tcpdump -w on the same blast"
  local port=9000 count=$((CAPTURE_RATE * CAPTURE_S)) limit=$((CAPTURE_S + 10))
  "$BENCH/udp_blast" --sink "127.0.0.1:$port" >"$work/blastsink.out" &
  local sink=$!
  pids+=("$sink")
  for _ in $(seq 50); do grep -q ready "$work/blastsink.out" && break; sleep 0.1; done
  local total_of
  total_of() { sed -n "s/^\([0-9]*\) packets\{0,1\} $2.*/\1/p" "$1" | tail -n 1 | grep . || echo 0; }
  local f_np=() f_td=() ok_np=() ok_td=() us_np=() us_td=() sent_all=() rep
  for rep in $(seq "$CAPTURE_REPS"); do
    rm -f "$work"/cap-*.pcap
    /usr/bin/time -f '%U %S' -o "$work/npc.time" "$CLIENT" --agent "unix:$work/agent.sock" \
      capture -i lo -c "$count" --duration "${limit}s" -w "$work/cap-np.pcap" udp port "$port" 2>"$work/npc.err" &
    local npc=$!
    /usr/bin/time -f '%U %S' -o "$work/td.time" timeout -s INT "$limit" tcpdump -i lo -nn -B 16384 -c "$count" \
      -w "$work/cap-td.pcap" udp port "$port" 2>"$work/td.err" &
    local tdp=$!
    pids+=("$npc" "$tdp")
    for _ in $(seq 100); do
      grep -q "listening on" "$work/npc.err" 2>/dev/null && grep -q "listening on" "$work/td.err" 2>/dev/null && break
      sleep 0.1
    done
    local a0 a1 out sent achieved fnp ftd knp ktd anp c_np c_td
    a0=$(cpu_s "$agent_pid")
    out=$(/usr/bin/time -f 'cpu %U %S' "$BENCH/udp_blast" -r "$CAPTURE_RATE" -d "$CAPTURE_S" -s 64 "127.0.0.1:$port" 2>&1) || true
    wait "$npc" || true
    wait "$tdp" || true
    a1=$(cpu_s "$agent_pid")
    sent=$(sed -n 's/^sent \([0-9]*\) in.*/\1/p' <<<"$out")
    achieved=$(sed -n 's/.* = \([0-9]*\) pps.*/\1/p' <<<"$out")
    fnp=$(tcpdump --count -r "$work/cap-np.pcap" 2>/dev/null | awk '{print $1}')
    ftd=$(tcpdump --count -r "$work/cap-td.pcap" 2>/dev/null | awk '{print $1}')
    rm -f "$work"/cap-*.pcap
    knp=$(($(total_of "$work/npc.err" "dropped by kernel") + $(total_of "$work/npc.err" "dropped by interface")))
    anp=$(total_of "$work/npc.err" "dropped by agent")
    ktd=$(($(total_of "$work/td.err" "dropped by kernel") + $(total_of "$work/td.err" "dropped by interface")))
    c_np=$(calc "$a1 - $a0 + $(time_s "$work/npc.time")")
    c_td=$(time_s "$work/td.time")
    f_np+=("${fnp:-0}"); f_td+=("${ftd:-0}"); sent_all+=("${sent:-0}")
    ok_np+=("$([ "${fnp:-0}" = "${sent:-x}" ] && [ "$knp" = 0 ] && [ "$anp" = 0 ] && echo 1 || echo 0)")
    ok_td+=("$([ "${ftd:-0}" = "${sent:-x}" ] && [ "$ktd" = 0 ] && echo 1 || echo 0)")
    us_np+=("$(calc "$c_np * 1000000 / ${sent:-1}")"); us_td+=("$(calc "$c_td * 1000000 / ${sent:-1}")")
    log "  run $rep: sent $sent ($achieved pps achieved); in file: netprobe $fnp (dropped kernel $knp, agent $anp), tcpdump $ftd (dropped $ktd); CPU us/packet netprobe $(fmt 2 "${us_np[-1]}") (agent $(fmt 1 "$(calc "$a1 - $a0")") s), tcpdump $(fmt 2 "${us_td[-1]}")"
  done
  kill "$sink" 2>/dev/null || true
  local zn zt a b
  zn=$(printf '%s\n' "${ok_np[@]}" | awk '{s += $1} END {print s}')
  zt=$(printf '%s\n' "${ok_td[@]}" | awk '{s += $1} END {print s}')
  a=$(med "${f_np[@]}"); b=$(med "${f_td[@]}")
  row "capture: packets in the file of $(med "${sent_all[@]}") sent, ${CAPTURE_RATE} pps x ${CAPTURE_S} s (tcpdump -w)" "$a" "$b" "$(ratio "$a" "$b")" \
    "all, 0 drops" "$(yesno "$zn == $CAPTURE_REPS")"
  row "capture: runs with zero drops (tcpdump -w)" "$zn of $CAPTURE_REPS" "$zt of $CAPTURE_REPS" - - -
  row "capture: zero-drop pps streamed to the client, as a ratio (tcpdump -w)" \
    "$([ "$zn" = "$CAPTURE_REPS" ] && echo "$CAPTURE_RATE" || echo "<$CAPTURE_RATE")" \
    "$([ "$zt" = "$CAPTURE_REPS" ] && echo "$CAPTURE_RATE" || echo "<$CAPTURE_RATE")" \
    "$([ "$zn" = "$CAPTURE_REPS" ] && [ "$zt" = "$CAPTURE_REPS" ] && echo 1.00 || echo -)" ">= 100,000 for 60 s" \
    "$(yesno "$zn == $CAPTURE_REPS && $CAPTURE_RATE >= 100000 && $CAPTURE_S >= 60")"
  a=$(med "${us_np[@]}"); b=$(med "${us_td[@]}")
  row "capture: CPU us per packet, agent+client (tcpdump -w)" "$(fmt 2 "$a")" "$(fmt 2 "$b")" "$(ratio "$a" "$b")" "<= 2 x" \
    "$(yesno "$a <= 2 * $b")"
}

# ---------------------------------------------------------------------------
section_sockets() {
  log "sockets: $SOCKET_CONNS loopback connections held, netprobe vs ss"
  "$PY" -c '
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (2 * n + 100, 2 * n + 100))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
keep = []
for _ in range(n):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); keep += [c, a]
print("ready", flush=True)
time.sleep(300)' "$SOCKET_CONNS" >"$work/holder.out" &
  local holder=$!
  pids+=("$holder")
  for _ in $(seq 600); do grep -q ready "$work/holder.out" && break; sleep 0.1; done
  local listed ss_listed
  listed=$(np sockets -ta | tail -n +2 | wc -l)
  ss_listed=$(ss -Htan | wc -l)
  log "  listed: netprobe $listed, ss $ss_listed"
  seconds() { local s e; s=$(now); "$@" >/dev/null 2>&1 || true; e=$(now); calc "$e - $s"; }
  local a=() b=() c=() d=() rep
  for rep in $(seq "$REPS"); do
    a+=("$(seconds np sockets -ta)"); b+=("$(seconds ss -tan)")
    c+=("$(seconds np sockets -tai -p)"); d+=("$(seconds ss -taip)")
  done
  kill "$holder" 2>/dev/null || true
  local x y
  x=$(med "${a[@]}"); y=$(med "${b[@]}")
  row "sockets: list $listed TCP sockets, s, whole command (ss -tan)" "$(fmt 3 "$x")" "$(fmt 3 "$y")" "$(ratio "$x" "$y")" "<= 1.5 x" \
    "$(yesno "$x <= 1.5 * $y")"
  x=$(med "${c[@]}"); y=$(med "${d[@]}")
  row "sockets: the same with TCP_INFO and owners, s (ss -taip)" "$(fmt 3 "$x")" "$(fmt 3 "$y")" "$(ratio "$x" "$y")" - -
}

# ---------------------------------------------------------------------------
section_traceroute() {
  log "traceroute: a 5-hop lab, netprobe vs traceroute and mtr, $TRACE_REPS runs each"
  if ! AGENT=$AGENT CLIENT=$CLIENT REPS=$TRACE_REPS "$ROOT/tests/bench/traceroute_bench.sh" \
    --rows "$rows" 2>&1 | sed 's/^/  /'; then
    row "traceroute: FAILED (the log above)" - - - - NO
  fi
}

# ---------------------------------------------------------------------------
section_throughput() {
  log "throughput: 1 TCP stream on loopback, netprobe vs iperf3 -c, $TP_ROUNDS rounds of $TP_SECONDS s"
  if ! AGENT=$AGENT CLIENT=$CLIENT ROUNDS=$TP_ROUNDS SECONDS_PER_TEST=$TP_SECONDS \
    "$ROOT/tests/bench/throughput_bench.sh" --rows "$rows" 2>&1 | sed 's/^/  /'; then
    row "throughput: FAILED (the log above)" - - - - NO
  fi
}

# ---------------------------------------------------------------------------
section_mesh() {
  log "mesh: one agent, 999 loopback peers, 3 kinds, interval 60 s; fping -c 1"
  if ! AGENT=$AGENT REPS=$REPS "$ROOT/tests/bench/mesh_bench.sh" --rows "$rows" 2>&1 | sed 's/^/  /'; then
    row "mesh: FAILED (the log above)" - - - - NO
  fi
}

# ---------------------------------------------------------------------------
section_micro() {
  [ -x "$BENCH/micro_bench" ] || { log "micro: not built (libbenchmark-dev missing)"; return; }
  log "micro: tests/bench/micro_bench"
  "$BENCH/micro_bench" --benchmark_min_time=0.2 --benchmark_repetitions="$REPS" \
    --benchmark_report_aggregates_only=true --benchmark_out="$work/micro.json" \
    --benchmark_out_format=json >"$work/micro.txt" 2>&1 || true
  "$PY" - "$work/micro.json" <<'PY' >>"$rows"
import json, sys
names = {
    "BM_Checksum/64": "micro: ICMP checksum, 64 bytes, ns",
    "BM_ParseIcmpV4EchoReply": "micro: parse an IPv4 echo reply (raw socket), ns",
    "BM_ReplyMatchUnorderedMap": "micro: reply matching, unordered_map, 1,000 in flight, ns",
    "BM_ReplyMatchFlatArray": "micro: reply matching, flat array (for comparison), ns",
    "BM_PingEventsSerialize": "micro: ping event to protobuf (agent), ns per event",
    "BM_PingEventToJsonLine": "micro: ping event to a JSON line (client --json), ns",
    "BM_CaptureBatchBuildAndSerialize": "micro: captured packet to protobuf (agent), ns",
    "BM_CaptureBatchParse": "micro: captured packet from protobuf (client), ns",
    "BM_PcapWrite/pcapng:0": "micro: pcap record written (client -w), ns",
    "BM_PingEventToJsonLineProtobuf": "micro: ping event to a JSON line by protobuf's printer (the old path), ns",
    "BM_CaptureRecordsBuildAndSerialize": "micro: captured packet packed as a pcap record, to protobuf (agent), ns",
    "BM_CaptureRecordsParse": "micro: packed pcap records from protobuf (client), ns per packet",
    "BM_PcapWriteRecords/pcapng:0": "micro: packed pcap records written (client -w), ns per packet",
}
goals = {"BM_PingEventToJsonLine": ("<= 2,000", 2000.0)}
per_item = {"BM_PingEventsSerialize": 64, "BM_CaptureBatchBuildAndSerialize": 64, "BM_CaptureBatchParse": 64,
            "BM_CaptureRecordsBuildAndSerialize": 64, "BM_CaptureRecordsParse": 64, "BM_PcapWriteRecords/pcapng:0": 64}
runs = json.load(open(sys.argv[1]))["benchmarks"]
aggregated = any(b.get("aggregate_name") == "median" for b in runs)
for b in runs:
    if (b.get("aggregate_name") != "median") if aggregated else (b.get("run_type") != "iteration"):
        continue
    name = b["run_name"]
    if name not in names: continue
    ns = b["cpu_time"] / per_item.get(name, 1)
    goal = goals.get(name)
    print("%s\t%.1f\t-\t-\t%s\t%s" % (names[name], ns, goal[0] if goal else "-",
                                       ("yes" if ns <= goal[1] else "NO") if goal else "-"))
PY
}

# ---------------------------------------------------------------------------
main_agent_needed=0
for s in $SECTIONS; do case $s in ping | tcp | udp | capture | sockets) main_agent_needed=1 ;; esac; done
for s in $SECTIONS; do
  if [ "$s" = agent ]; then section_agent; fi
done
if [ "$main_agent_needed" = 1 ]; then
  start_agent "$work/agent.sock" --udp-echo 127.0.0.1:0 --enable-probe Capture
fi
for s in $SECTIONS; do
  case $s in
    agent) ;;
    ping | tcp | udp | capture | sockets | traceroute | throughput | mesh | micro) "section_$s" ;;
    *) echo "run_all: unknown section $s" >&2 ;;
  esac
done
[ -n "$agent_pid" ] && stop_agent

load1=$(cut -d' ' -f1-3 /proc/loadavg)
{
  printf '\nnetprobe benchmark suite, %s, %s, %s, %d cores, %s GiB; load average %s before, %s after\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$(. /etc/os-release && echo "$PRETTY_NAME")" "$(nproc)" \
    "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" "$load0" "$load1"
  printf 'median of %s runs (capture: %s); peer tool in parentheses; ratio = netprobe / peer\n\n' "$REPS" "$CAPTURE_REPS"
  awk -F'\t' 'BEGIN {printf "%-82s %16s %12s %7s %20s %5s\n", "metric", "netprobe", "peer", "ratio", "goal", "met"}
    {printf "%-82s %16s %12s %7s %20s %5s\n", $1, $2, $3, $4, $5, $6}' "$rows"
  if [ -s "$work/micro.txt" ]; then
    echo
    echo "micro_bench (median of $REPS; per call, or per item where items_per_second shows):"
    grep -E "^BM_.*_median" "$work/micro.txt" || grep -E "^BM_" "$work/micro.txt" || true
  fi
} | tee "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cp "$rows" "${RESULTS%.txt}.tsv"
echo "(table also in $RESULTS, rows as TSV in ${RESULTS%.txt}.tsv)"
