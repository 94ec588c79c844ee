#!/usr/bin/env bash
# Capture benchmark, on demand (not a test), as root. Release build, side by
# side with tcpdump -w in the same run, on loopback inside a network namespace
# of its own (netprobe-capbench-PID, deleted on exit): an agent in it on a
# private unix socket, a UDP sink on 127.0.0.1:9000 that never reads, and
# tests/bench/udp_blast sending 64-byte datagrams to it at a paced rate.
#   1. The goal: RATE pps (default 100,000) for DURATION s (default 60) with
#      zero drops, streamed to a client writing a pcap file:
#        netprobe capture -i lo -c N --duration D -w FILE udp port 9000
#      and on its own identical blast
#        tcpdump -i lo -B 16384 -c N -w FILE udp port 9000
#      (16 MiB ring for both: the agent's ring is 16 MiB). Packets sent, in the
#      file (tcpdump --count -r: the truth), dropped (kernel + agent), how long
#      after the last send each tool had everything; the agent's peak RSS
#      (VmRSS sampled every 0.2 s, and VmHWM), CPU seconds (user+sys) of
#      agent, client and tcpdump, per thread for agent and client.
#   2. The ratio: a ramp of RATES, STEP s each (default 5), per tool, stopping
#      at the first rate with a drop (or where udp_blast falls >5% short of
#      its target: then the tool's figure is a lower bound, marked ">=").
#      If the first rate drops, the ramp goes down by halves (3 at most).
#      A rate counts when all REPS runs (default 1) at it are zero-drop.
#      Ratio = netprobe's highest zero-drop rate / tcpdump's.
# On lo every packet passes the capture tap twice (sent and received); libpcap
# skips the outgoing copy, so "received by filter" is twice the count for both
# tools, and the ring holds both copies.
# Capture files go to a private dir in /dev/shm (tmpfs), so disk speed limits
# neither tool; each is deleted once counted. About 5-6 minutes with the
# defaults. Environment: DURATION, RATE, STEP, REPS, RATES.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-60}
RATE=${RATE:-100000}
STEP=${STEP:-5}
REPS=${REPS:-1}
RATES=${RATES:-"100000 200000 300000 350000 400000 450000 500000 550000 600000 700000 800000 1000000"}
PAYLOAD=64
PORT=9000
filter=(udp port "$PORT")

[ "$(id -u)" -eq 0 ] || { echo "capture_bench: run as root" >&2; exit 1; }
./scripts/install-deps.sh >/dev/null
command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe udp_blast >/dev/null
agent_bin=build-release/agent/netprobe-agent
client_bin=build-release/client/netprobe
blast_bin=build-release/tests/bench/udp_blast
hz=$(getconf CLK_TCK)

ns=netprobe-capbench-$$
work=$(mktemp -d /dev/shm/netprobe-capbench-XXXXXX)
agent_pid=; sink_pid=; tool_pid=; mon_pid=
cleanup() {
  # Only what this script started, by pid.
  # The tools run under /usr/bin/time (and timeout): their children first.
  for p in $mon_pid $(if [ -n "$tool_pid" ]; then pgrep -P "$tool_pid"; fi) $tool_pid $sink_pid $agent_pid; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
# `ip netns exec` execs the command, so $! of `$inns cmd &` is cmd's pid (a
# shell function would put a subshell in between).
inns=(ip netns exec "$ns")

"${inns[@]}" "$blast_bin" --sink "127.0.0.1:$PORT" >"$work/sink.out" &
sink_pid=$!
"${inns[@]}" "$agent_bin" --listen "unix:$work/agent.sock" --enable-probe Capture 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do
  [ -S "$work/agent.sock" ] && grep -q ready "$work/sink.out" && break
  sleep 0.1
done
[ -S "$work/agent.sock" ] || { echo "capture_bench: the agent did not start" >&2; cat "$work/agent.log" >&2; exit 1; }

now() { date +%s.%N; }
fmt() { printf '%.*f' "$1" "$2"; }
# "N packets WHAT" from a tool's stderr totals; 0 when absent.
total_of() { sed -n "s/^\([0-9]*\) packets\{0,1\} $2.*/\1/p" "$1" | tail -n 1 | grep . || echo 0; }
# user+sys clock ticks of a process, and "tid ticks name" per thread.
proc_ticks() {
  local s a
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  read -r -a a <<<"${s##*) }"
  echo $((a[11] + a[12]))
}
thread_ticks() {
  local f s a name
  for f in /proc/"$1"/task/*/stat; do
    s=$(cat "$f" 2>/dev/null) || continue
    name=${s#*(}; name=${name%)*}
    read -r -a a <<<"${s##*) }"
    echo "${s%% *} $((a[11] + a[12])) ${name// /_}"
  done
}
# Per-thread CPU seconds between two thread_ticks snapshots, busiest first,
# threads of one name summed ("name xN: S s").
thread_delta() {
  awk -v hz="$hz" 'FILENAME == ARGV[1] { t0[$1] = $2; next }
    { d = $2 - t0[$1]; if (d > 0) { s[$3] += d; n[$3]++ } }
    END { for (k in s) printf "%.2f %s%s\n", s[k] / hz, k, (n[k] > 1 ? " x" n[k] : "") }' "$1" "$2" |
    sort -g -r | awk '{ t = $1; $1 = ""; sub(/^ /, ""); printf "%s%s: %s s", (NR > 1 ? ", " : ""), $0, t }'
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# Samples the agent's VmRSS and the client's threads until the client exits.
monitor() {  # client_pid max_seconds
  local max=0 rss
  for _ in $(seq $(($2 * 5))); do
    [ -e "/proc/$1" ] || break
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$agent_pid/status")
    if [ "$rss" -gt "$max" ]; then max=$rss; echo "$max" >"$work/rss.max"; fi
    thread_ticks "$1" >"$work/client.threads.tmp" && mv "$work/client.threads.tmp" "$work/client.threads"
    sleep 0.2
  done
}

# One capture of a blast: $1 tool (netprobe|tcpdump), $2 rate, $3 seconds.
# Sets: r_sent r_achieved r_file r_kdrop r_adrop r_ok r_lag r_cpu_tool
# r_cpu_agent r_cpu_client r_cpu_sender r_rss_client r_busy r_other, and prints
# the line.
run_one() {
  local tool=$1 rate=$2 secs=$3 count limit t_end t_done ticks0 ticks1 busy0 blast_out
  count=$((rate * secs))
  # Each tool stops itself at `count`; the limit (from the capture's start, a
  # little before the blast's) ends a run that lost packets or fell behind.
  limit=$((secs + 5))
  rm -f "$work/cap.pcap" "$work/tool.err" "$work/tool.time" "$work/rss.max" "$work/client.threads"
  ticks0=$(proc_ticks "$agent_pid")
  thread_ticks "$agent_pid" >"$work/agent.threads0"
  if [ "$tool" = netprobe ]; then
    /usr/bin/time -f '%U %S %M' -o "$work/tool.time" \
      "$client_bin" --agent "unix:$work/agent.sock" capture -i lo -c "$count" \
      --duration "${limit}s" -w "$work/cap.pcap" "${filter[@]}" 2>"$work/tool.err" &
  else
    "${inns[@]}" /usr/bin/time -f '%U %S %M' -o "$work/tool.time" \
      timeout -s INT "$limit" tcpdump -i lo -nn -B 16384 -c "$count" -w "$work/cap.pcap" \
      "${filter[@]}" 2>"$work/tool.err" &
  fi
  tool_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/tool.err" 2>/dev/null && break; sleep 0.1; done
  if [ "$tool" = netprobe ]; then
    local client_pid
    client_pid=$(pgrep -P "$tool_pid" | head -n 1)
    if [ -n "$client_pid" ]; then
      monitor "$client_pid" "$limit" &
      mon_pid=$!
    fi
  fi
  busy0=$(busy_ticks)
  blast_out=$("${inns[@]}" /usr/bin/time -f 'cpu %U %S' "$blast_bin" -r "$rate" -d "$secs" -s "$PAYLOAD" \
    "127.0.0.1:$PORT" 2>&1) || true
  t_end=$(now)
  wait "$tool_pid" || true
  t_done=$(now)
  tool_pid=
  r_busy=$(echo "($(busy_ticks) - $busy0) / $hz" | bc -l)
  if [ -n "$mon_pid" ]; then wait "$mon_pid" 2>/dev/null || true; mon_pid=; fi
  ticks1=$(proc_ticks "$agent_pid")
  thread_ticks "$agent_pid" >"$work/agent.threads1"
  r_sent=$(sed -n 's/^sent \([0-9]*\) in.*/\1/p' <<<"$blast_out")
  r_achieved=$(sed -n 's/.* = \([0-9]*\) pps.*/\1/p' <<<"$blast_out")
  r_cpu_sender=$(awk '/^cpu/ { print $2 + $3 }' <<<"$blast_out")
  [ -n "$r_sent" ] || { echo "capture_bench: udp_blast failed: $blast_out" >&2; exit 1; }
  r_file=$(tcpdump --count -r "$work/cap.pcap" 2>/dev/null | awk '{ print $1 }')
  r_file=${r_file:-0}
  rm -f "$work/cap.pcap"
  r_kdrop=$(($(total_of "$work/tool.err" "dropped by kernel") + $(total_of "$work/tool.err" "dropped by interface")))
  r_adrop=$(total_of "$work/tool.err" "dropped by agent")
  r_lag=$(echo "$t_done - $t_end" | bc -l)
  read -r tu ts r_rss_client < <(tail -n 1 "$work/tool.time")  # after any "exited with" line
  r_cpu_tool=$(echo "$tu + $ts" | bc -l)
  r_cpu_agent=0; r_cpu_client=0
  if [ "$tool" = netprobe ]; then
    r_cpu_client=$r_cpu_tool
    r_cpu_agent=$(echo "($ticks1 - $ticks0) / $hz" | bc -l)
    r_cpu_tool=$(echo "$r_cpu_agent + $r_cpu_client" | bc -l)
  fi
  r_other=$(echo "$r_busy - $r_cpu_tool - $r_cpu_sender" | bc -l)
  r_ok=no
  if [ "$r_file" -eq "$r_sent" ] && [ "$r_kdrop" -eq 0 ] && [ "$r_adrop" -eq 0 ]; then r_ok=yes; fi
  printf '  [%-8s] %7d pps x %3d s: sent %9d (%7d pps achieved), in file %9d, dropped kernel %d agent %d, done %.2f s after the last send%s, cpu %s %.2f s (sender %.2f s, other processes %.2f s) -> %s\n' \
    "$tool" "$rate" "$secs" "$r_sent" "$r_achieved" "$r_file" "$r_kdrop" "$r_adrop" "$r_lag" \
    "$([ "$r_file" -lt "$r_sent" ] && echo " (stopped by its time limit)")" \
    "$([ "$tool" = netprobe ] && echo "agent $(fmt 2 "$r_cpu_agent") s, client" || echo tcpdump)" \
    "$([ "$tool" = netprobe ] && echo "$r_cpu_client" || echo "$r_cpu_tool")" \
    "$r_cpu_sender" "$r_other" "$([ "$r_ok" = yes ] && echo zero-drop || echo DROPS)"
  if [ "$r_ok" = no ] && [ "$tool" = netprobe ]; then
    echo "             (client said: $(grep -v '^listening' "$work/tool.err" | tr '\n' ';'))"
  fi
}

# The highest zero-drop rate of a ramp; sets ramp_max (the target rate, "N" or
# ">=N"), ramp_best (the highest rate udp_blast achieved in a zero-drop run) and
# ramp_note.
ramp() {
  local tool=$1 rate ok last=0 first=1 down
  ramp_note=""; ramp_best=0
  for rate in $RATES; do
    ok=yes
    for _ in $(seq "$REPS"); do
      run_one "$tool" "$rate" "$STEP"
      if [ "$r_ok" = yes ] && [ "$r_achieved" -gt "$ramp_best" ]; then ramp_best=$r_achieved; fi
      if [ $((r_achieved * 100)) -lt $((rate * 95)) ]; then
        ramp_note="udp_blast reached only $r_achieved of $rate pps"
        ramp_max=">=$last"
        echo "  [$tool] stop: $ramp_note (generator-limited)"
        return
      fi
      [ "$r_ok" = yes ] || ok=no
    done
    if [ "$ok" = no ]; then
      if [ "$first" = 1 ]; then
        # Even the first rate drops: look below it, by halves.
        down=$rate
        for _ in 1 2 3; do
          down=$((down / 2))
          run_one "$tool" "$down" "$STEP"
          if [ "$r_ok" = yes ]; then ramp_max=$down; ramp_best=$r_achieved; ramp_note="first drop at $rate pps (halved)"; return; fi
        done
        ramp_max="<$down"; ramp_note="drops even at $down pps"; return
      fi
      ramp_max=$last
      ramp_note="first drop at $rate pps"
      return
    fi
    first=0
    last=$rate
  done
  ramp_max=">=$last"; ramp_note="no drop up to the last rate"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "capture benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) cores, load average $load0"
echo "phase 1: $RATE pps x $DURATION s, $PAYLOAD-byte payloads"
run_one netprobe "$RATE" "$DURATION"
p1_np=("$r_sent" "$r_achieved" "$r_file" "$r_kdrop" "$r_adrop" "$r_ok" "$r_lag" "$r_cpu_tool" "$r_cpu_agent" "$r_cpu_client" "$r_rss_client" "$r_other" "$r_cpu_sender")
agent_rss_max=$(cat "$work/rss.max" 2>/dev/null || echo 0)
agent_hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$agent_pid/status")
echo "    agent threads: $(thread_delta "$work/agent.threads0" "$work/agent.threads1")"
[ -s "$work/client.threads" ] &&
  echo "    client threads (sampled until 0.2 s before exit): $(thread_delta /dev/null "$work/client.threads")"
run_one tcpdump "$RATE" "$DURATION"
p1_td=("$r_sent" "$r_achieved" "$r_file" "$r_kdrop" "$r_adrop" "$r_ok" "$r_lag" "$r_cpu_tool" 0 0 "$r_rss_client" "$r_other" "$r_cpu_sender")

echo "phase 2: ramp $RATES pps, $STEP s each, $REPS run(s) per rate"
ramp netprobe; np_max=$ramp_max; np_best=$ramp_best; np_note=$ramp_note
ramp tcpdump; td_max=$ramp_max; td_best=$ramp_best; td_note=$ramp_note
load1=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() {  # a b -> a/b to 2 places, "-" when undefined
  local x=${1//[^0-9.]/} y=${2//[^0-9.]/}
  if [ -n "$x" ] && [ -n "$y" ] && [ "$(echo "$y > 0" | bc)" = 1 ]; then fmt 2 "$(echo "$x / $y" | bc -l)"; else echo -; fi
}
row() { printf '%-58s %14s %14s %8s\n' "$1" "$2" "$3" "${4:-$(ratio "$2" "$3")}"; }
printf '\nCapture benchmark, %s, %s, %d cores, load average %s before, %s after\n' \
  "$(date -u +%Y-%m-%d)" "$(uname -r)" "$(nproc)" "$load0" "$load1"
row metric netprobe "tcpdump -w" ratio
row "phase 1: packets sent ($RATE pps x $DURATION s)" "${p1_np[0]}" "${p1_td[0]}" -
row "phase 1: generator pps achieved" "${p1_np[1]}" "${p1_td[1]}" -
row "phase 1: packets in the file (tcpdump -r)" "${p1_np[2]}" "${p1_td[2]}"
row "phase 1: dropped by kernel" "${p1_np[3]}" "${p1_td[3]}" -
row "phase 1: dropped by agent" "${p1_np[4]}" - -
row "phase 1: zero drops" "${p1_np[5]}" "${p1_td[5]}" -
row "phase 1: all in the file, s after the last send" "$(fmt 2 "${p1_np[6]}")" "$(fmt 2 "${p1_td[6]}")" -
row "phase 1: CPU s user+sys (agent+client / tcpdump)" "$(fmt 2 "${p1_np[7]}")" "$(fmt 2 "${p1_td[7]}")"
row "phase 1: CPU us per packet (agent+client / tcpdump)" \
  "$(fmt 2 "$(echo "${p1_np[7]} * 1000000 / ${p1_np[0]}" | bc -l)")" "$(fmt 2 "$(echo "${p1_td[7]} * 1000000 / ${p1_td[0]}" | bc -l)")"
row "phase 1: CPU s, agent" "$(fmt 2 "${p1_np[8]}")" - -
row "phase 1: CPU s, client" "$(fmt 2 "${p1_np[9]}")" - -
row "phase 1: CPU s, udp_blast (sender + loopback softirq)" "$(fmt 2 "${p1_np[12]}")" "$(fmt 2 "${p1_td[12]}")" -
row "phase 1: CPU s of other processes (other load)" "$(fmt 2 "${p1_np[11]}")" "$(fmt 2 "${p1_td[11]}")" -
row "phase 1: agent peak RSS MiB (VmRSS sampled / VmHWM)" "$(fmt 1 "$(echo "$agent_rss_max / 1024" | bc -l)")/$(fmt 1 "$(echo "$agent_hwm / 1024" | bc -l)")" - -
row "phase 1: peak RSS MiB (agent VmHWM + client / tcpdump)" \
  "$(fmt 1 "$(echo "($agent_hwm + ${p1_np[10]}) / 1024" | bc -l)")" "$(fmt 1 "$(echo "${p1_td[10]} / 1024" | bc -l)")"
row "phase 1: peak RSS MiB, client" "$(fmt 1 "$(echo "${p1_np[10]} / 1024" | bc -l)")" - -
row "phase 2: highest zero-drop pps, target ($STEP s steps)" "$np_max" "$td_max"
row "phase 2: highest zero-drop pps, as udp_blast achieved it" "$np_best" "$td_best"
echo "  netprobe: $np_note; tcpdump: $td_note"
case "$np_max$td_max" in
  *">="*) echo "  (\">=\": the generator, sharing the cores with the capture, fell short first; a ratio with a lower bound in it is only indicative)" ;;
esac
if [ "${p1_np[5]}" = yes ] && [ "${p1_np[1]}" -ge $((RATE * 95 / 100)) ]; then
  echo "goal ($RATE pps for $DURATION s, zero drops): met"
else
  echo "goal ($RATE pps for $DURATION s, zero drops): NOT met (${p1_np[2]} of ${p1_np[0]} in the file)"
fi
