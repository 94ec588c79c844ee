#!/usr/bin/env python3
"""Runs the mesh's rules and dashboard queries against a live Prometheus.

Every query the deployment files make must return data from a server that
scrapes a running mesh (tests/integration/mesh_prometheus_lab_test.cc runs
this inside the lab):
- each recording rule of RULES, both as its recorded series (evaluated by the
  server's rule engine) and as its expression;
- each alerting rule's expression must be accepted (a healthy mesh fires
  none, so it may be empty);
- each rule group loaded with health "ok";
- each panel target of DASHBOARD and each query variable's
  `label_values(EXPR, LABEL)` (EXPR must return series carrying LABEL), with
  the template variables given by --var substituted.

Polls until all of them return data or --deadline seconds pass (the rules'
first evaluations come after the first scrapes); a query the server refuses
(HTTP 400: bad PromQL) fails at once. Prints one line per query; exit status
0 when every query returned data, 1 otherwise. Python 3 standard library and
python3-yaml only.
"""

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml


def substitute(text, variables):
    def value(match):
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise KeyError(f"no value for template variable ${name} (give --var {name}=...)")
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def dashboard_queries(path, variables):
    """(what, expr, label) for every target and query variable; label: the
    label every result must carry, or None."""
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    queries = []
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", query, re.DOTALL)
        if not match:
            raise ValueError(f"variable {var['name']}: not label_values(EXPR, LABEL): {query}")
        queries.append((f"variable {var['name']}", substitute(match.group(1), variables),
                        match.group(2)))
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            queries.append((f"panel \"{panel['title']}\" {target['refId']}",
                            substitute(target["expr"], variables), None))
    return queries


def rule_queries(path):
    """(what, expr, must_have_data) for every rule."""
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    queries = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                queries.append((f"recorded {rule['record']}", rule["record"], True))
                queries.append((f"expr of {rule['record']}", rule["expr"], True))
            else:
                queries.append((f"alert {rule['alert']}", rule["expr"], False))
    return queries, [g["name"] for g in rules["groups"]]


def api(url, path, params=None):
    full = url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(full, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        if e.code == 400 or e.code == 422:
            body = json.load(e)
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}") from None
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="http://HOST:PORT of the Prometheus server")
    ap.add_argument("--rules", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--var", action="append", default=[], help="NAME=VALUE, e.g. probe=mesh")
    ap.add_argument("--deadline", type=float, default=60)
    ap.add_argument("--print", action="append", default=[], metavar="EXPR",
                    help="after the checks, print EXPR's result: one line per series, "
                    "'EXPR: label=value,... VALUE' (labels sorted); an alert's name "
                    "stands for its expression")
    ap.add_argument("--print-min-series", type=int, default=0, metavar="N",
                    help="poll (within the deadline) until each --print EXPR has N series")
    args = ap.parse_args()
    variables = dict(v.split("=", 1) for v in args.var)

    rules, groups = rule_queries(args.rules)
    # (what, expr, must have data, label the results must carry)
    checks = [(w, e, must, None) for w, e, must in rules]
    checks += [(w, e, True, label) for w, e, label in dashboard_queries(args.dashboard, variables)]

    deadline = time.monotonic() + args.deadline
    results = {}
    refused = {}
    while True:
        for what, expr, must, label in checks:
            if what in results or what in refused:
                continue
            try:
                data = api(args.url, "/api/v1/query", {"query": expr})["data"]["result"]
            except ValueError as e:
                refused[what] = str(e)
                continue
            except (urllib.error.URLError, OSError):
                continue  # the server is still starting
            data = [r for r in data if label is None or label in r["metric"]]
            if data or not must:
                results[what] = len(data)
        loaded = {}
        try:
            for g in api(args.url, "/api/v1/rules")["data"]["groups"]:
                bad = [r.get("lastError") for r in g["rules"] if r.get("health") != "ok"]
                loaded[g["name"]] = bad
        except (urllib.error.URLError, OSError, ValueError):
            pass
        groups_ok = all(name in loaded and not loaded[name] for name in groups)
        if refused or (len(results) == len(checks) and groups_ok) or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # a poll interval, bounded by --deadline

    failed = bool(refused)
    for what, expr, must, label in checks:
        if what in refused:
            print(f"REFUSED {what}: {refused[what]}\n    {expr}")
        elif what in results:
            print(f"ok {results[what]:4d} series  {what}")
        elif refused:
            print(f"not checked (a query was refused) {what}")
        else:
            failed = True
            print(f"NO DATA {what}\n    {expr}")
    for name in groups:
        if name not in loaded or loaded[name]:
            failed = True
            print(f"RULE GROUP {name}: not loaded or unhealthy: {loaded.get(name)}")
        else:
            print(f"ok rule group {name}")
    print(f"{len(results)} of {len(checks)} queries answered" + ("" if failed else "; all pass"))
    alerts = {w[len("alert "):]: e for w, e, _ in rules if w.startswith("alert ")}
    for expr in args.print:
        while True:
            query = alerts.get(expr, expr)
            result = api(args.url, "/api/v1/query", {"query": query})["data"]["result"]
            if len(result) >= args.print_min_series or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # a poll interval, bounded by --deadline
        for r in result:
            m = r["metric"]
            print(f"{expr}: " + ",".join(f"{k}={m[k]}" for k in sorted(m)), r["value"][1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
