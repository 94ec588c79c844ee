#!/usr/bin/env python3
"""Fails when a pattern of serial_tests.txt names no test of the binaries
given: a renamed test would otherwise lose its RUN_SERIAL without notice.
usage: check_serial_list.py LIST BINARY..."""
import subprocess
import sys


def patterns(path):
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        pattern = line.split("#", 1)[0].strip()
        if pattern:
            yield number, pattern


def lists_a_test(binary, pattern):
    out = subprocess.run([binary, "--gtest_list_tests", f"--gtest_filter={pattern}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    # Test names are the indented lines (suites end with a dot).
    return any(line.startswith("  ") for line in out.splitlines())


def main():
    path, binaries = sys.argv[1], sys.argv[2:]
    unmatched = [(n, p) for n, p in patterns(path)
                 if not any(lists_a_test(b, p) for b in binaries)]
    for number, pattern in unmatched:
        print(f"{path}:{number}: '{pattern}' matches no test")
    count = sum(1 for _ in patterns(path))
    print(f"{count} patterns, {len(unmatched)} matching no test")
    return 1 if unmatched or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
