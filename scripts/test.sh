#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit and
# integration; the integration tests build network namespaces, so run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/build.sh default
ctest --preset default
