"""The placement engine: where every container of a set of services goes, and why.

:func:`plan` is the one entry point; its phases, in order:

1. :func:`_services`: hosts are put in canonical order (zone, then natural name
   order), the final tie-break everywhere, so the same input always gives the
   same plan; requests are checked and get their per-service state;
2. :func:`_charge_running`: what runs now is charged to its hosts;
3. :func:`_settle_running`: containers of planned services are *kept* where
   they are if every bidder still accepts them there (stickiness), scaling down
   removes replicas where the service is most crowded (zone, then host), then from
   the most loaded hosts, so what stays keeps its spread; replicas on lost or
   no-longer-valid hosts are to be *moved*;
4. :func:`_place_greedily`: the containers left (new and moved) are placed
   largest first, each on the best bid (spread: least utilized host; binpack:
   first host that fits), using the host index (:mod:`.index`) rather than
   visiting every host. When that places everything, the plan is done: this is
   the fast path and nothing below runs;
5. :func:`.repair.repair`: some container found no host. Within the time limit,
   the repair moves containers of the planned app (never a running one unless
   ``rebalance``) to make room, or proves that no layout exists;
6. :func:`_assemble`: every container still without a host is reported with,
   per reason, how many hosts rejected it ("3 hosts: not enough memory; 2 hosts:
   anti-affinity"); the plan carries the repair's verdict ("no layout exists:
   ..." or "search stopped after 2 s").
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mason.core.errors import InvalidInput
from mason.core.placement.bidders import Bidder, HostState, load_bidders
from mason.core.placement.explain import (
    explain,
    explain_final,
    format_reasons,
    sticky,
    unplaced_reasons,
)
from mason.core.placement.model import (
    KEEP,
    REMOVE,
    STRATEGIES,
    Allocation,
    Explanation,
    HostSpec,
    Placement,
    Plan,
    ServiceRequest,
    Unplaced,
)
from mason.core.placement.repair import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    RepairResult,
    repair,
)
from mason.core.placement.state import Container, Planner, ServiceState, natural_key
from mason.core.placement.survival import survival_report

__all__ = ["DEFAULT_TIME_LIMIT", "MAX_TIME_LIMIT", "format_reasons", "natural_key", "plan"]

Key = tuple[str, str]  # (app, service)


@dataclass
class Running:
    """A running replica of a planned service, on a host of the pod."""

    replica: int
    host: HostState


@dataclass
class Lost:
    """A running replica of a planned service whose host is no longer in the pod."""

    replica: int
    host: str


@dataclass
class RunningSet:
    """What runs now of the planned services, per service, and what goes away outright."""

    here: dict[Key, list[Running]]
    gone: dict[Key, list[Lost]]
    removals: list[Placement] = field(default_factory=list)


def plan(
    hosts: Iterable[HostSpec],
    requests: Iterable[ServiceRequest],
    current: Iterable[Allocation] = (),
    *,
    bidders: Sequence[Bidder] | None = None,
    explain: bool = False,
    fast: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
    rebalance: bool = False,
) -> Plan:
    """Place every replica of ``requests`` on ``hosts``, given what runs now (``current``).

    ``bidders``: custom bidders (default: every installed ``mason.bidders`` entry point).
    ``fast=False`` evaluates every host with every bidder for every container: the
    reference the index must agree with, and the benchmark's naive baseline.
    ``time_limit``: seconds the repair may take when greedy placement leaves
    containers without a host (0: no repair). ``rebalance``: the repair may move
    running containers too (otherwise a kept container stays where it runs).
    """
    if not 0 <= time_limit <= MAX_TIME_LIMIT:  # (also refuses nan)
        raise InvalidInput(
            f"time limit: expected 0 to {MAX_TIME_LIMIT:g} seconds, got {time_limit}"
        )
    planner = Planner(hosts, load_bidders() if bidders is None else bidders, fast=fast)
    services = _services(planner, requests)
    running = _charge_running(planner, services, current)
    kept, pending = _settle_running(planner, services, running)
    explanations = [sticky(item) for item in kept] if explain else []
    failed = _place_greedily(planner, pending, explanations if explain else None)
    fixed = None
    if failed and time_limit > 0:
        fixed = repair(planner, kept, pending, time_limit=time_limit, rebalance=rebalance)
        if explain and fixed.notes:
            explanations = _explain_repaired(planner, kept, pending, fixed.notes)
    return _assemble(planner, running.removals, [*kept, *pending], explanations, fixed)


def _services(planner: Planner, requests: Iterable[ServiceRequest]) -> dict[Key, ServiceState]:
    """Check the requests and give each its per-service state, in key order."""
    reqs = sorted(requests, key=lambda r: r.key)
    for a, b in itertools.pairwise(reqs):
        if a.key == b.key:
            raise InvalidInput(f"service {a.app}/{a.service} is requested twice")
    for r in reqs:
        if r.strategy not in STRATEGIES:
            raise InvalidInput(f"{r.app}/{r.service}: unknown strategy {r.strategy!r}")
        if r.replicas < 0:
            raise InvalidInput(f"{r.app}/{r.service}: replicas must be >= 0, got {r.replicas}")
    return {r.key: planner.service(r) for r in reqs}


def _charge_running(
    planner: Planner, services: dict[Key, ServiceState], current: Iterable[Allocation]
) -> RunningSet:
    """Charge what runs now; sort planned apps' containers into here / gone / removed."""
    planned_apps = {key[0] for key in services}
    running = RunningSet({k: [] for k in services}, {k: [] for k in services})
    seen: set[tuple[str, str, int]] = set()
    ordered = sorted(current, key=lambda a: (a.app, a.service, a.replica, natural_key(a.host)))
    for alloc in ordered:
        host = planner.by_name.get(alloc.host)
        if alloc.app not in planned_apps:
            if host is not None:  # another app's container: it only takes room
                planner.charge(host, alloc.cpu, alloc.memory, alloc.ports, None)
            continue
        key = (alloc.app, alloc.service)
        ident = (alloc.app, alloc.service, alloc.replica)
        if key not in services or ident in seen or alloc.replica < 1:
            if host is not None:
                running.removals.append(
                    Placement(alloc.app, alloc.service, alloc.replica, host.name, host.zone, REMOVE)
                )
            continue
        seen.add(ident)
        if host is None:
            running.gone[key].append(Lost(alloc.replica, alloc.host))
        else:
            planner.assign(services[key], host)
            running.here[key].append(Running(alloc.replica, host))
    return running


def _settle_running(
    planner: Planner, services: dict[Key, ServiceState], running: RunningSet
) -> tuple[list[Container], list[Container]]:
    """Scale down, keep what every bidder still accepts, and list what is left to place.

    Returns (kept, pending): pending holds the containers to move, then the new
    ones (lowest free replica numbers), service by service.
    """
    kept: list[Container] = []
    pending: list[Container] = []
    for key, svc in services.items():
        req = svc.request
        here, gone = running.here[key], running.gone[key]
        _scale_down(planner, svc, here, gone, running.removals)
        # Stickiness: a running replica stays unless some bidder now rejects its host.
        for r in sorted(here, key=lambda r: r.replica):
            planner.assign(svc, r.host, -1)
            reason = planner.rejects(svc, r.replica, r.host)
            if reason is None:
                planner.assign(svc, r.host)
                kept.append(Container(svc, r.replica, r.host.name, host=r.host, kept=True))
            else:
                pending.append(Container(svc, r.replica, r.host.name, reason))
        for lost in gone:
            pending.append(Container(svc, lost.replica, lost.host, "host lost"))
        used = {r.replica for r in here} | {lost.replica for lost in gone}
        missing, replica = req.replicas - len(here) - len(gone), 0
        while missing > 0:
            replica += 1
            if replica not in used:
                pending.append(Container(svc, replica, None))
                missing -= 1
    return kept, pending


def _scale_down(
    planner: Planner,
    svc: ServiceState,
    here: list[Running],
    gone: list[Lost],
    removals: list[Placement],
) -> None:
    """Remove excess replicas: those of lost hosts first (they cost no move), then one
    from the zone, and within it the host, that runs the most of them; among equals the
    most loaded host's, the highest number first. What stays keeps its spread, so no
    kept replica moves for the service's anti-affinity (removing by host load alone
    left two in one zone, and one of them was moved)."""
    req = svc.request
    excess = len(here) + len(gone) - req.replicas
    while excess > 0 and gone:
        lost = gone.pop()
        removals.append(Placement(req.app, req.service, lost.replica, lost.host, "", REMOVE))
        excess -= 1
    while excess > 0:
        zones = Counter(r.host.zone for r in here)
        hosts = Counter(r.host.name for r in here)
        victim = max(
            here,
            key=lambda r: (zones[r.host.zone], hosts[r.host.name], r.host.utilization, r.replica),
        )
        here.remove(victim)
        planner.assign(svc, victim.host, -1)
        removals.append(
            Placement(
                req.app, req.service, victim.replica, victim.host.name, victim.host.zone, REMOVE
            )
        )
        excess -= 1


def _place_greedily(
    planner: Planner, pending: list[Container], explanations: list[Explanation] | None
) -> list[Container]:
    """Largest first, each container on its best bid. Returns those that found no host.

    Sorts ``pending`` in place into placement order (the repair keeps that order).
    """
    pending.sort(key=lambda p: (-p.svc.size, p.svc.request.key, p.replica))
    failed: list[Container] = []
    for item in pending:
        host = planner.find(item.svc, item.replica)
        item.host = host
        if explanations is not None:
            explanations.append(explain(planner, item, item.why))
        if host is None:
            failed.append(item)
        else:
            planner.assign(item.svc, host)
    return failed


def _explain_repaired(
    planner: Planner, kept: list[Container], pending: list[Container], notes: dict
) -> list[Explanation]:
    """Verdicts in the layout the repair left: kept containers as before, the rest anew."""
    stayed = [sticky(item) for item in kept if item.action == KEEP]
    movers = [item for item in (*kept, *pending) if item.action != KEEP]
    return stayed + explain_final(planner, movers, notes)


def _assemble(
    planner: Planner,
    removals: list[Placement],
    containers: list[Container],
    explanations: list[Explanation],
    fixed: RepairResult | None,
) -> Plan:
    """Placements, unplaced containers with their reasons, survival: the plan."""
    placements = list(removals)
    unplaced: list[Unplaced] = []
    for item in containers:
        req = item.svc.request
        if item.host is not None:
            previous = None if item.action == KEEP else item.previous
            placements.append(
                Placement(
                    req.app,
                    req.service,
                    item.replica,
                    item.host.name,
                    item.host.zone,
                    item.action,
                    previous,
                )
            )
        else:
            reasons = unplaced_reasons(planner, item)
            unplaced.append(Unplaced(req.app, req.service, item.replica, reasons, item.previous))
    placements.sort(key=lambda p: (p.app, p.service, p.replica, p.action == REMOVE))
    unplaced.sort(key=lambda u: (u.app, u.service, u.replica))
    explanations.sort(key=lambda e: (e.app, e.service, e.replica))
    return Plan(
        placements=placements,
        unplaced=unplaced,
        survival=survival_report(planner),
        explanations=explanations,
        searched=fixed is not None and fixed.searched,
        repair=fixed.report if fixed is not None else None,
    )
