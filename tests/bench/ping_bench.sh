#!/usr/bin/env bash
# Ping benchmark, on demand (not a test), as root. Release build, an agent on a
# private unix socket, 1,000 loopback targets (127.0.1.1 ...), side by side
# with fping in the same run:
#   1. probes/s: COUNT rounds to 1,000 targets as fast as each tool goes
#      (netprobe --rate 100000 -i 1ms; fping -p 1 -i 0), and the loss; netprobe
#      once with its text output (a line per reply, like fping) and once with
#      --json (the loss is read from it).
#   2. RTT gap: netprobe's reported RTT against the RTT that the kernel's own
#      capture timestamps give for the same packets (tcpdump -i lo,
#      nanosecond timestamps), per packet; the median absolute gap.
# Medians of REPS runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}
COUNT=${COUNT:-20}

./scripts/install-deps.sh >/dev/null
command -v fping >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fping >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe >/dev/null

work=$(mktemp -d /tmp/netprobe-ping-bench-XXXXXX)
cleanup() { kill "$agent_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
build-release/agent/netprobe-agent --listen "unix:$work/agent.sock" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
np() { build-release/client/netprobe --agent "unix:$work/agent.sock" "$@"; }

targets=()
for i in $(seq 0 999); do targets+=("127.0.$((1 + i / 250)).$((1 + i % 250))"); done
total=$((COUNT * ${#targets[@]}))

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

np_rate=(); np_loss=(); np_text_rate=(); fp_rate=(); fp_loss=()
for _ in $(seq "$REPS"); do
  s=$(now)
  np ping -c "$COUNT" -i 1ms --rate 100000 -W 1s "${targets[@]}" >/dev/null || true
  e=$(now)
  np_text_rate+=("$(echo "$total / ($e - $s)" | bc -l)")
  s=$(now)
  np --json ping -c "$COUNT" -i 1ms --rate 100000 -W 1s "${targets[@]}" >"$work/np.json" || true
  e=$(now)
  np_rate+=("$(echo "$total / ($e - $s)" | bc -l)")
  np_loss+=("$(/usr/bin/python3 -c '
import json,sys
sent=recv=0
for line in open(sys.argv[1]):
    ev=json.loads(line)
    if "summary" in ev: sent+=int(ev["summary"]["sent"]); recv+=int(ev["summary"]["received"])
print(100.0*(sent-recv)/sent if sent else 100)' "$work/np.json")")
  s=$(now)
  fping -q -c "$COUNT" -p 1 -i 0 -t 1000 "${targets[@]}" 2>"$work/fp.txt" || true
  e=$(now)
  fp_rate+=("$(echo "$total / ($e - $s)" | bc -l)")
  fp_loss+=("$(awk -F'[/=,%]' '/xmt/ {x+=$5; r+=$6} END {print (x ? 100*(x-r)/x : 100)}' "$work/fp.txt")")
done

# RTT gap against the kernel's capture timestamps on lo.
tcpdump -i lo -nn -U --time-stamp-precision=nano -w "$work/lo.pcap" 'icmp and host 127.0.0.1' \
  2>"$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done
np --json ping -c 500 -i 2ms 127.0.0.1 >"$work/gap.json"
sleep 0.5; kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
gap=$(tcpdump -r "$work/lo.pcap" -nn -tt --time-stamp-precision=nano 2>/dev/null |
  /usr/bin/python3 -c '
import json,re,sys,statistics
req={}; cap={}
for line in sys.stdin:
    m=re.match(r"([0-9.]+) .*ICMP echo (request|reply), id \d+, seq (\d+)", line)
    if not m: continue
    t=float(m.group(1)); kind=m.group(2); seq=int(m.group(3))
    if kind=="request": req[seq]=t
    elif seq in req and seq not in cap: cap[seq]=(t-req[seq])*1e6
ours={}
for line in open(sys.argv[1]):
    ev=json.loads(line)
    r=ev.get("reply")
    if r and r["result"]["outcome"]=="OUTCOME_OK" and not r.get("duplicate"):
        ours[int(r["sequence"])]=float(r["rtt"].rstrip("s"))*1e6
# Our wire sequence equals the per-target sequence for a single target.
gaps=[abs(ours[s]-cap[s]) for s in ours if s in cap]
print("%.2f %d %.2f %.2f" % (statistics.median(gaps), len(gaps),
      statistics.median(ours.values()), statistics.median(cap.values())))' "$work/gap.json")
read -r gap_us gap_n our_med cap_med <<<"$gap"

printf '\nPing benchmark, %s, %d cores, %d targets x %d, median of %d runs\n' \
  "$(uname -r)" "$(nproc)" "${#targets[@]}" "$COUNT" "$REPS"
printf '%-40s %12s %12s %8s\n' metric netprobe fping ratio
r1=$(printf '%s\n' "${np_rate[@]}" | median); r2=$(printf '%s\n' "${fp_rate[@]}" | median)
l1=$(printf '%s\n' "${np_loss[@]}" | median); l2=$(printf '%s\n' "${fp_loss[@]}" | median)
r0=$(printf '%s\n' "${np_text_rate[@]}" | median)
printf '%-40s %12.0f %12.0f %8.2f\n' "probes/s, 1,000 targets, text output" "$r0" "$r2" "$(echo "$r0 / $r2" | bc -l)"
printf '%-40s %12.0f %12.0f %8.2f\n' "probes/s, 1,000 targets, --json" "$r1" "$r2" "$(echo "$r1 / $r2" | bc -l)"
printf '%-40s %12.2f %12.2f %8s\n' "loss %" "$l1" "$l2" "-"
printf '%-40s %12.2f %12s %8s\n' "median |RTT - capture RTT|, us ($gap_n)" "$gap_us" "-" "-"
printf '%-40s %12.2f %12.2f %8s\n' "median RTT us: netprobe vs capture" "$our_med" "$cap_med" "-"
