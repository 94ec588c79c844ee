#!/usr/bin/env bash
# Installs what is missing, builds the agent and the CLI, starts the agent in
# the background with its built-in defaults (the unix socket
# /run/netprobe/agent.sock alone: no TCP port) and shows it answering
# `netprobe info`. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/build.sh default netprobe-agent netprobe

if build/client/netprobe --timeout 2s info >/dev/null 2>&1; then
  echo "run: an agent already answers on the default socket:"
else
  nohup build/agent/netprobe-agent >>build/netprobe-agent.log 2>&1 </dev/null &
  echo "run: started netprobe-agent (pid $!), log in build/netprobe-agent.log"
  # Bounded wait for it to answer: at most 50 tries, 0.1 s apart.
  for _ in $(seq 50); do
    build/client/netprobe --timeout 1s info >/dev/null 2>&1 && break
    kill -0 $! 2>/dev/null || { tail -5 build/netprobe-agent.log; exit 1; }
    sleep 0.1
  done
fi
build/client/netprobe info
echo
echo "Try: build/client/netprobe ping -c 3 127.0.0.1"
echo "Stop it: kill \$(pgrep -f build/agent/netprobe-agent)"
