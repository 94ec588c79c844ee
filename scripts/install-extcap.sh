#!/usr/bin/env bash
# Puts netprobe-extcap where Wireshark and tshark look for extcap programs.
#   scripts/install-extcap.sh [--user] [BINARY]
# Default: the global folder of Debian's Wireshark,
#   /usr/lib/<multiarch>/wireshark/extcap  (needs root)
# --user: the personal folder of Wireshark 4.0 for the calling user,
#   ${XDG_CONFIG_HOME:-~/.config}/wireshark/extcap
# (Wireshark 4.2 and later moved it to ~/.local/lib/wireshark/extcap; it is
# filled too when that Wireshark is installed.) Wireshark shows both folders
# in Help > About Wireshark > Folders. BINARY defaults to build/client/extcap/
# netprobe-extcap. Writes an example agents file when there is none.
set -euo pipefail

user=0
binary=""
for arg in "$@"; do
  case "$arg" in
    --user) user=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install-extcap.sh: unknown option $arg" >&2; exit 2 ;;
    *) binary=$arg ;;
  esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
binary=${binary:-$here/build/client/extcap/netprobe-extcap}
if [ ! -x "$binary" ]; then
  echo "install-extcap.sh: $binary: no such program (build it: cmake --build --preset default --target netprobe-extcap)" >&2
  exit 1
fi

version_of_wireshark() {
  local v
  v=$(tshark --version 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')
  echo "${v:-4.0}"
}

dirs=()
if [ "$user" = 1 ]; then
  config_home=${XDG_CONFIG_HOME:-$HOME/.config}
  dirs+=("$config_home/wireshark/extcap")
  ws=$(version_of_wireshark)
  major=${ws%%.*}; minor=${ws#*.}
  if [ "$major" -gt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -ge 1 ]; }; then
    dirs+=("$HOME/.local/lib/wireshark/extcap")
  fi
else
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
  dirs+=("/usr/lib/$multiarch/wireshark/extcap")
fi

for dir in "${dirs[@]}"; do
  install -d "$dir"
  install -m 0755 "$binary" "$dir/netprobe-extcap"
  echo "installed $dir/netprobe-extcap"
done

config=${NETPROBE_EXTCAP_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/netprobe/extcap-agents}
if [ ! -e "$config" ]; then
  install -d "$(dirname "$config")"
  cat > "$config" <<'EOF'
# netprobe-extcap's agents: one NAME=ADDR a line (unix:PATH or HOST:PORT).
# Wireshark lists each agent's interfaces as "netprobe NAME: IFACE".
local=unix:/run/netprobe/agent.sock
# edge1=198.18.0.10:50051
# Options for every agent (the capture dialog may override them):
# --tls-ca /etc/netprobe/ca.pem
# --tls-cert /etc/netprobe/client.pem
# --tls-key /etc/netprobe/client.key
# --token-file /etc/netprobe/token
EOF
  echo "wrote $config (edit it: one agent a line)"
fi
echo "check: tshark -D | grep netprobe"
