"""The placement engine: where every container of a set of services goes, and why.

:func:`plan` is the one entry point. In order:

1. hosts are put in canonical order (zone, then natural name order): the final
   tie-break everywhere, so the same input always gives the same plan;
2. what runs now is charged to its hosts; containers of planned services are
   *kept* where they are if every bidder still accepts them there (stickiness),
   scaling down removes replicas from the most loaded hosts first, and replicas
   on lost or no-longer-valid hosts are *moved*;
3. the containers left (new and moved) are placed largest first, each on the
   best bid (spread: least utilized host; binpack: first host that fits), using
   the host index (:mod:`.index`) rather than visiting every host;
4. if some container found no host and the instance is tiny, an exhaustive
   search (:mod:`.search`) retries the new containers together, since greedy
   alone can paint itself into a corner;
5. every container still without a host is reported with, per reason, how many
   hosts rejected it ("3 hosts: not enough memory; 2 hosts: anti-affinity").
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mason.core.errors import InvalidInput
from mason.core.placement.bidders import (
    BUILTIN_FILTERS,
    BidContext,
    Bidder,
    HostState,
    load_bidders,
)
from mason.core.placement.index import HostIndex
from mason.core.placement.model import (
    KEEP,
    MOVE,
    NEW,
    REMOVE,
    STRATEGIES,
    Allocation,
    Explanation,
    HostSpec,
    Placement,
    Plan,
    ServiceRequest,
    Unplaced,
    Verdict,
)
from mason.core.placement.search import SEARCH_MAX_CONTAINERS, SEARCH_MAX_HOSTS, search
from mason.core.placement.survival import survival_report

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """'h2' before 'h10': hosts are numbered by people and providers alike."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def format_reasons(counts: Counter) -> tuple[str, ...]:
    """``{"not enough memory": 3}`` -> ``("3 hosts: not enough memory",)``, commonest first."""
    if not counts:
        return ("no hosts",)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(f"{n} host{'s' if n != 1 else ''}: {reason}" for reason, n in ordered)


class ServiceState:
    """Per-service bookkeeping during one plan."""

    def __init__(self, planner: Planner, request: ServiceRequest) -> None:
        self.planner = planner
        self.request = request
        self.host_counts: dict[int, int] = {}  # slot -> replicas there
        self.zone_counts: dict[str, int] = {}
        self.ctx = BidContext(request, 0, self)
        self.filters: list[Bidder] = [
            b for b in (*planner.builtin, *planner.custom) if b.applies(request)
        ]
        custom = [b for b in planner.custom if b.applies(request)]
        self.custom_filters = [b for b in custom if type(b).reject is not Bidder.reject]
        self.scorers = [b for b in custom if b.scores]
        # With custom scores the best bid is no longer what the index orders by,
        # so such services are placed by evaluating every host.
        self.naive = bool(self.scorers)

        zone_rules = tuple(c for c in request.constraints if c.attribute == "zone")
        other_rules = tuple(c for c in request.constraints if c.attribute != "zone")
        self.static_zones = 0
        for zid, zone in enumerate(planner.zones):
            if all(c.matches(zone=zone, role="", host="", labels={}) for c in zone_rules):
                self.static_zones |= 1 << zid
        eligible = planner.eligibility(other_rules)
        usable_zones = {
            h.zone_id
            for h in planner.hosts
            if (eligible is None or eligible[h.slot]) and self.static_zones >> h.zone_id & 1
        }
        self.zone_count = len(usable_zones)
        self.zone_cap: int | None = None
        if "zone" in request.ha and usable_zones:
            self.zone_cap = math.ceil(request.replicas / len(usable_zones))
        self.full_zones = 0  # zones at their cap

        self.index, self.leaf_eligible = planner.index_for(other_rules, eligible)
        self.accept = self._make_accept()

    def _make_accept(self):
        checks = []
        if self.leaf_eligible is not None:
            eligible = self.leaf_eligible
            checks.append(lambda h: eligible[h.slot])
        if "host" in self.request.ha:
            counts = self.host_counts
            checks.append(lambda h: not counts.get(h.slot))
        if self.request.ports:
            ports = self.request.ports
            checks.append(lambda h: not any(h.ports.get(p) for p in ports))
        ctx = self.ctx
        for bidder in self.custom_filters:
            checks.append(lambda h, b=bidder: b.reject(ctx, h) is None)
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]

        def accept(host: HostState) -> bool:
            return all(check(host) for check in checks)

        return accept

    def count(self, host: HostState, sign: int) -> None:
        slot, zone = host.slot, host.zone
        n = self.host_counts.get(slot, 0) + sign
        if n:
            self.host_counts[slot] = n
        else:
            del self.host_counts[slot]
        z = self.zone_counts.get(zone, 0) + sign
        self.zone_counts[zone] = z
        if self.zone_cap is not None:
            bit = 1 << host.zone_id
            self.full_zones = (
                self.full_zones | bit if z >= self.zone_cap else self.full_zones & ~bit
            )

    def preference(self, host: HostState) -> tuple:
        """Smaller is better: custom scores first, then the strategy, then host order."""
        custom = -sum(b.score(self.ctx, host) for b in self.scorers) if self.scorers else 0
        if self.request.strategy == "binpack":
            return (custom, host.slot)
        return (custom, host.utilization, host.slot)


class Planner:
    """Hosts with their usage, the index over them, and the services being placed."""

    def __init__(self, hosts: Iterable[HostSpec], custom: Sequence[Bidder], *, fast: bool = True):
        specs = sorted(hosts, key=lambda h: (h.zone, natural_key(h.name), h.name))
        seen: set[str] = set()
        for spec in specs:
            if spec.name in seen:
                raise InvalidInput(f"host {spec.name!r} is listed twice")
            seen.add(spec.name)
        self.zones = sorted({s.zone for s in specs})
        zone_ids = {z: i for i, z in enumerate(self.zones)}
        self.hosts = [
            HostState(
                s.name, s.zone, s.cpu, s.memory, s.role, dict(s.labels), slot, zone_ids[s.zone]
            )
            for slot, s in enumerate(specs)
        ]
        self.by_name = {h.name: h for h in self.hosts}
        self.builtin: list[Bidder] = [cls() for cls in BUILTIN_FILTERS]
        self.custom = list(custom)
        self.fast = fast
        self.index = HostIndex(self.hosts)
        self.services: dict[tuple[str, str], ServiceState] = {}
        self._eligibility: dict[tuple, list[bool] | None] = {}
        self._indexes: dict[tuple, tuple[HostIndex, list[bool] | None]] = {}

    def eligibility(self, rules: tuple) -> list[bool] | None:
        """Per slot, whether a host passes non-zone constraints (None: all do). Cached."""
        if rules not in self._eligibility:
            if not rules:
                self._eligibility[rules] = None
            else:
                self._eligibility[rules] = [
                    all(
                        c.matches(zone=h.zone, role=h.role, host=h.name, labels=h.labels)
                        for c in rules
                    )
                    for h in self.hosts
                ]
        return self._eligibility[rules]

    def index_for(self, rules: tuple, eligible: list[bool] | None):
        """The index a constraint set searches, and the leaf filter it still needs.

        A constraint most hosts pass is checked at the leaves of the main index;
        one that few pass gets its own index over just those hosts, so the search
        never wades through hosts it cannot use.
        """
        if eligible is None:
            return self.index, None
        if rules not in self._indexes:
            n = sum(eligible)
            if 2 * n >= len(self.hosts):
                self._indexes[rules] = (self.index, eligible)
            else:
                subset = [h for h in self.hosts if eligible[h.slot]]
                self._indexes[rules] = (HostIndex(subset), None)
        return self._indexes[rules]

    def service(self, request: ServiceRequest) -> ServiceState:
        svc = self.services.get(request.key)
        if svc is None:
            svc = self.services[request.key] = ServiceState(self, request)
        return svc

    def charge(
        self,
        host: HostState,
        cpu: int,
        memory: int,
        ports: Sequence[tuple[int, str]],
        svc: ServiceState | None,
        sign: int = 1,
    ) -> None:
        host.cpu_used += sign * cpu
        host.memory_used += sign * memory
        host.containers += sign
        for port in ports:
            n = host.ports.get(port, 0) + sign
            if n:
                host.ports[port] = n
            else:
                del host.ports[port]
        if svc is not None:
            svc.count(host, sign)
        for index, leaf in host.memberships:
            index.update(leaf)

    def assign(self, svc: ServiceState, host: HostState, sign: int = 1) -> None:
        req = svc.request
        self.charge(host, req.cpu, req.memory, req.ports, svc, sign)

    def rejects(self, svc: ServiceState, replica: int, host: HostState) -> str | None:
        """The first reason any bidder rejects ``host``, or None if all accept it."""
        svc.ctx.replica = replica
        for bidder in svc.filters:
            reason = bidder.reject(svc.ctx, host)
            if reason is not None:
                return reason
        return None

    def evaluate(self, svc: ServiceState, replica: int, *, full: bool = False):
        """Every host through every bidder: the reference answer, reasons, and verdicts.

        Returns (winner, first-reason counts, per-bidder reason counts, candidates).
        ``full`` asks every bidder about every host (for --explain) instead of
        stopping at the first rejection.
        """
        ctx = svc.ctx
        ctx.replica = replica
        first: Counter = Counter()
        per_bidder: dict[str, Counter] = {b.name: Counter() for b in svc.filters}
        best, best_key, candidates = None, None, 0
        for host in self.hosts:
            rejected = False
            for bidder in svc.filters:
                reason = bidder.reject(ctx, host)
                if reason is not None:
                    per_bidder[bidder.name][reason] += 1
                    if not rejected:
                        first[reason] += 1
                        rejected = True
                    if not full:
                        break
            if rejected:
                continue
            candidates += 1
            key = svc.preference(host)
            if best_key is None or key < best_key:
                best, best_key = host, key
        return best, first, per_bidder, candidates

    def find(self, svc: ServiceState, replica: int) -> HostState | None:
        """The winning bid for one container (None: no host accepts it)."""
        if svc.naive or not self.fast:
            return self.evaluate(svc, replica)[0]
        svc.ctx.replica = replica
        req = svc.request
        zones = svc.static_zones & ~svc.full_zones
        if req.strategy == "binpack":
            return svc.index.find_first(req.cpu, req.memory, zones, svc.accept)
        return svc.index.find_spread(req.cpu, req.memory, zones, svc.accept)


@dataclass
class _Pending:
    svc: ServiceState
    replica: int
    previous: str | None  # host it ran on (a move), or None (new)
    why: str = ""  # why it moves
    host: HostState | None = None


def _explain(planner: Planner, item: _Pending, action: str, note: str = "") -> Explanation:
    """Each bidder's verdict for a container, with the container itself not charged."""
    svc = item.svc
    _winner, _, per_bidder, candidates = planner.evaluate(svc, item.replica, full=True)
    verdicts = [Verdict(name, dict(sorted(c.items()))) for name, c in per_bidder.items()]
    host = item.host
    strategy = svc.request.strategy
    if host is not None:
        if strategy == "binpack":
            detail = f"first host in order with room: {host.name}"
        else:
            detail = f"least utilized host: {host.name} at {host.utilization:.0%}"
        if svc.scorers:
            detail = "custom scores first, then " + detail
        if note:
            detail += f" ({note})"
    else:
        detail = "no candidate left"
    verdicts.append(Verdict(strategy, {}, detail))
    return Explanation(
        svc.request.app,
        svc.request.service,
        item.replica,
        host.name if host else None,
        action,
        candidates,
        tuple(verdicts),
    )


def _size_key(req: ServiceRequest, max_cpu: int, max_memory: int) -> float:
    """A container's dominant share of the largest host: placing big ones first packs better."""
    cpu = req.cpu / max_cpu if max_cpu else 0.0
    memory = req.memory / max_memory if max_memory else 0.0
    return max(cpu, memory)


def plan(
    hosts: Iterable[HostSpec],
    requests: Iterable[ServiceRequest],
    current: Iterable[Allocation] = (),
    *,
    bidders: Sequence[Bidder] | None = None,
    explain: bool = False,
    fast: bool = True,
) -> Plan:
    """Place every replica of ``requests`` on ``hosts``, given what runs now (``current``).

    ``bidders``: custom bidders (default: every installed ``mason.bidders`` entry point).
    ``fast=False`` evaluates every host with every bidder for every container: the
    reference the index must agree with, and the benchmark's naive baseline.
    """
    planner = Planner(hosts, load_bidders() if bidders is None else bidders, fast=fast)
    reqs = sorted(requests, key=lambda r: r.key)
    for a, b in itertools.pairwise(reqs):
        if a.key == b.key:
            raise InvalidInput(f"service {a.app}/{a.service} is requested twice")
    for r in reqs:
        if r.strategy not in STRATEGIES:
            raise InvalidInput(f"{r.app}/{r.service}: unknown strategy {r.strategy!r}")
        if r.replicas < 0:
            raise InvalidInput(f"{r.app}/{r.service}: replicas must be >= 0, got {r.replicas}")
    by_key = {r.key: planner.service(r) for r in reqs}
    planned_apps = {r.app for r in reqs}

    placements: list[Placement] = []
    explanations: list[Explanation] = []
    existing: dict[tuple[str, str], list[tuple[int, HostState]]] = {k: [] for k in by_key}
    lost: dict[tuple[str, str], list[tuple[int, str]]] = {k: [] for k in by_key}
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
        if key not in by_key or ident in seen or alloc.replica < 1:
            if host is not None:
                placements.append(
                    Placement(alloc.app, alloc.service, alloc.replica, host.name, host.zone, REMOVE)
                )
            continue
        seen.add(ident)
        if host is None:
            lost[key].append((alloc.replica, alloc.host))
        else:
            planner.assign(by_key[key], host)
            existing[key].append((alloc.replica, host))

    pending: list[_Pending] = []
    kept: list[tuple[ServiceState, int, HostState]] = []
    for key, svc in by_key.items():
        req = svc.request
        here, gone = existing[key], lost[key]
        # Scaling down: replicas of lost hosts go first (they cost no move), then
        # those on the most loaded hosts.
        excess = len(here) + len(gone) - req.replicas
        while excess > 0 and gone:
            replica, name = gone.pop()
            placements.append(Placement(req.app, req.service, replica, name, "", REMOVE))
            excess -= 1
        while excess > 0:
            victim = max(here, key=lambda rh: (rh[1].utilization, rh[0]))
            here.remove(victim)
            planner.assign(svc, victim[1], -1)
            placements.append(
                Placement(req.app, req.service, victim[0], victim[1].name, victim[1].zone, REMOVE)
            )
            excess -= 1
        # Stickiness: a running replica stays unless some bidder now rejects its host.
        for replica, host in sorted(here, key=lambda rh: rh[0]):
            planner.assign(svc, host, -1)
            reason = planner.rejects(svc, replica, host)
            if reason is None:
                planner.assign(svc, host)
                kept.append((svc, replica, host))
            else:
                pending.append(_Pending(svc, replica, host.name, reason))
        for replica, name in gone:
            pending.append(_Pending(svc, replica, name, "host lost"))
        used = {r for r, _ in here} | {r for r, _ in gone}
        missing, replica = req.replicas - len(here) - len(gone), 0
        while missing > 0:
            replica += 1
            if replica not in used:
                pending.append(_Pending(svc, replica, None))
                missing -= 1

    for svc, replica, host in kept:
        req = svc.request
        placements.append(Placement(req.app, req.service, replica, host.name, host.zone, KEEP))
        if explain:
            explanations.append(
                Explanation(
                    req.app,
                    req.service,
                    replica,
                    host.name,
                    KEEP,
                    1,
                    (
                        Verdict(
                            "sticky", {}, f"runs on {host.name} and every bidder still accepts it"
                        ),
                    ),
                )
            )

    max_cpu = max((h.cpu for h in planner.hosts), default=0)
    max_memory = max((h.memory for h in planner.hosts), default=0)
    pending.sort(
        key=lambda p: (
            -_size_key(p.svc.request, max_cpu, max_memory),
            p.svc.request.key,
            p.replica,
        )
    )
    failed: list[_Pending] = []
    for item in pending:
        host = planner.find(item.svc, item.replica)
        item.host = host
        if explain:
            action = NEW if item.previous is None else MOVE
            explanations.append(_explain(planner, item, action, item.why))
        if host is None:
            failed.append(item)
        else:
            planner.assign(item.svc, host)

    searched = False
    if failed and len(planner.hosts) <= SEARCH_MAX_HOSTS and len(pending) <= SEARCH_MAX_CONTAINERS:
        for item in pending:
            if item.host is not None:
                planner.assign(item.svc, item.host, -1)
        found = search(planner, [(p.svc, p.replica) for p in pending])
        if found is not None:
            searched = True
            for item, host in zip(pending, found, strict=True):
                item.host = host
            failed = []
            if explain:
                explanations = [e for e in explanations if e.action == KEEP]
                for item in pending:  # verdicts in placement order, as greedy would see them
                    action = NEW if item.previous is None else MOVE
                    explanations.append(_explain(planner, item, action, "exhaustive search"))
                    planner.assign(item.svc, item.host)
            else:
                for item in pending:
                    planner.assign(item.svc, item.host)
        else:
            for item in pending:
                if item.host is not None:
                    planner.assign(item.svc, item.host)

    unplaced: list[Unplaced] = []
    for item in pending:
        req = item.svc.request
        if item.host is not None:
            action = NEW if item.previous is None else MOVE
            placements.append(
                Placement(
                    req.app,
                    req.service,
                    item.replica,
                    item.host.name,
                    item.host.zone,
                    action,
                    item.previous,
                )
            )
    for item in failed:
        req = item.svc.request
        _, first, _, _ = planner.evaluate(item.svc, item.replica)
        unplaced.append(
            Unplaced(req.app, req.service, item.replica, format_reasons(first), item.previous)
        )

    placements.sort(key=lambda p: (p.app, p.service, p.replica, p.action == REMOVE))
    unplaced.sort(key=lambda u: (u.app, u.service, u.replica))
    explanations.sort(key=lambda e: (e.app, e.service, e.replica))
    return Plan(
        placements=placements,
        unplaced=unplaced,
        survival=survival_report(planner),
        explanations=explanations,
        searched=searched,
    )
