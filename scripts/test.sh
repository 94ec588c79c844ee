#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit and
# integration; the integration tests build network namespaces, so run as root),
# then builds and runs them again under the sanitizers. Three stages, each a
# CMake preset built by scripts/build.sh and run by its ctest preset:
#   default  RelWithDebInfo, every test                            (build/)
#   asan     AddressSanitizer + LeakSanitizer + UBSan, the unit and
#            integration tests; the agent and CLI the lab tests start
#            are instrumented too                                  (build-asan/)
#   tsan     ThreadSanitizer, the tests of the event loop and the
#            loop-to-reactor bridge that run without gRPC           (build-tsan/)
#   ./scripts/test.sh                 all three stages, in that order
#   ./scripts/test.sh asan tsan       only those stages
# Suppressions (third-party frames only) are in tests/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(default asan tsan)

# A sanitizer report anywhere in a stage's test log fails the stage, even when
# the test itself passed: a report is a bug. Each test runs once (no preset
# retries: a test passes the first time or it is a bug). Child processes'
# reports are in the log too (tests/sanitizers/child_reports.cc prints them).
check_sanitizer_reports() {
  local log=$1/Testing/Temporary/LastTest.log
  [ -f "$log" ] || return 0
  local pattern='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |WARNING: ThreadSanitizer|sanitizer report of a child process'
  if grep -Eq "$pattern" "$log"; then
    echo "test.sh: sanitizer reports in $log:" >&2
    grep -En "$pattern" "$log" | head -20 >&2
    return 1
  fi
}

total_start=$SECONDS
for stage in "${stages[@]}"; do
  case "$stage" in
    default) dir=build ;;
    asan) dir=build-asan ;;
    tsan) dir=build-tsan ;;
    *) echo "test.sh: unknown stage '$stage' (default, asan, tsan)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  echo "=== test.sh: stage $stage: build (./scripts/build.sh $stage) ==="
  ./scripts/build.sh "$stage"
  built=$SECONDS
  echo "=== test.sh: stage $stage: tests (ctest --preset $stage) ==="
  ctest --preset "$stage"
  if [ "$stage" != default ]; then
    check_sanitizer_reports "$dir"
  fi
  echo "=== test.sh: stage $stage passed: build $((built - start)) s," \
       "tests $((SECONDS - built)) s ==="
done
echo "=== test.sh: all stages passed (${stages[*]}) in $((SECONDS - total_start)) s ==="
