"""Property tests: random pods and services, checked by a validator written apart from the engine.

Hard rules never broken; plans deterministic, identical with and without the
index, stable on re-plan and after losing a host; and on instances small enough
for an exhaustive search, the engine (greedy, then its repair) places everything
whenever a layout exists: with running containers kept where they are, or,
with ``rebalance``, moved.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mason.core.placement import Allocation, Constraint, HostSpec, ServiceRequest, plan

GI = 1024**3
CONSTRAINTS = ["disk == ssd", "role != manager", "zone in [a, b]", "zone != c", "tier in [x]"]
# the validator reads the texts as written, not the engine's parse of them
TEXT = {Constraint.parse(t): t for t in CONSTRAINTS}
PROPS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@st.composite
def pods(draw, max_hosts=6):
    n = draw(st.integers(1, max_hosts))
    hosts = []
    for i in range(1, n + 1):
        labels = {}
        if draw(st.booleans()):
            labels["disk"] = draw(st.sampled_from(["ssd", "hdd"]))
        if draw(st.booleans()):
            labels["tier"] = "x"
        hosts.append(
            HostSpec(
                f"h{i}",
                draw(st.sampled_from(["a", "b", "c"])),
                draw(st.sampled_from([1000, 2000, 4000])),
                draw(st.sampled_from([GI, 2 * GI, 4 * GI])),
                "manager" if draw(st.integers(0, 4)) == 0 else "worker",
                labels,
            )
        )
    return hosts


@st.composite
def services(draw, max_services=4, max_replicas=4):
    out = []
    for i in range(draw(st.integers(1, max_services))):
        out.append(
            ServiceRequest(
                "app",
                f"s{i}",
                draw(st.integers(1, max_replicas)),
                draw(st.sampled_from([0, 250, 500, 1000])),
                draw(st.sampled_from([GI // 4, GI // 2, GI])),
                ports=((8080, "tcp"),) if draw(st.integers(0, 5)) == 0 else (),
                ha=frozenset(draw(st.sets(st.sampled_from(["host", "zone"])))),
                strategy=draw(st.sampled_from(["spread", "binpack"])),
                constraints=tuple(
                    Constraint.parse(c)
                    for c in draw(st.lists(st.sampled_from(CONSTRAINTS), max_size=2, unique=True))
                ),
            )
        )
    return out


# --- an independent model of the hard rules ----------------------------------------------


def host_allows(host: HostSpec, text: str) -> bool:
    attr, op, *rest = text.replace("[", "").replace("]", "").replace(",", "").split()
    if op == "not":
        op, rest = "not in", rest[1:]
    values = set(rest)
    actual = {"zone": host.zone, "role": host.role}.get(attr, host.labels.get(attr))
    inside = actual in values
    return inside if op in ("==", "in") else not inside


def usable(host: HostSpec, req: ServiceRequest) -> bool:
    return all(host_allows(host, TEXT[c]) for c in req.constraints)


def zone_cap(req: ServiceRequest, hosts) -> int | None:
    if "zone" not in req.ha:
        return None
    zones = {h.zone for h in hosts if usable(h, req)}
    return math.ceil(req.replicas / len(zones)) if zones else 0


def violations(hosts, reqs, assignment) -> list[str]:
    """assignment: list of (request, host name)."""
    by_name = {h.name: h for h in hosts}
    found = []
    cpu, mem, ports = Counter(), Counter(), Counter()
    per_host, per_zone = Counter(), Counter()
    for req, name in assignment:
        h = by_name[name]
        cpu[name] += req.cpu
        mem[name] += req.memory
        per_host[(req.service, name)] += 1
        per_zone[(req.service, h.zone)] += 1
        for p in req.ports:
            ports[(name, p)] += 1
        if not usable(h, req):
            found.append(f"{req.service} on {name}: constraint")
    found += [f"{n}: cpu" for n in cpu if cpu[n] > by_name[n].cpu]
    found += [f"{n}: memory" for n in mem if mem[n] > by_name[n].memory]
    found += [f"{k}: port" for k, v in ports.items() if v > 1]
    for req in reqs:
        if "host" in req.ha:
            found += [
                f"{k}: anti-affinity" for k, v in per_host.items() if k[0] == req.service and v > 1
            ]
        cap = zone_cap(req, hosts)
        if cap is not None:
            found += [f"{k}: zone" for k, v in per_zone.items() if k[0] == req.service and v > cap]
    return found


def exhaustive_feasible(hosts, reqs, fixed=()) -> bool:
    """Depth-first over every assignment (replicas of a service in host order).

    ``fixed``: (request, host name) pairs that stay where they are; the
    replicas left of each service are placed around them.
    """
    done = Counter(req.service for req, _ in fixed)
    items = [(r, i) for r in reqs for i in range(r.replicas - done[r.service])]
    chosen: list[tuple[ServiceRequest, str]] = list(fixed)

    def dfs(k: int, floor: int) -> bool:
        if k == len(items):
            return True
        req, i = items[k]
        for j, h in enumerate(hosts):
            if i and j < floor:
                continue
            chosen.append((req, h.name))
            last = i + 1 == req.replicas - done[req.service]
            if not violations(hosts, reqs, chosen) and dfs(k + 1, 0 if last else j):
                return True
            chosen.pop()
        return False

    return dfs(0, 0)


def placed(result, reqs):
    by_service = {r.service: r for r in reqs}
    return [(by_service[p.service], p.host) for p in result.placements if p.action != "remove"]


# --- properties ----------------------------------------------------------------------------


@PROPS
@given(pods(), services())
def test_never_a_hard_violation_and_every_replica_accounted(hosts, reqs):
    result = plan(hosts, reqs, bidders=[])
    assert violations(hosts, reqs, placed(result, reqs)) == []
    ids = {(p.service, p.replica) for p in result.placements} | {
        (u.service, u.replica) for u in result.unplaced
    }
    assert ids == {(r.service, i) for r in reqs for i in range(1, r.replicas + 1)}


@PROPS
@given(pods(), services(), st.randoms(use_true_random=False))
def test_deterministic_and_index_agrees_with_every_host_evaluation(hosts, reqs, rnd):
    a = plan(hosts, reqs, bidders=[])
    shuffled_hosts, shuffled_reqs = list(hosts), list(reqs)
    rnd.shuffle(shuffled_hosts)
    rnd.shuffle(shuffled_reqs)
    assert plan(shuffled_hosts, shuffled_reqs, bidders=[]).to_dict() == a.to_dict()
    assert plan(hosts, reqs, bidders=[], fast=False).to_dict() == a.to_dict()


@PROPS
@given(pods(), services())
def test_replan_is_stable_and_a_lost_host_moves_only_its_replicas(hosts, reqs):
    first = plan(hosts, reqs, bidders=[])
    current = [Allocation(p.app, p.service, p.replica, p.host) for p in first.placements]
    again = plan(hosts, reqs, current, bidders=[])
    assert {(p.service, p.replica, p.host, p.action) for p in again.placements} == {
        (p.service, p.replica, p.host, "keep") for p in first.placements
    }
    lost = random.Random(len(hosts)).choice(hosts).name
    survivors = [h for h in hosts if h.name != lost]
    after = plan(survivors, reqs, current, bidders=[])
    for p in after.placements:
        before = next(
            (c for c in current if (c.service, c.replica) == (p.service, p.replica)), None
        )
        if before is not None and before.host != lost:
            assert (p.action, p.host) == ("keep", before.host)
        if before is not None and before.host == lost:
            assert p.action in ("move", "remove")
    assert violations(survivors, reqs, placed(after, reqs)) == []


@settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(pods(max_hosts=5), services(max_services=3, max_replicas=3))
def test_tiny_instances_are_complete(hosts, reqs):
    total = sum(r.replicas for r in reqs)
    if total > 8:
        reqs = reqs[:1]
    result = plan(hosts, reqs, bidders=[])
    if exhaustive_feasible(hosts, reqs):
        assert result.unplaced == []
    else:
        assert result.unplaced


@st.composite
def growing_apps(draw):
    """Hosts, an app as it runs now (a valid layout of fewer replicas), and the app asked for."""
    hosts = draw(pods(max_hosts=5))
    reqs = draw(services(max_services=3, max_replicas=3))
    while sum(r.replicas for r in reqs) > 8:
        reqs = reqs[:-1]
    smaller = [replace(r, replicas=draw(st.integers(0, r.replicas))) for r in reqs]
    first = plan(hosts, smaller, bidders=[])
    current = [Allocation(p.app, p.service, p.replica, p.host) for p in first.placements]
    return hosts, reqs, current


@settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(growing_apps())
def test_repair_completes_around_running_containers_and_keeps_them(app):
    hosts, reqs, current = app
    by_service = {r.service: r for r in reqs}
    result = plan(hosts, reqs, current, bidders=[])
    acts = {(p.service, p.replica): (p.action, p.host) for p in result.placements}
    for c in current:  # stability: nothing that runs moves without rebalance
        assert acts[(c.service, c.replica)] == ("keep", c.host)
    assert violations(hosts, reqs, placed(result, reqs)) == []
    fixed = [(by_service[c.service], c.host) for c in current]
    if exhaustive_feasible(hosts, reqs, fixed):
        assert result.unplaced == []
    else:
        assert result.unplaced


@settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(growing_apps())
def test_rebalance_completes_whenever_any_layout_exists(app):
    hosts, reqs, current = app
    result = plan(hosts, reqs, current, bidders=[], rebalance=True)
    assert violations(hosts, reqs, placed(result, reqs)) == []
    if exhaustive_feasible(hosts, reqs):
        assert result.unplaced == []
    else:
        assert result.unplaced
    if plan(hosts, reqs, current, bidders=[]).unplaced == []:
        # rebalance moves running containers only when it must
        assert {p.action for p in result.placements} <= {"keep", "new", "remove"}


@st.composite
def planted_apps(draw):
    """Pods too big for the exhaustive search, sized to a random layout plus some slack."""
    rnd = random.Random(draw(st.integers(0, 10**6)))
    n = draw(st.integers(9, 30))
    slack = draw(st.sampled_from([0.05, 0.1, 0.2]))
    load = {f"h{i}": [0, 0] for i in range(1, n + 1)}
    reqs = []
    for i in range(2 * n):
        replicas = rnd.randint(1, 4)
        cpu, memory = rnd.randrange(100, 2001, 50), rnd.randrange(128, 4097, 64) * 1024**2
        for name in rnd.sample(sorted(load), replicas):
            load[name][0] += cpu
            load[name][1] += memory
        ha = frozenset({"host"}) if rnd.random() < 0.3 else frozenset()
        reqs.append(ServiceRequest("app", f"s{i}", replicas, cpu, memory, ha=ha))
    hosts = [
        HostSpec(name, "abc"[i % 3], math.ceil(c * (1 + slack)), math.ceil(m * (1 + slack)))
        for i, (name, (c, m)) in enumerate(load.items())
    ]
    return hosts, reqs


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(planted_apps(), st.randoms(use_true_random=False))
def test_repair_places_planted_apps_deterministically(app, rnd):
    hosts, reqs = app
    result = plan(hosts, reqs, bidders=[])
    assert result.unplaced == []
    assert violations(hosts, reqs, placed(result, reqs)) == []
    shuffled_hosts, shuffled_reqs = list(hosts), list(reqs)
    rnd.shuffle(shuffled_hosts)
    rnd.shuffle(shuffled_reqs)
    assert plan(shuffled_hosts, shuffled_reqs, bidders=[]).to_dict() == result.to_dict()
