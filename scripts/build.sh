#!/usr/bin/env bash
# Installs what is missing (scripts/install-deps.sh) and builds with a CMake
# preset (CMakePresets.json):
#   ./scripts/build.sh                  the `default` preset: RelWithDebInfo with tests, in build/
#   ./scripts/build.sh release          Release without tests, in build-release/ (what
#                                       docker/Dockerfile ships)
#   ./scripts/build.sh PRESET TARGET... only those targets
# docker/Dockerfile runs this script, so the image is built exactly as the
# README builds (tests/deploy/check_deploy_files.py checks that).
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-default}"
[ $# -gt 0 ] && shift
targets=()
[ $# -gt 0 ] && targets=(--target "$@")

./scripts/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j"$(nproc)" "${targets[@]}"
