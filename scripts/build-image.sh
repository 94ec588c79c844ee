#!/usr/bin/env bash
# Builds the netprobe container image from docker/Dockerfile with Debian's
# podman, on a machine that reaches Debian's package mirror but no image
# registry, and proves it answers: the agent's container runs in a lab
# network namespace and `netprobe info` reaches it from another.
#
#   sudo ./scripts/build-image.sh [WORKDIR]     (default /var/tmp/netprobe-image)
#
# Steps (each timed on stderr):
#  1. debootstrap Debian 12 (bookworm, variant minbase) from deb.debian.org
#     into WORKDIR/rootfs (kept: a second run reuses it);
#  2. import it into podman as the two base images docker/Dockerfile names,
#     docker.io/library/debian:12 and debian:12-slim (the same minbase tree:
#     what the runtime stage installs is what the Dockerfile says either way);
#  3. podman build -f docker/Dockerfile -t netprobe . (the build stage
#     compiles the project with scripts/build.sh release: the slow part);
#  4. two fresh network namespaces joined by a veth pair (addresses private
#     to them, nothing in the root namespace), the agent's container in one
#     (--network ns:..., NET_RAW and NET_ADMIN, --insecure: a closed lab
#     link), the image's own CLI in a container in the other:
#     `netprobe --agent 198.18.23.1:7431 info` must answer.
# On demand, not in ctest (it takes tens of minutes). Needs root; installs
# the Debian packages podman, runc (see below), debootstrap and iproute2
# when they are missing.
# Builds at nice 19 so that it leaves the cores to other work; NICE=0 builds
# at normal priority. BUILD=0 skips steps 1-3 and runs the image built last.
#
# Podman 4.3 as root in a sandbox (measured on the project's CI machine):
#  - the default runtime crun refuses a hybrid cgroup layout (v1 controllers
#    plus a v2 hierarchy holding hugetlb: "cgroups in hybrid mode not
#    supported"), even with --cgroups=disabled; runc (Debian package runc)
#    runs there, so every podman call says --runtime runc;
#  - root without CAP_SYS_RESOURCE may not raise rlimits, and podman asks for
#    nofile 1048576 and a high nproc by default ("setrlimit RLIMIT_NOFILE:
#    Operation not permitted"): the containers get nofile = this shell's hard
#    limit and nproc 4096 (--ulimit);
#  - storage driver overlay on ext4 works as it comes;
#  - `podman build` runs with --network host: the build stage only fetches
#    Debian packages, over the host's network, which reaches the mirror (no
#    bridge or NAT rules needed).
set -euo pipefail
cd "$(dirname "$0")/.."

work="${1:-/var/tmp/netprobe-image}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
nice_level="${NICE:-19}"
image="${IMAGE:-localhost/netprobe:latest}"
tag="np-img-$$"
ns_agent="${tag}-agent"
ns_client="${tag}-client"
agent_addr=198.18.23.1
client_addr=198.18.23.2
podman=(podman --runtime runc)
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

if [ "$(id -u)" -ne 0 ]; then
  echo "build-image: run as root (debootstrap, podman and ip netns need it)" >&2
  exit 1
fi
# Its own tools, from Debian's packages, as scripts/install-deps.sh does for
# the build (not there: the Dockerfile's build stage runs that script, and
# the image needs no podman).
missing=()
for pair in debootstrap:debootstrap podman:podman runc:runc ip:iproute2; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-image: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step_start=0
step() {
  local now
  now=$(date +%s)
  if [ "$step_start" -ne 0 ]; then
    echo "build-image: ${step_name} took $((now - step_start)) s" >&2
  fi
  step_name="$1"
  step_start=$now
  [ -n "$1" ] && echo "build-image: $1" >&2
  return 0
}
started=$(date +%s)

cleanup() {
  "${podman[@]}" rm -f "${tag}-agent" >/dev/null 2>&1 || true
  ip netns del "$ns_agent" 2>/dev/null || true
  ip netns del "$ns_client" 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$work"
if [ "${BUILD:-1}" = 0 ]; then
  step "BUILD=0: running the image $image as it is"
else
step "debootstrap bookworm into $work/rootfs"
if [ ! -e "$work/rootfs/.complete" ]; then
  rm -rf "$work/rootfs"
  nice -n "$nice_level" debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
  # As the official image: the security and updates suites, no apt caches.
  cat > "$work/rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  touch "$work/rootfs/.complete"
fi

step "podman import as debian:12 and debian:12-slim"
tar -C "$work/rootfs" --exclude=./.complete -c . \
  | "${podman[@]}" import --change 'CMD ["bash"]' - docker.io/library/debian:12 >/dev/null
"${podman[@]}" tag docker.io/library/debian:12 docker.io/library/debian:12-slim

step "podman build -f docker/Dockerfile -t $image ."
# --pull=never: the bases are the imported ones; no registry is asked.
# --format docker: the OCI format has no SHELL (the runtime stage's pipefail).
nice -n "$nice_level" "${podman[@]}" build --pull=never --network host "${limits[@]}" \
  --format docker \
  -f docker/Dockerfile -t "$image" .
fi

step "run the agent's container in lab namespace $ns_agent"
ip netns add "$ns_agent"
ip netns add "$ns_client"
ip -n "$ns_agent" link add eth0 type veth peer name eth0 netns "$ns_client"
ip -n "$ns_agent" addr add "$agent_addr/24" dev eth0
ip -n "$ns_client" addr add "$client_addr/24" dev eth0
for ns in "$ns_agent" "$ns_client"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done
# The image's ENTRYPOINT listens on unix:/run/netprobe/agent.sock and
# 0.0.0.0:7431; --insecure replaces the TLS arguments (CMD): a closed link.
# --no-healthcheck (here and below): podman runs HEALTHCHECK through systemd
# timers, and there may be no systemd (the check is for docker and k8s).
"${podman[@]}" run -d "${limits[@]}" --no-healthcheck --name "${tag}-agent" \
  --network "ns:/run/netns/$ns_agent" \
  --cap-drop ALL --cap-add NET_RAW --cap-add NET_ADMIN --read-only \
  --tmpfs /run/netprobe:mode=0750,U \
  "$image" --insecure >/dev/null

step "netprobe info from lab namespace $ns_client"
# Bounded: the agent starts in well under a second; 30 tries, 1 s apart.
ok=0
for _ in $(seq 30); do
  if "${podman[@]}" run --rm "${limits[@]}" --no-healthcheck --network "ns:/run/netns/$ns_client" \
      --cap-drop ALL --read-only \
      --entrypoint /usr/local/bin/netprobe "$image" \
      --agent "$agent_addr:7431" --timeout 3s info; then
    ok=1
    break
  fi
  sleep 1
done
if [ "$ok" -ne 1 ]; then
  echo "build-image: the agent's container did not answer; its log:" >&2
  "${podman[@]}" logs "${tag}-agent" >&2 || true
  exit 1
fi

step "netprobe ping from the agent's container to $client_addr (its raw socket)"
"${podman[@]}" run --rm "${limits[@]}" --no-healthcheck --network "ns:/run/netns/$ns_client" \
  --cap-drop ALL --read-only --entrypoint /usr/local/bin/netprobe "$image" \
  --agent "$agent_addr:7431" --timeout 10s ping -c 3 "$client_addr"
step ""
echo "build-image: $image answers netprobe info from a lab namespace" \
  "($(($(date +%s) - started)) s in all)" >&2
