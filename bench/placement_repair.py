#!/usr/bin/env python
"""Placement repair benchmark: apps known to fit, placed by greedy alone and with the repair.

    .venv/bin/python bench/placement_repair.py            # full run, a few minutes
    .venv/bin/python bench/placement_repair.py --quick    # sizes up to 100 hosts, 3 seeds

Writes bench/results/placement-repair.json (``--out``) and prints a table.

Each app is generated with a *planted* solution (issue 16): hosts over 3 zones,
services with random cpu, memory and replicas, a share with ``ha: host``, ``ha:
zone``, a constraint or a public port, every replica put on a random host its
rules allow; then each host gets exactly ``(1 + slack)`` times what the planted
layout puts on it, cpu and memory apart. So a valid layout is known to exist,
with ``slack`` room to spare on every host, and an app not fully placed is the
engine's failure, not the pod's.

For every app, the same hosts and services are planned twice, by greedy alone
(``time_limit=0``) and with the repair (the default limit), and both plans go
through the validator below, which shares no code with the engine: it reads
the generator's own structured rules (not the engine's constraint parser) and
recomputes every hard rule. The planted layout goes through it too, to show the
generator's apps really fit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mason.core.placement import (  # noqa: E402
    DEFAULT_TIME_LIMIT,
    Constraint,
    HostSpec,
    ServiceRequest,
    plan,
)

MI = 1024**2
ZONES = ("zone-a", "zone-b", "zone-c")
# (text given to the engine, structured rule the validator checks)
CONSTRAINTS = (
    ("disk == ssd", ("label", "disk", {"ssd"}, True)),
    ("role != manager", ("role", None, {"manager"}, False)),
    ("zone in [zone-a, zone-b]", ("zone", None, {"zone-a", "zone-b"}, True)),
    ("tier in [a, b]", ("label", "tier", {"a", "b"}, True)),
)
SERVICES_PER_HOST = 2  # 500 hosts -> 1,000 services
SIZES = (10, 20, 50, 100, 200, 500)
SLACKS = (0.05, 0.10, 0.20)


# --- the generator -------------------------------------------------------------------------


def host_ok(host: dict, rule: tuple) -> bool:
    kind, key, values, positive = rule
    if kind == "label":
        actual = host["labels"].get(key)
    elif kind == "role":
        actual = host["role"]
    else:
        actual = host["zone"]
    return (actual in values) == positive


def planted_app(n_hosts: int, slack: float, seed: int) -> tuple[list[dict], list[dict], list]:
    """Hosts, services and the planted layout [(service name, host name), ...]."""
    rng = random.Random(f"{n_hosts}/{slack}/{seed}")
    hosts = [
        {
            "name": f"h{i}",
            "zone": ZONES[i % 3],
            "role": "manager" if i <= 3 else "worker",
            "labels": {"disk": rng.choice(["ssd", "hdd"]), "tier": rng.choice("abc")},
        }
        for i in range(1, n_hosts + 1)
    ]
    load = {h["name"]: [0, 0] for h in hosts}
    ports_used: dict[str, set] = defaultdict(set)
    services, layout = [], []
    for i in range(SERVICES_PER_HOST * n_hosts):
        planted = _planted_service(i, hosts, rng, ports_used)
        if planted is None:
            continue
        service, chosen = planted
        for host in chosen:
            layout.append((service["service"], host["name"]))
            load[host["name"]][0] += service["cpu"]
            load[host["name"]][1] += service["memory"]
        services.append(service)
    for h in hosts:
        h["cpu"] = math.ceil(load[h["name"]][0] * (1 + slack))
        h["memory"] = math.ceil(load[h["name"]][1] * (1 + slack))
    return hosts, services, layout


def _planted_service(i, hosts, rng, ports_used) -> tuple[dict, list[dict]] | None:
    """One service and the hosts its replicas are planted on (random, as its rules allow)."""
    constraints = [rng.choice(CONSTRAINTS)] if rng.random() < 0.15 else []
    eligible = [h for h in hosts if all(host_ok(h, rule) for _, rule in constraints)]
    ha = {rule for rule, share in (("host", 0.30), ("zone", 0.15)) if rng.random() < share}
    ports = [(9000 + i % 7, "tcp")] if rng.random() < 0.03 else []
    replicas = rng.randint(1, 6)
    zones = sorted({h["zone"] for h in eligible})
    cap = math.ceil(replicas / len(zones)) if "zone" in ha else None
    chosen: list[dict] = []
    per_zone: Counter = Counter()
    for _ in range(replicas):
        options = [
            h
            for h in eligible
            if not ("host" in ha and h in chosen)
            and not (cap and per_zone[h["zone"]] >= cap)
            and not (ports and ports[0] in ports_used[h["name"]])
        ]
        if not options:
            break
        host = rng.choice(options)
        chosen.append(host)
        per_zone[host["zone"]] += 1
        if ports:
            ports_used[host["name"]].add(ports[0])
    if not chosen:
        return None
    if "zone" in ha and max(per_zone.values()) > math.ceil(len(chosen) / len(zones)):
        ha.discard("zone")  # fewer replicas than drawn: the planted spread no longer holds
    service = {
        "app": "planted",
        "service": f"s{i}",
        "replicas": len(chosen),
        "cpu": rng.randrange(50, 2001, 50),  # millicores
        "memory": rng.randrange(64, 4097, 64) * MI,
        "ha": ha,
        "constraints": constraints,
        "ports": ports,
        "strategy": "binpack" if rng.random() < 0.2 else "spread",
    }
    return service, chosen


def to_engine(hosts: list[dict], services: list[dict]):
    specs = [
        HostSpec(h["name"], h["zone"], h["cpu"], h["memory"], h["role"], h["labels"]) for h in hosts
    ]
    requests = [
        ServiceRequest(
            app=s["app"],
            service=s["service"],
            replicas=s["replicas"],
            cpu=s["cpu"],
            memory=s["memory"],
            ports=tuple(s["ports"]),
            ha=frozenset(s["ha"]),
            strategy=s["strategy"],
            constraints=tuple(Constraint.parse(text) for text, _ in s["constraints"]),
        )
        for s in services
    ]
    return specs, requests


# --- the independent validator -------------------------------------------------------------


def validate(hosts: list[dict], services: list[dict], placed: list[tuple[str, int, str]]) -> dict:
    """Hard-rule violations of a layout [(service name, replica, host name), ...]."""
    by_name = {h["name"]: h for h in hosts}
    by_service = {s["service"]: s for s in services}
    bad: Counter = Counter()
    cpu: Counter = Counter()
    memory: Counter = Counter()
    on_host: dict = defaultdict(Counter)
    in_zone: dict = defaultdict(Counter)
    ports: dict = defaultdict(Counter)
    seen = set()
    for name, replica, host_name in placed:
        s, h = by_service[name], by_name.get(host_name)
        if h is None:
            bad["unknown host"] += 1
            continue
        if (name, replica) in seen:
            bad["replica placed twice"] += 1
        seen.add((name, replica))
        if not 1 <= replica <= s["replicas"]:
            bad["replica out of range"] += 1
        cpu[host_name] += s["cpu"]
        memory[host_name] += s["memory"]
        on_host[name][host_name] += 1
        in_zone[name][h["zone"]] += 1
        for port in s["ports"]:
            ports[host_name][port] += 1
        bad["constraint"] += sum(1 for _, rule in s["constraints"] if not host_ok(h, rule))
    bad["cpu over capacity"] = sum(1 for n, used in cpu.items() if used > by_name[n]["cpu"])
    bad["memory over capacity"] = sum(
        1 for n, used in memory.items() if used > by_name[n]["memory"]
    )
    bad["port clash"] = sum(1 for c in ports.values() for n in c.values() if n > 1)
    for name, s in by_service.items():
        if "host" in s["ha"]:
            bad["anti-affinity"] += sum(1 for n in on_host[name].values() if n > 1)
        if "zone" in s["ha"]:
            usable = {
                h["zone"] for h in hosts if all(host_ok(h, rule) for _, rule in s["constraints"])
            }
            cap = math.ceil(s["replicas"] / len(usable))
            bad["zone spread"] += sum(1 for n in in_zone[name].values() if n > cap)
    return {k: v for k, v in bad.items() if v}


def placed_of(result) -> list[tuple[str, int, str]]:
    return [(p.service, p.replica, p.host) for p in result.placements if p.action != "remove"]


# --- runs ----------------------------------------------------------------------------------


def run_app(n_hosts: int, slack: float, seed: int, time_limit: float, twice: bool) -> dict:
    hosts, services, planted = planted_app(n_hosts, slack, seed)
    containers = sum(s["replicas"] for s in services)
    planted_layout = _number_replicas([(name, 0, host) for name, host in planted])
    specs, requests = to_engine(hosts, services)
    out = {
        "hosts": n_hosts,
        "slack": slack,
        "seed": seed,
        "services": len(services),
        "containers": containers,
        "planted_violations": validate(hosts, services, planted_layout),
    }
    for label, limit in (("greedy", 0.0), ("repair", time_limit)):
        # wall time is what a user waits; this process's cpu time is what the engine
        # costs when the machine is shared
        start, cpu_start = time.perf_counter(), time.process_time()
        result = plan(specs, requests, bidders=[], time_limit=limit)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        placed = placed_of(result)
        out[label] = {
            "seconds": round(seconds, 4),
            "cpu_seconds": round(cpu_seconds, 4),
            "unplaced": len(result.unplaced),
            "fully_placed": not result.unplaced and len(placed) == containers,
            "violations": validate(hosts, services, placed),
        }
        if result.repair is not None:
            out[label]["repair"] = result.repair.to_dict()
        if label == "repair" and twice:
            again = plan(
                list(reversed(specs)), list(reversed(requests)), bidders=[], time_limit=limit
            )
            out[label]["deterministic"] = again.to_dict() == result.to_dict()
    return out


def _number_replicas(layout: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    count: Counter = Counter()
    numbered = []
    for name, _, host in layout:
        count[name] += 1
        numbered.append((name, count[name], host))
    return numbered


def summarize(runs: list[dict]) -> list[dict]:
    cells: dict = defaultdict(list)
    for r in runs:
        cells[(r["slack"], r["hosts"])].append(r)
    table = []
    for (slack, n), rs in sorted(cells.items()):
        row = {"slack": slack, "hosts": n, "apps": len(rs)}
        row["services_mean"] = round(statistics.mean(r["services"] for r in rs))
        row["containers_mean"] = round(statistics.mean(r["containers"] for r in rs))
        for label in ("greedy", "repair"):
            row[f"{label}_fully_placed"] = round(
                sum(r[label]["fully_placed"] for r in rs) / len(rs), 3
            )
            row[f"{label}_unplaced_mean"] = round(
                statistics.mean(r[label]["unplaced"] for r in rs), 1
            )
            row[f"{label}_seconds_mean"] = round(
                statistics.mean(r[label]["seconds"] for r in rs), 3
            )
            row[f"{label}_seconds_max"] = round(max(r[label]["seconds"] for r in rs), 3)
            row[f"{label}_cpu_seconds_max"] = round(max(r[label]["cpu_seconds"] for r in rs), 3)
        row["violations"] = sum(
            sum(r[label]["violations"].values()) for r in rs for label in ("greedy", "repair")
        )
        row["planted_violations"] = sum(sum(r["planted_violations"].values()) for r in rs)
        checked = [r["repair"]["deterministic"] for r in rs if "deterministic" in r["repair"]]
        row["deterministic"] = all(checked) if checked else None
        table.append(row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="host counts")
    parser.add_argument("--slacks", default=",".join(map(str, SLACKS)))
    parser.add_argument("--seeds", type=int, default=10, help="apps per size and slack")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT)
    parser.add_argument("--quick", action="store_true", help="up to 100 hosts, 3 seeds")
    parser.add_argument("--out", type=Path, help="default: bench/results/placement-repair.json")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seeds = "10,20,50,100", 3
    if args.out is None:
        name = "placement-repair-quick.json" if args.quick else "placement-repair.json"
        args.out = REPO / "bench" / "results" / name
    sizes = [int(s) for s in args.sizes.split(",")]
    slacks = [float(s) for s in args.slacks.split(",")]

    runs = []
    print(
        f"{'slack':>5} {'hosts':>5} {'svcs':>5} {'ctrs':>5}  greedy: placed  mean s   max s"
        f"   repair: placed  mean s   max s (cpu)  violations",
        flush=True,
    )
    for slack in slacks:
        for n in sizes:
            cell = [
                run_app(n, slack, seed, args.time_limit, twice=seed == 0)
                for seed in range(args.seeds)
            ]
            runs += cell
            row = summarize(cell)[0]
            print(
                f"{slack:>5.0%} {n:>5} {row['services_mean']:>5} {row['containers_mean']:>5}"
                f"  {row['greedy_fully_placed']:>13.0%} {row['greedy_seconds_mean']:>7.3f}"
                f" {row['greedy_seconds_max']:>7.3f}  {row['repair_fully_placed']:>14.0%}"
                f" {row['repair_seconds_mean']:>7.3f} {row['repair_seconds_max']:>7.3f}"
                f" ({row['repair_cpu_seconds_max']:.3f})  {row['violations']}",
                flush=True,
            )
    result = {
        "command": " ".join(["bench/placement_repair.py", *sys.argv[1:]]),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "time_limit": args.time_limit,
        "summary": summarize(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(dump(result))
    tmp.replace(args.out)
    print(f"wrote {args.out}")


def dump(result: dict) -> str:
    """Indented JSON, with one line per app so the file stays readable and small."""
    runs = result["runs"]
    head = json.dumps({**result, "runs": []}, indent=2, default=sorted)
    lines = ",\n".join("    " + json.dumps(r, default=sorted) for r in runs)
    return head.replace('"runs": []', '"runs": [\n' + lines + "\n  ]") + "\n"


if __name__ == "__main__":
    main()
