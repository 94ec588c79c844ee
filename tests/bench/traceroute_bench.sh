#!/usr/bin/env bash
# Traceroute benchmark, on demand (not a test), as root. A 5-hop lab of its
# own (network namespaces joined by veth pairs, IPv4, forwarding on):
#
#   src 198.18.0.1 - r1 - r2 - r3 - r4 - dst 198.18.4.2
#
# link k (0..4) is 198.18.k.0/24, .1 on the source's side, .2 on the other;
# each router answers from its address toward the source (198.18.(k-1).2),
# and every namespace sends its ICMP errors without rate limits (per
# destination and the namespace's budget), as the C++ lab does. An agent runs
# in src on a private unix socket; in src, REPS times each, one after the
# other, the wall time of a full trace to dst with each tool's defaults:
#   netprobe traceroute -n 198.18.4.2   (client and agent; UDP, 3 probes a hop)
#   traceroute -n 198.18.4.2            (Debian's traceroute 2.1, the same)
#   mtr --report -n -c 1 198.18.4.2     (one round of ICMP echo; its 5 s
#                                        grace time after the round is mtr's
#                                        default and counted)
# Whole commands, process start included; the median of each, and the ratio
# netprobe / peer. A run whose last hop line is not the target's counts as
# failed (a row says how many).
#
#   sudo tests/bench/traceroute_bench.sh        builds the release build and
#                                               prints the table
#   tests/bench/run_all.sh (section traceroute) runs it with --rows FILE:
#                                               no build, rows appended to FILE
#
# Environment: REPS (20); AGENT and CLIENT (the release build's).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SELF=$ROOT/tests/bench/traceroute_bench.sh
REPS=${REPS:-20}
AGENT=${AGENT:-$ROOT/build-release/agent/netprobe-agent}
CLIENT=${CLIENT:-$ROOT/build-release/client/netprobe}
export REPS AGENT CLIENT
TARGET=198.18.4.2
HOPS=5

# ---------------------------------------------------------------------------
# Inside the source namespace: the agent, the runs, the rows.
if [ "${1:-}" = --in-src ]; then
  work=$2
  rows=$3
  agent_pid=
  stop() {
    if [ -n "$agent_pid" ]; then
      kill "$agent_pid" 2>/dev/null || true
      wait "$agent_pid" 2>/dev/null || true
    fi
  }
  trap stop EXIT
  "$AGENT" --listen "unix:$work/agent.sock" 2>"$work/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$work/agent.log" && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "listening on" "$work/agent.log" || {
    echo "traceroute_bench: the agent did not start:" >&2
    cat "$work/agent.log" >&2
    exit 1
  }

  median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
  med() { printf '%s\n' "$@" | median; }
  # Runs a command, its output to $work/out; prints its wall time in s.
  wall() {
    local s=$EPOCHREALTIME
    timeout 120 "$@" >"$work/out" 2>&1 || true
    echo "$EPOCHREALTIME - $s" | bc -l
  }
  # 1 when the last hop line of $work/out is hop HOPS and shows the target.
  reached() {
    awk -v hop="$HOPS" -v target="$TARGET" '
      $1 ~ /^[0-9]+$/ {last = $0; n = $1}
      $1 ~ /^[0-9]+\.\|--$/ {last = $0; n = $1 + 0}
      END {print (n == hop && index(last, " " target " ") ? 1 : 0)}' "$work/out"
  }
  # The trace inside the agent, from --json: the first probe's send time to
  # the last answer (send time + RTT), in s: what the agent adds without the
  # client's process start and gRPC connection.
  span() {
    python3 -c '
import json, sys, datetime
first = last = None
for line in sys.stdin:
    r = json.loads(line).get("reply")
    if not r or "rtt" not in r:
        continue
    t = r["time"].rstrip("Z")
    head, _, frac = t.partition(".")
    sent = datetime.datetime.fromisoformat(head).timestamp() + float("0." + (frac or "0"))
    end = sent + float(r["rtt"].rstrip("s"))
    first = sent if first is None else min(first, sent)
    last = end if last is None else max(last, end)
print("nan" if first is None else "%.6f" % (last - first))'
  }
  np=() tr=() mt=() sp=()
  np_bad=0 tr_bad=0 mt_bad=0
  for rep in $(seq "$REPS"); do
    np+=("$(wall "$CLIENT" --agent "unix:$work/agent.sock" traceroute -n "$TARGET")")
    [ "$(reached)" = 1 ] || { np_bad=$((np_bad + 1)); cp "$work/out" "$work/np-bad.txt"; }
    [ "$rep" = 1 ] && cp "$work/out" "$work/np-first.txt"
    sp+=("$(timeout 120 "$CLIENT" --agent "unix:$work/agent.sock" --json traceroute -n "$TARGET" | span)")
    tr+=("$(wall traceroute -n "$TARGET")")
    [ "$(reached)" = 1 ] || { tr_bad=$((tr_bad + 1)); cp "$work/out" "$work/tr-bad.txt"; }
    [ "$rep" = 1 ] && cp "$work/out" "$work/tr-first.txt"
    mt+=("$(wall mtr --report -n -c 1 "$TARGET")")
    [ "$(reached)" = 1 ] || { mt_bad=$((mt_bad + 1)); cp "$work/out" "$work/mt-bad.txt"; }
    [ "$rep" = 1 ] && cp "$work/out" "$work/mt-first.txt"
    printf '[%s]   run %d: netprobe %.3f s, traceroute %.3f s, mtr %.3f s\n' \
      "$(date +%H:%M:%S)" "$rep" "${np[-1]}" "${tr[-1]}" "${mt[-1]}"
  done
  for f in np-first tr-first mt-first np-bad tr-bad mt-bad; do
    [ -f "$work/$f.txt" ] || continue
    echo "--- $f:"
    cat "$work/$f.txt"
  done
  a=$(med "${np[@]}")
  b=$(med "${tr[@]}")
  c=$(med "${mt[@]}")
  d=$(med "${sp[@]}")
  ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
  {
    printf 'traceroute: %d-hop trace, s, whole command, median of %d (traceroute -n)\t%.3f\t%.3f\t%s\t-\t-\n' \
      "$HOPS" "$REPS" "$a" "$b" "$(ratio "$a" "$b")"
    printf 'traceroute: the same (mtr --report -n -c 1, with its 5 s grace time)\t%.3f\t%.3f\t%s\t-\t-\n' \
      "$a" "$c" "$(ratio "$a" "$c")"
    printf 'traceroute: the trace in the agent (first probe to last answer, --json), s (traceroute -n whole)\t%.4f\t%.3f\t%s\t-\t-\n' \
      "$d" "$b" "$(ratio "$d" "$b")"
    printf 'traceroute: runs not reaching the target, of %d (traceroute / mtr)\t%d\t%d / %d\t-\t0\t%s\n' \
      "$REPS" "$np_bad" "$tr_bad" "$mt_bad" "$([ "$np_bad" = 0 ] && echo yes || echo NO)"
  } >>"$rows"
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build (unless run_all did), the lab, then this script in src.
[ "$(id -u)" -eq 0 ] || { echo "traceroute_bench: run as root (namespaces)" >&2; exit 1; }
rows=
if [ "${1:-}" = --rows ]; then
  rows=$2
else
  ./scripts/install-deps.sh >/dev/null
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe >/dev/null
fi
for tool in traceroute mtr bc; do
  command -v "$tool" >/dev/null || { echo "traceroute_bench: no $tool (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/netprobe-traceroute-bench-XXXXXX)
prefix=netprobe-trbench-$$
names=(src r1 r2 r3 r4 dst)
cleanup() {
  local name p
  for name in "${names[@]}"; do
    # What runs in these namespaces is ours (they are this run's): by pid.
    for p in $(ip netns pids "$prefix-$name" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  for name in "${names[@]}"; do ip netns del "$prefix-$name" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in "${!names[@]}"; do
  ns=$prefix-${names[n]}
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  for setting in net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 \
    net.ipv4.icmp_msgs_burst=100000; do
    ip netns exec "$ns" sysctl -qw "$setting"
  done
done
for ((k = 0; k < HOPS; k++)); do  # link k: node k (eth1, or eth0 for src) - node k+1 (eth0)
  left=$prefix-${names[k]}
  right=$prefix-${names[k + 1]}
  lif=eth1
  [ "$k" = 0 ] && lif=eth0
  ip -n "$left" link add "$lif" type veth peer name eth0 netns "$right"
  ip -n "$left" addr add "198.18.$k.1/24" dev "$lif"
  ip -n "$right" addr add "198.18.$k.2/24" dev eth0
  ip -n "$left" link set "$lif" up
  ip -n "$right" link set eth0 up
done
for ((n = 0; n <= HOPS; n++)); do
  ns=$prefix-${names[n]}
  if [ "$n" -lt "$HOPS" ]; then
    ip -n "$ns" route add default via "198.18.$n.2"
  else
    ip -n "$ns" route add default via "198.18.$((n - 1)).1"
  fi
  if [ "$n" -gt 0 ] && [ "$n" -lt "$HOPS" ]; then
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  fi
  if [ "$n" -gt 1 ] && [ "$n" -lt "$HOPS" ]; then  # back to the source (r1: its own link)
    ip -n "$ns" route add 198.18.0.0/24 via "198.18.$((n - 1)).1"
  fi
done
# Every hop answers before the runs start (neighbours resolved).
ip netns exec "$prefix-src" ping -c 1 -W 2 "$TARGET" >/dev/null ||
  { echo "traceroute_bench: $TARGET does not answer through the lab" >&2; exit 1; }

echo "[$(date +%H:%M:%S)] traceroute: $HOPS hops ($prefix-*), $REPS runs of each tool"
mine=$work/rows.tsv
: >"$mine"
ip netns exec "$prefix-src" "$SELF" --in-src "$work" "$mine"
if [ -n "$rows" ]; then
  cat "$mine" >>"$rows"
else
  printf '\nTraceroute benchmark, %s, %d cores, load average %s; median of %d runs; ratio = netprobe / peer\n\n' \
    "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPS"
  awk -F'\t' 'BEGIN {printf "%-82s %16s %12s %7s %20s %5s\n", "metric", "netprobe", "peer", "ratio", "goal", "met"}
    {printf "%-82s %16s %12s %7s %20s %5s\n", $1, $2, $3, $4, $5, $6}' "$mine"
fi
