#!/usr/bin/env python3
"""Checks that every #include respects the layers (ctest `layering`).

Each directory may include only itself and the directories listed for it
below, which are the libraries its CMakeLists.txt links; gRPC headers only
where gRPC is linked. A wrong include that happens to compile (a header-only
type, an inline function) still breaks the layering, so it fails here.
Exit 1 with one line per offending include; 0 when clean.
"""
import argparse
import pathlib
import re
import sys

# directory -> the directories it may include (besides itself).
ALLOWED = {
    "common": set(),
    "agent/util": set(),
    "agent/net": {"common"},
    "agent/iperf3": {"agent/net", "agent/util", "common"},
    "agent/probes": {"agent/iperf3", "agent/net", "agent/util", "common"},
    "agent/responders": {"agent/net", "common"},
    "agent/metrics": {"agent/net", "agent/util", "common"},
    "agent/policy": {"agent/probes", "agent/net", "agent/util", "common"},
    "agent/schedule": {"agent/policy", "agent/probes", "agent/metrics", "agent/net",
                       "agent/util", "common"},
    "agent/server": {"agent/schedule", "agent/policy", "agent/probes", "agent/iperf3",
                     "agent/responders",
                     "agent/metrics", "agent/net", "agent/util", "common"},
    "agent": {"agent/server", "agent/schedule", "agent/policy", "agent/probes", "agent/iperf3",
              "agent/responders", "agent/metrics", "agent/net", "agent/util", "common"},
    "client": {"common"},
}
# Layers that must stay free of gRPC (they are used without it, and tested so).
NO_GRPC = {"common", "agent/util", "agent/net", "agent/iperf3", "agent/probes",
           "agent/responders",
           "agent/metrics", "agent/policy", "agent/schedule"}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')
GRPC = re.compile(r"^(grpcpp/|grpc/|grpc\+\+/)|\.grpc\.pb\.h$")


def layer_of(path: pathlib.Path, root: pathlib.Path) -> str:
    rel = path.relative_to(root).parent.as_posix()
    # Subdirectories of client/ belong to the client; agent/x/y to agent/x.
    if rel.startswith("client"):
        return "client"
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "agent" else parts[0]


def included_layer(header: str):
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if header.startswith(layer + "/"):
            return layer
    if header.startswith("client/"):
        return "client"
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", default=pathlib.Path(__file__).resolve().parent.parent)
    root = pathlib.Path(parser.parse_args().source_dir)
    problems = []
    checked = 0
    for top in ("common", "agent", "client"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            layer = layer_of(path, root)
            if layer not in ALLOWED:
                problems.append(f"{path.relative_to(root)}: directory {layer} has no layer "
                                "in scripts/check_layers.py")
                continue
            checked += 1
            for number, line in enumerate(path.read_text().splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                header = match.group(1)
                where = f"{path.relative_to(root)}:{number}"
                if GRPC.search(header) and layer in NO_GRPC:
                    problems.append(f"{where}: {layer} includes gRPC ({header})")
                target = included_layer(header)
                if target is None or target == layer:
                    continue
                if target not in ALLOWED[layer]:
                    problems.append(f"{where}: {layer} may not include {target} ({header})")
    for problem in problems:
        print(problem)
    print(f"check_layers: {checked} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
