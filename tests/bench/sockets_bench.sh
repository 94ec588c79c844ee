#!/usr/bin/env bash
# Sockets benchmark, on demand (not a test), as root. Release build; in a
# network namespace of its own, a python process holds CONNS TCP connections
# on loopback (2 x CONNS sockets plus a listener; default 5,000 -> 10,001
# sockets), and an agent on a private unix socket lists them, side by side
# with ss in the same run:
#   1. `netprobe sockets -ta` against `ss -tan` (wall time of the whole
#      command, output to /dev/null; netprobe's includes the gRPC round trip
#      and the client's table).
#   2. the same with TCP_INFO and owners: `-tai -p` against `ss -taip`.
# Medians of REPS runs (default 7). Goal: 10,000 sockets in under a second.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-7}
CONNS=${CONNS:-5000}

./scripts/install-deps.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe >/dev/null

ns=netprobe-sockbench-$$
work=$(mktemp -d /tmp/netprobe-sockets-bench-XXXXXX)
cleanup() {
  kill ${agent_pid:-} ${holder_pid:-} 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
inns() { ip netns exec "$ns" "$@"; }

# CONNS connections to one listener, all held open (at most 10 minutes).
ip netns exec "$ns" /usr/bin/python3 -c '
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (2 * n + 100, 2 * n + 100))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
keep = []
for _ in range(n):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); keep += [c, a]
print("ready", flush=True)
time.sleep(600)' "$CONNS" >"$work/holder.out" &
holder_pid=$!
for _ in $(seq 600); do grep -q ready "$work/holder.out" && break; sleep 0.1; done
grep -q ready "$work/holder.out" || { echo "the socket holder did not start" >&2; exit 1; }

ip netns exec "$ns" build-release/agent/netprobe-agent --listen "unix:$work/agent.sock" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
np() { build-release/client/netprobe --agent "unix:$work/agent.sock" "$@"; }

listed=$(np sockets -ta | tail -n +2 | wc -l)
ss_listed=$(inns ss -Htan | wc -l)
echo "sockets listed: netprobe $listed, ss $ss_listed"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() {  # the wall time of "$@", output discarded
  local s e
  s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
np_plain=(); ss_plain=(); np_info=(); ss_info=()
for _ in $(seq "$REPS"); do
  np_plain+=("$(seconds np sockets -ta)")
  ss_plain+=("$(seconds inns ss -tan)")
  np_info+=("$(seconds np sockets -tai -p)")
  ss_info+=("$(seconds inns ss -taip)")
done
m() { printf '%s\n' "$@" | median; }
a=$(m "${np_plain[@]}"); b=$(m "${ss_plain[@]}"); c=$(m "${np_info[@]}"); d=$(m "${ss_info[@]}")
printf '\n%-44s %10s %10s %7s\n' "metric ($listed sockets, median of $REPS)" netprobe ss ratio
printf '%-44s %10.3f %10.3f %7.2f\n' "list TCP sockets, seconds" "$a" "$b" "$(echo "$b / $a" | bc -l)"
printf '%-44s %10.3f %10.3f %7.2f\n' "with TCP_INFO and owners, seconds" "$c" "$d" "$(echo "$d / $c" | bc -l)"
echo "(ratio = ss time / netprobe time: above 1 means netprobe is faster)"
