#!/usr/bin/env python
"""Placement benchmark: speed, memory, growth, correctness and packing quality.

    .venv/bin/python bench/placement.py                 # full run, about a minute or two
    .venv/bin/python bench/placement.py --quick         # smaller, for a smoke test

Writes bench/results/placement.json (``--out``) and prints the figures.

Workload (issue 4): hosts over 3 zones with mixed capacities and labels;
containers in services of 1-50 replicas with mixed resources, ~30% host
anti-affinity, ~10% zone spread, ~10% label constraints, ~2% public ports.
Each scale runs in a fresh process, so its peak RSS is its own.

The validator below shares no code with the engine: it re-derives every hard
rule from the benchmark's own description of the workload (structured
constraints, not the engine's parser) and checks the plan against it.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import platform
import random
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mason.core.placement import (  # noqa: E402
    Constraint,
    HostSpec,
    ServiceRequest,
    plan,
)

GI, MI = 1024**3, 1024**2
ZONES = ("zone-a", "zone-b", "zone-c")
HOST_SIZES = ((4000, 16 * GI), (8000, 32 * GI), (16000, 64 * GI), (32000, 128 * GI))
CPUS = (100, 250, 500, 1000)
MEMS = (128 * MI, 256 * MI, 512 * MI, 1 * GI, 2 * GI)
# (text given to the engine, structured form the validator checks)
CONSTRAINTS = (
    ("disk == ssd", ("label", "disk", {"ssd"}, True)),
    ("gpu == true", ("label", "gpu", {"true"}, True)),
    ("tier in [a, b]", ("label", "tier", {"a", "b"}, True)),
    ("role != manager", ("role", None, {"manager"}, False)),
    ("zone in [zone-a, zone-b]", ("zone", None, {"zone-a", "zone-b"}, True)),
)


def make_hosts(n: int, rng: random.Random) -> list[dict]:
    hosts = []
    for i in range(1, n + 1):
        cpu, mem = rng.choice(HOST_SIZES)
        labels = {"disk": "ssd" if rng.random() < 0.5 else "hdd", "tier": rng.choice("abc")}
        if rng.random() < 0.1:
            labels["gpu"] = "true"
        hosts.append(
            {
                "name": f"h{i}",
                "zone": ZONES[i % 3],
                "cpu": cpu,
                "memory": mem,
                "role": "manager" if i <= 3 else "worker",
                "labels": labels,
            }
        )
    return hosts


def make_services(containers: int, rng: random.Random) -> list[dict]:
    services, total, i = [], 0, 0
    while total < containers:
        i += 1
        replicas = min(rng.randint(1, 50), containers - total)
        ha = set()
        if rng.random() < 0.30:
            ha.add("host")
        if rng.random() < 0.10:
            ha.add("zone")
        cons = [rng.choice(CONSTRAINTS)] if rng.random() < 0.10 else []
        ports = [(8000 + i % 500, "tcp")] if rng.random() < 0.02 else []
        services.append(
            {
                "app": f"app{i // 20}",
                "service": f"s{i}",
                "replicas": replicas,
                "cpu": rng.choice(CPUS),
                "memory": rng.choice(MEMS),
                "ha": ha,
                "strategy": "binpack" if rng.random() < 0.3 else "spread",
                "constraints": cons,
                "ports": ports,
            }
        )
        total += replicas
    return services


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


# --- independent validator -------------------------------------------------------------


def _host_ok(host: dict, rule: tuple) -> bool:
    kind, key, values, positive = rule
    if kind == "label":
        actual = host["labels"].get(key)
    elif kind == "role":
        actual = host["role"]
    else:
        actual = host["zone"]
    inside = actual in values
    return inside if positive else not inside


def validate(hosts: list[dict], services: list[dict], placements: list[dict]) -> dict:
    """Count hard-rule violations of a plan. Returns {rule: count}."""
    by_name = {h["name"]: h for h in hosts}
    svc = {(s["app"], s["service"]): s for s in services}
    violations: Counter = Counter()
    cpu, mem = Counter(), Counter()
    on_host: dict = defaultdict(Counter)
    in_zone: dict = defaultdict(Counter)
    ports: dict = defaultdict(Counter)
    seen = set()
    for p in placements:
        if p["action"] == "remove":
            continue
        key = (p["app"], p["service"])
        s, h = svc[key], by_name.get(p["host"])
        if h is None:
            violations["unknown host"] += 1
            continue
        ident = (*key, p["replica"])
        if ident in seen:
            violations["replica placed twice"] += 1
        seen.add(ident)
        if not 1 <= p["replica"] <= s["replicas"]:
            violations["replica out of range"] += 1
        cpu[h["name"]] += s["cpu"]
        mem[h["name"]] += s["memory"]
        on_host[key][h["name"]] += 1
        in_zone[key][h["zone"]] += 1
        for port in s["ports"]:
            ports[h["name"]][port] += 1
        for _, rule in s["constraints"]:
            if not _host_ok(h, rule):
                violations["constraint"] += 1
    for name, used in cpu.items():
        if used > by_name[name]["cpu"]:
            violations["cpu over capacity"] += 1
    for name, used in mem.items():
        if used > by_name[name]["memory"]:
            violations["memory over capacity"] += 1
    for counts in ports.values():
        violations["port clash"] += sum(1 for n in counts.values() if n > 1)
    for key, s in svc.items():
        if "host" in s["ha"]:
            violations["anti-affinity"] += sum(1 for n in on_host[key].values() if n > 1)
        if "zone" in s["ha"]:
            usable = {h["zone"] for h in hosts if all(_host_ok(h, r) for _, r in s["constraints"])}
            cap = -(-s["replicas"] // len(usable)) if usable else 0
            violations["zone spread"] += sum(1 for n in in_zone[key].values() if n > cap)
    return dict(violations)


# --- one measured run (in its own process) ---------------------------------------------


def run_one(hosts_n: int, containers: int, seed: int, naive: bool) -> dict:
    rng = random.Random(seed)
    hosts = make_hosts(hosts_n, rng)
    services = make_services(containers, rng)
    specs, requests = to_engine(hosts, services)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # wall time, and this process's own cpu time: on a shared machine the second
    # is what the engine costs, the first what a user waits
    start, cpu_start = time.perf_counter(), time.process_time()
    result = plan(specs, requests, bidders=[], fast=not naive)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = result.to_dict()
    placed = sum(1 for p in data["placements"] if p["action"] != "remove")
    digest = hashlib.sha256(json.dumps(data["placements"]).encode()).hexdigest()[:16]
    return {
        "hosts": hosts_n,
        "containers": sum(s["replicas"] for s in services),
        "services": len(services),
        "placed": placed,
        "unplaced": len(data["unplaced"]),
        "seconds": round(seconds, 3),
        "placements_per_second": round(placed / seconds) if seconds else None,
        "cpu_seconds": round(cpu_seconds, 3),
        "placements_per_cpu_second": round(placed / cpu_seconds) if cpu_seconds else None,
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_before_plan_mib": round(rss_before / 1024, 1),
        "violations": validate(hosts, services, data["placements"]),
        "plan_digest": digest,
    }


def binpack_instance(items: int, seed: int, low: float, high: float) -> dict:
    """Identical hosts, memory only, sizes uniform in [low, high] of a host."""
    rng = random.Random(seed)
    capacity = 64 * GI
    sizes = [int(capacity * rng.uniform(low, high)) // MI * MI for _ in range(items)]
    hosts = [HostSpec(f"b{i}", "zone-a", 10**9, capacity) for i in range(1, items + 1)]
    requests = [
        ServiceRequest("pack", f"s{i}", 1, 0, size, strategy="binpack")
        for i, size in enumerate(sizes)
    ]
    start = time.perf_counter()
    result = plan(hosts, requests, bidders=[])
    seconds = time.perf_counter() - start
    used = len({p.host for p in result.placements})
    lower = math.ceil(sum(sizes) / capacity)
    per_host = Counter()
    for p in result.placements:
        per_host[p.host] += sizes[int(p.service[1:])]
    return {
        "items": items,
        "sizes": f"uniform {low:.0%}-{high:.0%} of a host",
        "hosts_used": used,
        "lower_bound": lower,
        "bound_11_9_lb_plus_1": round(11 / 9 * lower + 1, 1),
        "within_bound": used <= 11 / 9 * lower + 1,
        "ratio_to_lb": round(used / lower, 4),
        "unplaced": len(result.unplaced),
        "overfull_hosts": sum(1 for v in per_host.values() if v > capacity),
        "seconds": round(seconds, 3),
    }


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--scales", default="1000,10000,100000", help="container counts")
    parser.add_argument(
        "--baseline-containers", type=int, default=2000, help="naive baseline workload"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="500 hosts, 1k/5k/10k containers")
    parser.add_argument("--out", type=Path, help="default: bench/results/placement[-quick].json")
    parser.add_argument("--one", nargs=3, type=int, metavar=("HOSTS", "CONTAINERS", "NAIVE"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.seed, bool(args.one[2]))))
        return
    if args.quick:
        args.hosts, args.scales, args.baseline_containers = 500, "1000,5000,10000", 500
    if args.out is None:
        name = "placement-quick.json" if args.quick else "placement.json"
        args.out = REPO / "bench" / "results" / name

    scales = [int(s) for s in args.scales.split(",")]
    runs = []
    for n in scales:
        r = _child(["--seed", str(args.seed), "--one", str(args.hosts), str(n), "0"])
        runs.append(r)
        print(
            f"{r['containers']:>7} containers on {r['hosts']} hosts: {r['seconds']:7.2f} s "
            f"({r['cpu_seconds']:.2f} s cpu), {r['placements_per_second']:>7} placements/s "
            f"({r['placements_per_cpu_second']}/cpu-s), peak RSS {r['peak_rss_mib']} MiB, "
            f"unplaced {r['unplaced']}, violations {sum(r['violations'].values())}",
            flush=True,
        )
    n = args.baseline_containers
    fast = _child(["--seed", str(args.seed), "--one", str(args.hosts), str(n), "0"])
    naive = _child(["--seed", str(args.seed), "--one", str(args.hosts), str(n), "1"])
    baseline = {
        "containers": naive["containers"],
        "hosts": naive["hosts"],
        "naive_placements_per_second": naive["placements_per_second"],
        "engine_placements_per_second": fast["placements_per_second"],
        "speedup": round(fast["placements_per_second"] / naive["placements_per_second"], 1),
        "naive_placements_per_cpu_second": naive["placements_per_cpu_second"],
        "engine_placements_per_cpu_second": fast["placements_per_cpu_second"],
        "cpu_speedup": round(
            fast["placements_per_cpu_second"] / naive["placements_per_cpu_second"], 1
        ),
        "same_plan": naive["plan_digest"] == fast["plan_digest"],
        "naive_violations": naive["violations"],
    }
    print(
        f"naive baseline on {n} containers: {baseline['naive_placements_per_second']} "
        f"placements/s; engine {baseline['engine_placements_per_second']}/s "
        f"= {baseline['speedup']}x (cpu time: {baseline['cpu_speedup']}x); "
        f"same plan: {baseline['same_plan']}",
        flush=True,
    )
    growth = [
        {
            "from": a["containers"],
            "to": b["containers"],
            "size_ratio": round(b["containers"] / a["containers"], 2),
            "time_ratio": round(b["seconds"] / a["seconds"], 2),
            "cpu_time_ratio": round(b["cpu_seconds"] / a["cpu_seconds"], 2),
        }
        for a, b in itertools.pairwise(runs)
    ]
    for g in growth:
        print(
            f"growth {g['from']} -> {g['to']}: x{g['size_ratio']} size, x{g['time_ratio']} time, "
            f"x{g['cpu_time_ratio']} cpu time"
        )
    packing = [
        binpack_instance(2000 if args.quick else 20000, args.seed, 0.02, 0.5),
        binpack_instance(2000 if args.quick else 20000, args.seed + 1, 0.01, 0.25),
    ]
    for p in packing:
        print(
            f"bin packing {p['items']} items ({p['sizes']}): {p['hosts_used']} hosts, "
            f"lower bound {p['lower_bound']}, bound {p['bound_11_9_lb_plus_1']}: "
            f"{'ok' if p['within_bound'] else 'EXCEEDED'}"
        )
    result = {
        "command": " ".join(["bench/placement.py", *sys.argv[1:]]),
        "load_average_at_end": [round(x, 2) for x in __import__("os").getloadavg()],
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpus": __import__("os").cpu_count(),
        },
        "seed": args.seed,
        "runs": runs,
        "growth": growth,
        "baseline": baseline,
        "binpacking": packing,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
