#!/usr/bin/env bash
# Builds a libFuzzer target with clang 14 (ASan + UBSan) and runs it for
# SECONDS from its seed corpus in tests/fuzz/corpus/NAME (new inputs go to a
# copy under BUILD_DIR, the repo's corpus is never written). Exits non-zero
# on a crash, leaving the reproducer in BUILD_DIR/fuzz.
#   usage: run_fuzzer.sh NAME SECONDS BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=$1 seconds=$2 out=$3/fuzz
# Each target's code under test and the Abseil libraries it links.
case "$name" in
  icmp_fuzzer)
    sources=("$root/agent/net/icmp.cc")
    absl_libs=(absl_statusor absl_status absl_strings absl_str_format)
    ;;
  packet_text_fuzzer)
    sources=("$root/client/output/packet_text.cc")
    absl_libs=(absl_time absl_strings absl_str_format)
    ;;
  sock_diag_fuzzer)
    sources=("$root/agent/net/sock_diag.cc" "$root/agent/net/posix_error.cc")
    absl_libs=(absl_statusor absl_status absl_strings absl_str_format absl_time)
    ;;
  *)
    echo "run_fuzzer.sh: unknown fuzzer '$name'" >&2
    exit 2
    ;;
esac
mkdir -p "$out/$name.corpus"
clang++-14 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root" \
  "$root/tests/fuzz/$name.cc" "${sources[@]}" \
  $(pkg-config --libs "${absl_libs[@]}") -o "$out/$name"
cp -n "$root/tests/fuzz/corpus/$name/"* "$out/$name.corpus/" 2>/dev/null || true
cd "$out"
exec "./$name" -max_total_time="$seconds" -print_final_stats=1 "$name.corpus"
