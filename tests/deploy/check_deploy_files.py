#!/usr/bin/env python3
"""Checks the deployment files in docker/ against the project.

- docker/compose.yaml and every docker/k8s/*.yaml parse (yaml.safe_load_all)
  and hold what the agent needs: two agents with NET_RAW and NET_ADMIN and a
  client; a DaemonSet with hostNetwork, those capabilities (all others
  dropped), a non-root user, a read-only root, health probes, resources,
  Prometheus annotations, the ConfigMap and ServiceAccount it names.
- docker/Dockerfile's build stage runs only commands that the README's
  commands also run (one source of truth), reaching scripts/install-deps.sh
  and a CMake build; it ships binaries of a Release preset; the runtime
  stage is debian:12-slim with a non-root user, file capabilities, EXPOSE of
  gRPC and metrics, and (given the binaries) installs the Debian packages of
  every library they link.
- Every config (docker/*.textproto, the ConfigMap's) parses as
  netprobe.v1.AgentConfig with protoc.
- The agent and CLI flags the files use exist (from --help of the built
  binaries when given, else from the sources' option tables).
- docker/netprobe-agent.service runs the agent as `netprobe` with the two
  capabilities.
- The mesh (issue 23): a headless Service (clusterIP None,
  publishNotReadyAddresses) selecting the DaemonSet's pods, named by a
  ConfigMap mesh entry whose UDP echo port the DaemonSet's --udp-echo serves
  (and exposes); docker/prometheus/prometheus.yml scrapes job `netprobe`
  with `source` = the pod IP, loads the rules file, and passes `promtool
  check config` (with a static target in place of kubernetes_sd, which
  Debian's Prometheus is built without); docker/grafana/netprobe-mesh.json is
  a dashboard (JSON, schemaVersion of Grafana 9/10) whose panels use the
  datasource variable and only the template variables it defines.
- scripts/build-image.sh imports every base image the Dockerfile names.

Exit status 0 when every check passes, 1 otherwise (each failure printed).
Needs python3 and python3-yaml (Debian packages); protoc for the configs.
"""

import argparse
import configparser
import fnmatch
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

AGENT_CAPS = {"NET_RAW", "NET_ADMIN"}
GRPC_PORT = 7431
METRICS_PORT = 9431
DEBIAN_12_BASES = {"debian:12", "debian:bookworm", "debian:12-slim", "debian:bookworm-slim"}
SLIM_BASES = {"debian:12-slim", "debian:bookworm-slim"}
# Packages every debian:12-slim image already holds (Essential/required).
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")", "\n"}


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
        elif what not in self.failures:
            self.failures.append(what)
            print(f"FAIL: {what}")
        return condition


# ---- shell command lines ---------------------------------------------------


def split_commands(text):
    """Simple commands (argv lists) of shell text: one per pipeline element or
    list element; comments dropped. Lines that shlex cannot split are skipped."""
    commands = []
    for line in join_continuations(text.splitlines()):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        current = []
        for token in tokens:
            if token in SHELL_SEPARATORS or set(token) <= set("&|;()"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands


def join_continuations(lines):
    joined, pending = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    return joined


def normalize(argv):
    """A command as a tuple, with ./scripts/x and scripts/x the same."""
    argv = list(argv)
    if argv and argv[0].startswith("./"):
        argv[0] = argv[0][2:]
    return tuple(argv)


def repo_script(source_dir, argv):
    """The repository script a command runs (argv[0] a path into the repo)."""
    if not argv:
        return None
    path = os.path.normpath(os.path.join(source_dir, argv[0]))
    if path.startswith(source_dir + os.sep) and os.path.isfile(path):
        with open(path, "rb") as f:
            if f.read(2) == b"#!":
                return path
    return None


def reached_commands(source_dir, commands):
    """The commands plus, transitively, those of the repo scripts they run."""
    seen_scripts, result, todo = set(), [], list(commands)
    while todo:
        argv = todo.pop(0)
        result.append(argv)
        script = repo_script(source_dir, argv)
        if script and script not in seen_scripts:
            seen_scripts.add(script)
            with open(script, encoding="utf-8") as f:
                todo.extend(split_commands(f.read()))
    return result


def readme_commands(readme_text):
    """Commands in the README's ```sh / ```bash / ```shell blocks."""
    commands = []
    for block in re.findall(r"^```(?:sh|bash|shell)[ \t]*\n(.*?)^```", readme_text,
                            re.MULTILINE | re.DOTALL):
        commands.extend(split_commands(block))
    return commands


# ---- Dockerfile ----------------------------------------------------------------


def parse_dockerfile(text):
    """Stages: [{'base', 'name', 'instructions': [(KEYWORD, args)]}]."""
    lines, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue  # comments, also inside continued instructions
        if not stripped and not pending:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((pending + stripped).strip())
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    stages = []
    for line in lines:
        if not line:
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"base": words[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, args))
    return stages


def exec_form(args):
    """An instruction's argv: exec (JSON) form, else the shell form's words."""
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


def copy_sources(args):
    words = shlex.split(args)
    options = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    return options, paths[:-1], paths[-1] if paths else None


def runtime_apt_packages(stage):
    packages = set()
    for keyword, args in stage["instructions"]:
        if keyword != "RUN":
            continue
        for argv in split_commands(args):
            if argv[:2] == ["apt-get", "install"]:
                packages.update(a for a in argv[2:] if not a.startswith("-"))
    return packages


def needed_packages(binary):
    """Debian packages of the libraries a binary links directly (NEEDED)."""
    out = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True,
                         check=True).stdout
    libs = re.findall(r"^\s*NEEDED\s+(\S+)", out, re.MULTILINE)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.MULTILINE))
    # The dynamic loader has no "=>" in ldd's output ("/lib64/ld-linux-x86-64.so.2
    # (0x...)"); a binary names it as NEEDED when it is linked against static
    # archives that call into it (the CLI: gRPC and libstdc++ statically).
    for loader in re.findall(r"^\s*(/\S+) \(0x", ldd, re.MULTILINE):
        paths.setdefault(os.path.basename(loader), loader)
    packages = {}
    for lib in libs:
        path = paths.get(lib)
        if not path:
            packages[lib] = None
            continue
        owner = None
        for candidate in (path, os.path.realpath(path),
                          path.replace("/usr/lib/", "/lib/", 1),
                          path.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        packages[lib] = owner
    return packages


def check_dockerfile(c, src, readme_path, agent_bin, client_bin):
    path = os.path.join(src, "docker", "Dockerfile")
    with open(path, encoding="utf-8") as f:
        stages = parse_dockerfile(f.read())
    if not c.check(len(stages) >= 2, "Dockerfile: multi-stage (a build and a runtime stage)"):
        return None
    build = next((s for s in stages if s["name"] == "build"), stages[0])
    runtime = stages[-1]
    c.check(build["base"] in DEBIAN_12_BASES,
            f"Dockerfile: build stage FROM Debian 12 (is {build['base']})")
    c.check(runtime["base"] in SLIM_BASES,
            f"Dockerfile: runtime stage FROM debian:12-slim (is {runtime['base']})")
    # scripts/build-image.sh makes the bases itself (no registry): every FROM
    # that is not a stage must be an image it imports or tags.
    with open(os.path.join(src, "scripts", "build-image.sh"), encoding="utf-8") as f:
        made = set(re.findall(r"\bdocker\.io/library/(\S+)", f.read()))
    names = {st["name"] for st in stages if st["name"]}
    for st in stages:
        if st["base"] not in names:
            c.check(st["base"] in made, f"scripts/build-image.sh makes the base image "
                    f"{st['base']} (it makes {sorted(made)})")

    # One source of truth: the build stage runs what the README runs.
    with open(readme_path, encoding="utf-8") as f:
        readme_cmds = readme_commands(f.read())
    documented = {normalize(a) for a in reached_commands(src, readme_cmds)}
    build_cmds = []
    for keyword, args in build["instructions"]:
        c.check(keyword in {"COPY", "WORKDIR", "RUN", "ARG", "ENV", "LABEL"},
                f"Dockerfile build stage: unexpected {keyword} (only COPY, WORKDIR, RUN)")
        if keyword == "RUN":
            argv_list = ([exec_form(args)] if args.startswith("[")
                         else split_commands(args))
            for argv in argv_list:
                build_cmds.append(argv)
                c.check(normalize(argv) in documented,
                        f"Dockerfile build stage runs `{shlex.join(argv)}`, which no command "
                        f"in {os.path.relpath(readme_path, src)} runs (the README and the "
                        "Dockerfile must build the same way)")
    c.check(bool(build_cmds), "Dockerfile build stage: has RUN commands")
    reached = reached_commands(src, build_cmds)
    c.check(any(a and a[0].endswith("scripts/install-deps.sh") for a in reached),
            "Dockerfile build stage: reaches scripts/install-deps.sh")
    c.check(any(a[:2] == ["cmake", "--build"] for a in reached),
            "Dockerfile build stage: reaches `cmake --build`")

    # Binaries from a Release preset's build tree.
    with open(os.path.join(src, "CMakePresets.json"), encoding="utf-8") as f:
        presets = json.load(f)["configurePresets"]
    release_dirs = [p["binaryDir"].replace("${sourceDir}", "").strip("/")
                    for p in presets
                    if p.get("cacheVariables", {}).get("CMAKE_BUILD_TYPE") == "Release"]
    copied = []
    for keyword, args in runtime["instructions"]:
        if keyword == "COPY":
            options, sources, _ = copy_sources(args)
            if any(o.startswith("--from") for o in options):
                copied.extend(sources)
    workdir = next((a for k, a in build["instructions"] if k == "WORKDIR"), "/")
    for name in ("agent/netprobe-agent", "client/netprobe"):
        ok = any(os.path.relpath(s, workdir) in
                 [os.path.join(d, name) for d in release_dirs] for s in copied)
        c.check(ok, f"Dockerfile: runtime stage copies {name} from a Release preset's "
                f"build tree ({', '.join(release_dirs) or 'none in CMakePresets.json'})")

    # The context must not carry the host's build trees (a copied CMakeCache.txt
    # names another source directory and stops the configure) or .git.
    ignore_path = os.path.join(src, ".dockerignore")
    patterns = []
    if c.check(os.path.isfile(ignore_path), ".dockerignore exists at the repository root"):
        with open(ignore_path, encoding="utf-8") as f:
            patterns = [l.strip().lstrip("/") for l in f
                        if l.strip() and not l.strip().startswith(("#", "!"))]
    all_dirs = [p["binaryDir"].replace("${sourceDir}", "").strip("/") for p in presets]
    for d in [".git"] + all_dirs:
        c.check(any(fnmatch.fnmatchcase(d, p) for p in patterns),
                f".dockerignore: leaves {d} out of the build context")

    runtime_runs = " ".join(a for k, a in runtime["instructions"] if k == "RUN")
    c.check(re.search(r"setcap\s+cap_net_raw,cap_net_admin\+ep\s+\S*netprobe-agent",
                      runtime_runs) is not None,
            "Dockerfile: setcap cap_net_raw,cap_net_admin+ep on the agent")
    users = [a for k, a in runtime["instructions"] if k == "USER"]
    c.check(bool(users) and users[-1].split(":")[0] not in {"root", "0"},
            "Dockerfile: runtime stage ends with a non-root USER")
    c.check("useradd" in runtime_runs and "netprobe" in runtime_runs,
            "Dockerfile: creates the user netprobe")
    exposed = {w.split("/")[0] for k, a in runtime["instructions"] if k == "EXPOSE"
               for w in a.split()}
    c.check({str(GRPC_PORT), str(METRICS_PORT)} <= exposed,
            f"Dockerfile: EXPOSE {GRPC_PORT} and {METRICS_PORT} (has {sorted(exposed)})")
    entrypoint = next((exec_form(a) for k, a in reversed(runtime["instructions"])
                       if k == "ENTRYPOINT"), [])
    cmd = next((exec_form(a) for k, a in reversed(runtime["instructions"]) if k == "CMD"), [])
    c.check(bool(entrypoint) and entrypoint[0].endswith("netprobe-agent"),
            "Dockerfile: ENTRYPOINT is the agent")
    joined = " ".join(entrypoint)
    c.check(f"0.0.0.0:{GRPC_PORT}" in joined, f"Dockerfile: agent listens on 0.0.0.0:{GRPC_PORT}")
    c.check(f"--metrics-listen 0.0.0.0:{METRICS_PORT}" in joined,
            f"Dockerfile: agent has --metrics-listen 0.0.0.0:{METRICS_PORT}")
    c.check("/etc/netprobe/agent.textproto" in joined,
            "Dockerfile: agent reads /etc/netprobe/agent.textproto")
    c.check(any(k == "COPY" and a.split()[-1] == "/etc/netprobe/agent.textproto"
                for k, a in runtime["instructions"]),
            "Dockerfile: installs a default /etc/netprobe/agent.textproto")

    # Runtime libraries: every library the binaries link comes from a package
    # the runtime stage installs (or the slim base holds).
    installed = runtime_apt_packages(runtime) | SLIM_BASE_PACKAGES
    for binary in filter(None, (agent_bin, client_bin)):
        if not c.check(os.access(binary, os.X_OK), f"{binary} is built"):
            continue
        if not shutil.which("dpkg") or not shutil.which("objdump"):
            print("note: no dpkg/objdump, runtime libraries not checked")
            break
        for lib, package in needed_packages(binary).items():
            c.check(package is not None and package in installed,
                    f"Dockerfile: {os.path.basename(binary)} links {lib} from "
                    f"{package or 'no Debian package'}, which the runtime stage does not install")
    return entrypoint + cmd


# ---- compose ---------------------------------------------------------------------


def check_compose(c, src):
    path = os.path.join(src, "docker", "compose.yaml")
    with open(path, encoding="utf-8") as f:
        try:
            docs = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            c.check(False, f"compose.yaml: does not parse: {e}")
            return [], []
    if not c.check(len(docs) == 1 and isinstance(docs[0], dict),
                   "compose.yaml: one YAML document, a mapping"):
        return [], []
    services = docs[0].get("services") or {}
    agents = {n: s for n, s in services.items()
              if "netprobe-agent" in " ".join(map(str, s.get("entrypoint") or []))
              or not s.get("entrypoint")}
    clients = {n: s for n, s in services.items() if n not in agents}
    c.check(len(agents) >= 2, f"compose.yaml: two agent services (has {sorted(agents)})")
    c.check(len(clients) >= 1, "compose.yaml: a client service")
    networks = set((docs[0].get("networks") or {}).keys())
    agent_args = []
    for name, s in agents.items():
        caps = set(s.get("cap_add") or [])
        c.check(AGENT_CAPS <= caps, f"compose.yaml: {name} cap_add NET_RAW and NET_ADMIN")
        c.check("no-new-privileges:true" not in (s.get("security_opt") or []),
                f"compose.yaml: {name} without no-new-privileges (it voids file capabilities)")
        c.check(bool(s.get("build") or s.get("image")), f"compose.yaml: {name} has an image")
        mounted = [v for v in s.get("volumes") or []
                   if isinstance(v, str) and v.split(":")[1] == "/etc/netprobe/agent.textproto"]
        c.check(len(mounted) == 1, f"compose.yaml: {name} mounts a config at "
                "/etc/netprobe/agent.textproto")
        for v in mounted:
            source = os.path.normpath(os.path.join(src, "docker", v.split(":")[0]))
            c.check(os.path.isfile(source) and source.endswith(".textproto"),
                    f"compose.yaml: {name}'s config {v.split(':')[0]} is a docker/*.textproto")
        for net in s.get("networks") or []:
            c.check(net in networks, f"compose.yaml: {name}'s network {net} is defined")
        command = s.get("command") or []
        agent_args.append(command if isinstance(command, list) else shlex.split(command))
    client_args = []
    for name, s in clients.items():
        command = s.get("command") or []
        command = command if isinstance(command, list) else shlex.split(command)
        text = " ".join(command)
        for agent in agents:
            c.check(f"--agent {agent}:{GRPC_PORT}" in text,
                    f"compose.yaml: {name} asks agent {agent} (--agent {agent}:{GRPC_PORT})")
        c.check(re.search(r"\bping\b", text) is not None, f"compose.yaml: {name} runs ping")
        client_args.append(command)
    return agent_args, client_args


# ---- Kubernetes -----------------------------------------------------------------


def check_k8s(c, src):
    files = sorted(glob.glob(os.path.join(src, "docker", "k8s", "*.yaml")))
    c.check(bool(files), "docker/k8s/*.yaml exist")
    objects = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            try:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                c.check(False, f"{os.path.relpath(path, src)}: does not parse: {e}")
                continue
        for d in docs:
            ok = (isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                  and (d.get("metadata") or {}).get("name"))
            c.check(ok, f"{os.path.relpath(path, src)}: apiVersion, kind, metadata.name")
            if ok:
                objects.append(d)
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    for kind in ("DaemonSet", "ConfigMap", "ServiceAccount"):
        c.check(kind in by_kind, f"k8s: a {kind}")
    configs, agent_args = [], []
    for cm in by_kind.get("ConfigMap", []):
        for key, value in (cm.get("data") or {}).items():
            if key.endswith(".textproto"):
                configs.append((f"ConfigMap {cm['metadata']['name']} {key}", value))
    for ds in by_kind.get("DaemonSet", []):
        name = ds["metadata"]["name"]
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        c.check(selector and selector.items() <= labels.items(),
                f"DaemonSet {name}: selector matches the pod labels")
        pod = template.get("spec") or {}
        c.check(pod.get("hostNetwork") is True, f"DaemonSet {name}: hostNetwork: true")
        c.check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet",
                f"DaemonSet {name}: dnsPolicy ClusterFirstWithHostNet")
        sa = pod.get("serviceAccountName")
        c.check(sa in [o["metadata"]["name"] for o in by_kind.get("ServiceAccount", [])],
                f"DaemonSet {name}: serviceAccountName {sa} is defined")
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        c.check(annotations.get("prometheus.io/scrape") == "true",
                f"DaemonSet {name}: annotation prometheus.io/scrape: \"true\" (a string)")
        c.check(annotations.get("prometheus.io/port") == str(METRICS_PORT),
                f"DaemonSet {name}: annotation prometheus.io/port: \"{METRICS_PORT}\"")
        c.check(str(annotations.get("prometheus.io/path", "")).startswith("/"),
                f"DaemonSet {name}: annotation prometheus.io/path")
        pod_sc = pod.get("securityContext") or {}
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        containers = pod.get("containers") or []
        c.check(len(containers) >= 1, f"DaemonSet {name}: a container")
        for ctr in containers:
            where = f"DaemonSet {name} container {ctr.get('name')}"
            sc = ctr.get("securityContext") or {}
            caps = sc.get("capabilities") or {}
            c.check(AGENT_CAPS <= set(caps.get("add") or []),
                    f"{where}: capabilities add NET_RAW and NET_ADMIN")
            c.check("ALL" in (caps.get("drop") or []), f"{where}: capabilities drop ALL")
            c.check(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True,
                    f"{where}: runAsNonRoot")
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            c.check(isinstance(uid, int) and uid != 0,
                    f"{where}: a numeric non-root runAsUser (the image's USER is a name)")
            c.check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
            c.check(sc.get("allowPrivilegeEscalation") is not False,
                    f"{where}: allowPrivilegeEscalation not false (no_new_privs voids the "
                    "agent's file capabilities)")
            c.check(sc.get("privileged") is not True, f"{where}: not privileged")
            for probe in ("livenessProbe", "readinessProbe"):
                p = ctr.get(probe) or {}
                c.check(any(k in p for k in ("exec", "grpc", "httpGet", "tcpSocket")),
                        f"{where}: {probe}")
            res = ctr.get("resources") or {}
            for part in ("requests", "limits"):
                c.check({"cpu", "memory"} <= set((res.get(part) or {}).keys()),
                        f"{where}: resources.{part} cpu and memory")
            ports = {p.get("containerPort") for p in ctr.get("ports") or []}
            c.check({GRPC_PORT, METRICS_PORT} <= ports,
                    f"{where}: ports {GRPC_PORT} and {METRICS_PORT}")
            args = [str(a) for a in (ctr.get("command") or []) + (ctr.get("args") or [])]
            agent_args.append(args)
            mounts = {m["mountPath"]: m["name"] for m in ctr.get("volumeMounts") or []}
            if "--config" in args[:-1]:
                config = args[args.index("--config") + 1]
                directory, key = os.path.split(config)
                volume = volumes.get(mounts.get(directory), {})
                cm_name = (volume.get("configMap") or {}).get("name")
                cms = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
                c.check(cm_name in cms and key in (cms[cm_name].get("data") or {}),
                        f"{where}: --config {config} comes from a ConfigMap key")
            else:
                c.check(False, f"{where}: --config from the ConfigMap")
            for mount_path, volume_name in mounts.items():
                c.check(volume_name in volumes,
                        f"{where}: volume {volume_name} (at {mount_path}) is defined")
    check_mesh_k8s(c, by_kind, configs, agent_args)
    return configs, agent_args


def check_mesh_k8s(c, by_kind, configs, agent_args):
    """The mesh's headless Service names the agents; the ConfigMap's mesh
    entry names the Service and the agents serve its UDP echo port."""
    pod_labels = [((ds.get("spec") or {}).get("template") or {}).get("metadata", {})
                  .get("labels") or {} for ds in by_kind.get("DaemonSet", [])]
    headless = []
    for svc in by_kind.get("Service", []):
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") != "None":
            continue
        selector = spec.get("selector") or {}
        c.check(spec.get("publishNotReadyAddresses") is True,
                f"Service {svc['metadata']['name']}: publishNotReadyAddresses: true (a sick "
                "agent stays in the others' mesh)")
        c.check(any(selector and selector.items() <= l.items() for l in pod_labels),
                f"Service {svc['metadata']['name']}: its selector matches the DaemonSet's pods")
        namespace = svc["metadata"].get("namespace", "default")
        headless.append(f"{svc['metadata']['name']}.{namespace}.svc.cluster.local")
    c.check(bool(headless), "k8s: a headless Service (clusterIP: None) for the mesh")
    mesh = [(name, text) for name, text in configs if re.search(r"^\s*mesh\s*\{", text, re.M)]
    c.check(bool(mesh), "k8s: a ConfigMap config with a mesh entry")
    for name, text in mesh:
        peers = re.findall(r'^\s*peers:\s*"([^"]+)"', text, re.M)
        c.check(any(p in headless for p in peers),
                f"{name}: the mesh's peers name the headless Service ({headless})")
        tcp = re.findall(r"^\s*tcp_port:\s*(\d+)", text, re.M)
        c.check(all(int(t) == GRPC_PORT for t in tcp),
                f"{name}: mesh tcp_port is the agents' gRPC port {GRPC_PORT}")
        for port in re.findall(r"^\s*udp_echo_port:\s*(\d+)", text, re.M):
            served = [a for args in agent_args for i, a in enumerate(args[:-1])
                      if a == "--udp-echo" and args[i + 1].rsplit(":", 1)[-1] == port]
            c.check(bool(served), f"{name}: mesh udp_echo_port {port} is served by the "
                    "DaemonSet's --udp-echo")
            c.check(int(port) >= 1024, f"{name}: mesh udp_echo_port {port} >= 1024 (the "
                    "image's agent lacks CAP_NET_BIND_SERVICE)")
            exposed = [p for ds in by_kind.get("DaemonSet", [])
                       for ctr in ds["spec"]["template"]["spec"].get("containers") or []
                       for p in ctr.get("ports") or []
                       if str(p.get("containerPort")) == port and p.get("protocol") == "UDP"]
            c.check(bool(exposed), f"DaemonSet: port {port}/UDP (the mesh's UDP echo)")


# ---- Prometheus and Grafana -----------------------------------------------------


def check_prometheus(c, src):
    path = os.path.join(src, "docker", "prometheus", "prometheus.yml")
    with open(path, encoding="utf-8") as f:
        try:
            config = yaml.safe_load(f)
        except yaml.YAMLError as e:
            c.check(False, f"prometheus.yml: does not parse: {e}")
            return
    jobs = {j.get("job_name"): j for j in config.get("scrape_configs") or []}
    job = jobs.get("netprobe")
    if not c.check(job is not None, "prometheus.yml: a job named netprobe (the rules' job)"):
        return
    relabels = job.get("relabel_configs") or []
    c.check(any(r.get("source_labels") == ["__meta_kubernetes_pod_ip"]
                and r.get("target_label") == "source" and r.get("action", "replace") == "replace"
                for r in relabels), "prometheus.yml: relabel source = __meta_kubernetes_pod_ip")
    rule_files = config.get("rule_files") or []
    c.check(any(os.path.isfile(os.path.join(os.path.dirname(path), r))
                and r.endswith("netprobe-rules.yaml") for r in rule_files),
            "prometheus.yml: rule_files names netprobe-rules.yaml beside it")
    promtool = shutil.which("promtool")
    if not c.check(promtool is not None, "promtool is installed (Debian package prometheus)"):
        return
    # Debian's Prometheus has no kubernetes_sd: check the rest with a static
    # target in its place, in a temporary copy naming the rules file by its
    # absolute path (promtool checks the rules too).
    for j in config.get("scrape_configs") or []:
        if j.pop("kubernetes_sd_configs", None) is not None:
            j["static_configs"] = [{"targets": ["198.18.0.10:9431"]}]
    config["rule_files"] = [os.path.join(os.path.dirname(path), r) for r in rule_files]
    with tempfile.TemporaryDirectory() as directory:
        copy = os.path.join(directory, "prometheus.yml")
        with open(copy, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        r = subprocess.run([promtool, "check", "config", copy], capture_output=True, text=True)
    c.check(r.returncode == 0, f"prometheus.yml: promtool check config: {r.stdout}{r.stderr}")


def check_dashboard(c, src):
    path = os.path.join(src, "docker", "grafana", "netprobe-mesh.json")
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        c.check(False, f"netprobe-mesh.json: not valid JSON: {e}")
        return
    c.check(36 <= dashboard.get("schemaVersion", 0) <= 39,
            "netprobe-mesh.json: schemaVersion of Grafana 9 or 10 (36..39)")
    c.check(bool(dashboard.get("uid")) and bool(dashboard.get("title")),
            "netprobe-mesh.json: uid and title")
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    for name in ("datasource", "probe", "kind"):
        c.check(name in variables, f"netprobe-mesh.json: template variable {name}")
    c.check((variables.get("datasource") or {}).get("query") == "prometheus",
            "netprobe-mesh.json: $datasource is a Prometheus data source")
    panels, ids, matrices = list(dashboard.get("panels") or []), set(), 0
    for v in variables.values():
        if v.get("type") == "query":
            panels.append({"id": f"variable {v['name']}", "title": v["name"], "type": "var",
                           "datasource": v.get("datasource"),
                           "targets": [{"expr": (v.get("query") or {}).get("query", ""),
                                        "refId": "var"}]})
    while panels:
        p = panels.pop(0)
        panels.extend(p.get("panels") or [])
        where = f"netprobe-mesh.json: panel {p.get('title')!r}"
        c.check(p.get("id") not in ids, f"{where}: a unique id")
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        c.check((p.get("datasource") or {}).get("uid") == "${datasource}",
                f"{where}: datasource ${{datasource}}")
        c.check(bool(p.get("targets")), f"{where}: has queries")
        for t in p.get("targets") or []:
            expr = t.get("expr", "")
            c.check(bool(expr.strip()), f"{where}: target {t.get('refId')} has an expr")
            for used in re.findall(r"\$\{?(\w+)\}?", expr):
                c.check(used in variables, f"{where}: ${used} is a template variable")
        if p.get("type") == "table" and any(
                t.get("id") == "groupingToMatrix" and t.get("options", {}).get("rowField") ==
                "source" and t.get("options", {}).get("columnField") == "peer"
                for t in p.get("transformations") or []):
            c.check(all(t.get("instant") for t in p["targets"]),
                    f"{where}: a matrix is fed by instant queries")
            matrices += 1
    c.check(matrices >= 2, "netprobe-mesh.json: source x peer matrices (loss and latency)")


# ---- configs, flags, systemd -------------------------------------------------------


def check_configs(c, src, extra):
    protoc = shutil.which("protoc")
    if not c.check(protoc is not None, "protoc is installed (configs are checked with it)"):
        return
    configs = []
    for path in sorted(glob.glob(os.path.join(src, "docker", "*.textproto"))):
        with open(path, encoding="utf-8") as f:
            configs.append((os.path.relpath(path, src), f.read()))
    configs += extra
    c.check(any(n == "docker/agent.textproto" for n, _ in configs),
            "docker/agent.textproto exists")
    for name, text in configs:
        r = subprocess.run(
            [protoc, "--encode=netprobe.v1.AgentConfig", "-I", os.path.join(src, "proto"),
             os.path.join(src, "proto", "netprobe", "v1", "config.proto")],
            input=text.encode(), capture_output=True)
        c.check(r.returncode == 0, f"{name}: not a valid netprobe.v1.AgentConfig: "
                f"{r.stderr.decode(errors='replace').strip()}")
        if name == "docker/agent.textproto":
            for field in ("metrics_listen", "scheduled_probes", "modules"):
                c.check(re.search(rf"^\s*{field}\b", text, re.MULTILINE) is not None,
                        f"{name}: has {field}")


def known_flags(binary, source, help_args):
    """Long flags a program takes: from its --help, else its option table."""
    if binary and os.access(binary, os.X_OK):
        r = subprocess.run([binary] + help_args, capture_output=True, text=True)
        return set(re.findall(r"--([a-z][a-z0-9-]*)", r.stdout + r.stderr)), binary
    with open(source, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r"\{\s*(?:0|'.')\s*,\s*\"([a-z][a-z0-9-]*)\"", text)), source


def check_flags(c, src, agent_bin, client_bin, agent_arg_lists, client_arg_lists):
    agent_flags, agent_from = known_flags(agent_bin, os.path.join(src, "agent", "main.cc"),
                                          ["--help"])
    client_flags, client_from = known_flags(client_bin, os.path.join(src, "client", "main.cc"),
                                            ["--help"])
    if not (client_bin and os.access(client_bin, os.X_OK)):
        # The TLS and token options live in the channel's table.
        for extra in glob.glob(os.path.join(src, "client", "*.cc")):
            client_flags |= known_flags(None, extra, [])[0]
    for args in agent_arg_lists:
        for a in args:
            if a.startswith("--"):
                flag = a[2:].split("=")[0]
                c.check(flag in agent_flags,
                        f"agent flag --{flag} used by the deployment files is not in "
                        f"{agent_from}")
    for args in client_arg_lists:
        # Global options come before the command.
        for a in args:
            if not a.startswith("-"):
                if a in ("ping", "tcp", "udp", "info", "mcast", "broadcast", "capture",
                         "sockets"):
                    break
                continue
            if a.startswith("--"):
                flag = a[2:].split("=")[0]
                c.check(flag in client_flags,
                        f"CLI flag --{flag} used by the deployment files is not in "
                        f"{client_from}")


def check_systemd(c, src):
    path = os.path.join(src, "docker", "netprobe-agent.service")
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as e:
        c.check(False, f"netprobe-agent.service: does not parse: {e}")
        return
    c.check(parser.has_section("Service") and parser.has_section("Install"),
            "netprobe-agent.service: [Service] and [Install]")
    service = parser["Service"] if parser.has_section("Service") else {}
    c.check(service.get("User") == "netprobe", "netprobe-agent.service: User=netprobe")
    c.check(bool(service.get("MemoryMax")),
            "netprobe-agent.service: MemoryMax bounds a flood's memory (README: Server limits)")
    c.check("netprobe-agent" in service.get("ExecStart", ""),
            "netprobe-agent.service: ExecStart runs netprobe-agent")
    for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
        c.check({"CAP_NET_RAW", "CAP_NET_ADMIN"} <= set(service.get(key, "").split()),
                f"netprobe-agent.service: {key} CAP_NET_RAW CAP_NET_ADMIN")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source-dir", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--readme", help="the README whose commands the Dockerfile must use "
                    "(default SOURCE_DIR/README.md)")
    ap.add_argument("--agent-bin", help="built netprobe-agent: its --help lists the flags, "
                    "its libraries must be in the runtime image")
    ap.add_argument("--client-bin", help="built netprobe CLI, likewise")
    args = ap.parse_args()
    src = os.path.abspath(args.source_dir)
    readme = os.path.abspath(args.readme or os.path.join(src, "README.md"))

    c = Checker()
    image_args = check_dockerfile(c, src, readme, args.agent_bin, args.client_bin)
    compose_agent_args, compose_client_args = check_compose(c, src)
    configs, k8s_args = check_k8s(c, src)
    check_configs(c, src, configs)
    check_flags(c, src, args.agent_bin, args.client_bin,
                [image_args or []] + compose_agent_args + k8s_args, compose_client_args)
    check_systemd(c, src)
    check_prometheus(c, src)
    check_dashboard(c, src)
    if c.failures:
        print(f"{len(c.failures)} of {len(c.failures) + c.passed} checks failed")
        return 1
    print(f"all {c.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
