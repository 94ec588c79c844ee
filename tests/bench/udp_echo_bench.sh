#!/usr/bin/env bash
# UDP echo benchmark, on demand (not a test), as root. Release build, an agent
# on a private unix socket running its own echo responder on loopback:
#   RTT overhead: netprobe's reported RTT for each datagram against the RTT
#   that the kernel's capture timestamps give for the same datagram (tcpdump
#   -i lo, nanosecond timestamps; request and echo matched by our sequence);
#   the median and p90 of the absolute gap. Goal: median under 3 us.
# Also the RTT medians of both, and of the same run through socat's echo
# server instead of the agent's responder (the responder's own cost).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-1000}

./scripts/install-deps.sh >/dev/null
command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target netprobe-agent netprobe >/dev/null

work=$(mktemp -d /tmp/netprobe-udp-bench-XXXXXX)
cleanup() {
  kill "$agent_pid" ${socat_pid:-} 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
build-release/agent/netprobe-agent --listen "unix:$work/agent.sock" --udp-echo 127.0.0.1:0 \
  2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do grep -q "udp echo responder on" "$work/agent.log" && break; sleep 0.1; done
port=$(sed -n 's/.*udp echo responder on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/agent.log")
np() { build-release/client/netprobe --agent "unix:$work/agent.sock" "$@"; }

# A port for socat, chosen by the kernel.
socat_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
socat -T 60 "UDP4-LISTEN:$socat_port,bind=127.0.0.1,fork,reuseaddr" PIPE &
socat_pid=$!

measure() {  # $1 port, $2 label
  tcpdump -i lo -nn -U --time-stamp-precision=nano -w "$work/$2.pcap" "udp and port $1" \
    2>"$work/tcpdump.log" &
  local tcpdump_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done
  np --json udp -c "$COUNT" -i 2ms "127.0.0.1:$1" >"$work/$2.json"
  sleep 0.5; kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
  /usr/bin/python3 - "$work/$2.pcap" "$work/$2.json" "$1" <<'PY'
import json, statistics, struct, sys
pcap, events, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(pcap, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
assert magic == 0xa1b23c4d, "want a nanosecond pcap"
link = struct.unpack("<I", data[20:24])[0]
offset, sent, cap = 24, {}, {}
while offset + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack("<IIII", data[offset:offset + 16])
    frame = data[offset + 16:offset + 16 + incl]
    offset += 16 + incl
    l2 = 14 if link == 1 else 0
    ip = frame[l2:]
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
print("%.2f %.2f %d %.2f %.2f" % (statistics.median(gaps), gaps[int(len(gaps) * 0.9)],
      len(gaps), statistics.median(ours.values()), statistics.median(cap.values())))
PY
}

read -r gap p90 n ours capd <<<"$(measure "$port" agent)"
read -r sgap sp90 sn sours scapd <<<"$(measure "$socat_port" socat)"

printf '\nUDP echo benchmark, %s, %d cores, %d datagrams of 64 bytes 2 ms apart, loopback\n' \
  "$(uname -r)" "$(nproc)" "$COUNT"
printf '%-48s %14s %14s\n' metric "agent echo" "socat echo"
printf '%-48s %14.2f %14.2f\n' "median |RTT - capture RTT|, us" "$gap" "$sgap"
printf '%-48s %14.2f %14.2f\n' "p90 |RTT - capture RTT|, us" "$p90" "$sp90"
printf '%-48s %14d %14d\n' "datagrams matched" "$n" "$sn"
printf '%-48s %14.2f %14.2f\n' "median RTT, us: netprobe" "$ours" "$sours"
printf '%-48s %14.2f %14.2f\n' "median RTT, us: capture" "$capd" "$scapd"
printf '%-48s %14.2f %14s\n' "responder RTT vs socat's (capture, ratio)" \
  "$(echo "$capd / $scapd" | bc -l)" "1.00"
