#!/usr/bin/env python3
"""Writes tests/deploy/netprobe-rules.test.yaml (promtool unit tests of
docker/prometheus/netprobe-rules.yaml): a fleet of four agents in six
scenarios. Run after changing the rules or the scenarios:
  python3 tests/deploy/make_rules_test.py > tests/deploy/netprobe-rules.test.yaml
"""
import sys
hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
A, B, C, D = hosts
kinds = ["Ping", "TcpConnect"]
N = 25  # samples at 0..25m

def labels(src, extra):
    l = {"job": "netprobe", "instance": f"{src}:9431", "source": src}
    l.update(extra)
    name = l.pop("__name__")
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in l.items()) + "}"

def vals(before, after, at=5):
    return f"{before}x{at - 1} {after}x{N - at}" if before != after else f"{before}x{N}"

def down_vals(before, at=5):
    return f"{before}x{at - 1} stale"

def scenario(down=None, up_absent=False, uplink=None, lossy=None, recover_at=None):
    series = []
    for s in hosts:
        if s == down:
            series.append((labels(s, {"__name__": "up"}),
                           down_vals(1) if up_absent else (f"1x4 0x4 1x{N-9}" if recover_at else vals(1, 0))))
        else:
            series.append((labels(s, {"__name__": "up"}), vals(1, 1)))
        for p in hosts:
            if p == s:
                continue
            for k in kinds:
                for metric in ("netprobe_mesh_success", "netprobe_mesh_loss_ratio"):
                    good = 1 if metric == "netprobe_mesh_success" else 0
                    bad = 0 if metric == "netprobe_mesh_success" else 1
                    name = labels(s, {"__name__": metric, "probe": "mesh", "kind": k, "peer": p})
                    if s == down:
                        v = f"{good}x4 _x4 {good}x{N-9}" if recover_at else down_vals(good)
                    elif p == down:
                        v = f"{good}x4 {bad}x4 {good}x{N-9}" if recover_at else vals(good, bad)
                    elif uplink in (s, p):
                        v = vals(good, bad)
                    elif lossy == (s, p, k) and metric == "netprobe_mesh_loss_ratio":
                        v = vals(0, 0.3)
                    else:
                        v = vals(good, good)
                    series.append((name, v))
    return series

def out(lines, s):
    lines.append("      input_series:")
    for name, v in s:
        lines.append(f"        - series: '{name}'")
        lines.append(f"          values: '{v}'")

ALERTS = ["NetprobeMeshHostDown", "NetprobeMeshUplink", "NetprobeMeshPathLoss"]

def host_down(peer, pct):
    return ("NetprobeMeshHostDown",
            {"severity": "critical", "job": "netprobe", "probe": "mesh", "peer": peer},
            {"summary": f"netprobe mesh: host {peer} is down",
             "description": f"Only {pct} of the sources of probe mesh reach {peer}, and its own agent does not report (up is 0 or absent)."})

def uplink(src, pct):
    return ("NetprobeMeshUplink",
            {"severity": "warning", "job": "netprobe", "probe": "mesh", "source": src},
            {"summary": f"netprobe mesh: {src} cannot reach most of its peers",
             "description": f"{src} reaches {pct} of the peers of probe mesh that the rest of the fleet reaches: its own link or uplink is suspect."})

def path_loss(src, peer, kind, pct):
    return ("NetprobeMeshPathLoss",
            {"severity": "warning", "job": "netprobe", "instance": f"{src}:9431", "source": src,
             "probe": "mesh", "kind": kind, "peer": peer},
            {"summary": f"netprobe mesh: loss {src} -> {peer}",
             "description": f"{kind} probes from {src} to {peer} lost {pct} over 10 minutes, while both hosts reach the rest of the fleet."})

def q(x):
    return "'" + x.replace("'", "''") + "'"

def alerts(lines, at, firing):
    lines.append("      alert_rule_test:")
    for a in ALERTS:
        lines.append(f"        - eval_time: {at}")
        lines.append(f"          alertname: {a}")
        mine = [f for f in firing if f[0] == a]
        if not mine:
            lines.append("          exp_alerts: []")
            continue
        lines.append("          exp_alerts:")
        for _, l, ann in mine:
            lines.append("            - exp_labels:")
            for k, v in l.items():
                lines.append(f"                {k}: {q(v)}")
            lines.append("              exp_annotations:")
            for k, v in ann.items():
                lines.append(f"                {k}: {q(v)}")

def promql(lines, at, expr, samples):
    lines.append(f"        - expr: {q(expr)}")
    lines.append(f"          eval_time: {at}")
    lines.append("          exp_samples:")
    for l, v in samples:
        lines.append(f"            - labels: {q(l)}")
        lines.append(f"              value: {v}")

L = []
L.append("""# promtool unit tests of docker/prometheus/netprobe-rules.yaml:
#   promtool test rules tests/deploy/netprobe-rules.test.yaml   (ctest: deploy_rules_test)
# A fleet of four agents, 10.0.0.1 .. 10.0.0.4, each probing the other three
# with Ping and TcpConnect every minute (probe "mesh"), scraped as job
# netprobe with `source` = the agent's address. Every scenario starts healthy
# and changes at minute 5; the alerts are checked at minute 20 (after every
# rule's `for`), each alert named even when it must NOT fire (exp_alerts: []).
# A stopped agent's series end with a stale marker, as Prometheus writes them
# when a target's scrape fails.
# Written by tests/deploy/make_rules_test.py; read it line by line: a series is
# "source -> peer" by its labels; values 'AxN' are N+1 samples of A. A
# fraction such as 2/3 is compared rounded (round(x, 0.001)): avg's
# summation order varies between evaluations, and with it the last bit.
rule_files:
  - ../../docker/prometheus/netprobe-rules.yaml
evaluation_interval: 1m
tests:""")

def test(title, s, at, firing, extra=None, also=None):
    L.append(f"  # {title}")
    L.append("  - interval: 1m")
    out(L, s)
    alerts(L, at, firing)
    if also:  # the alerts again at another time (same alert_rule_test list)
        more = []
        alerts(more, *also)
        L.extend(more[1:])
    if extra:
        L.append("      promql_expr_test:")
        for at3, expr, samples in extra:
            promql(L, at3, expr, samples)

test("A healthy fleet: no alert; every peer reached by all, every source reaches all.",
     scenario(), "20m", [],
     extra=[("20m", 'peer:netprobe_mesh_reach:ratio{peer="10.0.0.4"}',
             [('peer:netprobe_mesh_reach:ratio{job="netprobe", peer="10.0.0.4", probe="mesh"}', 1)]),
            ("20m", 'source:netprobe_mesh_reach_healthy:ratio{source="10.0.0.1"}',
             [('source:netprobe_mesh_reach_healthy:ratio{job="netprobe", probe="mesh", source="10.0.0.1"}', 1)]),
            ("20m", 'source_peer:netprobe_mesh_loss_ratio:avg10m{source="10.0.0.1", peer="10.0.0.2", kind="Ping"}',
             [('source_peer:netprobe_mesh_loss_ratio:avg10m{instance="10.0.0.1:9431", job="netprobe", kind="Ping", peer="10.0.0.2", probe="mesh", source="10.0.0.1"}', 0)])])
test("Host 10.0.0.4 down at minute 5 (its agent stops, its scrape fails: up 0): "
     "HostDown for it; no uplink alert for the three others (they reach every "
     "peer but the down one), no path loss alert on the paths to it.",
     scenario(down=D), "20m", [host_down(D, "0%")],
     extra=[("20m", 'round(source:netprobe_mesh_reach:ratio{source="10.0.0.1"}, 0.001)',
             [('{job="netprobe", probe="mesh", source="10.0.0.1"}', 0.667)]),
            ("20m", 'source:netprobe_mesh_reach_healthy:ratio{source="10.0.0.1"}',
             [('source:netprobe_mesh_reach_healthy:ratio{job="netprobe", probe="mesh", source="10.0.0.1"}', 1)])])
test("Host 10.0.0.4 gone at minute 5 with no `up` left at all (its target "
     "vanished from discovery while the peers still list it): HostDown too.",
     scenario(down=D, up_absent=True), "20m", [host_down(D, "0%")])
test("Host 10.0.0.4 down from minute 5 to 9, back at 10: no path loss alert at "
     "minute 18 though the 10-minute loss towards it is still above 5%.",
     scenario(down=D, recover_at=10), "18m", [])
test("The uplink of 10.0.0.3 fails at minute 5: it reaches nobody and nobody "
     "reaches it, but it still reports (up 1): Uplink for it, no HostDown, no "
     "uplink alert for the others, no path loss alerts.",
     scenario(uplink=C), "20m", [uplink(C, "0%")])
test("Ping from 10.0.0.1 to 10.0.0.2 loses 30% from minute 5 (still answered): "
     "PathLoss for that path and kind only, not yet at minute 10 (for: 10m), "
     "and no uplink or host alert.",
     scenario(lossy=(A, B, "Ping")), "20m", [path_loss(A, B, "Ping", "30%")],
     also=("10m", []))

L = [x[2:] if x.startswith("      ") else x for x in L]
sys.stdout.write("\n".join(L) + "\n")
