"""The state of one plan: hosts with what is charged to them, and per-service bookkeeping.

:class:`Planner` owns the hosts (in canonical order), the host index over them
and one :class:`ServiceState` per planned service; every change of usage goes
through :meth:`Planner.assign` / :meth:`Planner.charge` so the index, the
per-service counts and the zone-spread caps never disagree.

Host choices live here too, each with a fast path (the index) and the
every-host evaluation it must agree with:

- :meth:`Planner.find`: the greedy bid (spread or binpack, custom scores first);
- :meth:`Planner.find_aligned`: the repair's choice, the host whose free room
  best lines up with what the container needs (see :mod:`.repair`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mason.core.errors import InvalidInput
from mason.core.placement.bidders import BUILTIN_FILTERS, BidContext, Bidder, HostState
from mason.core.placement.index import HostIndex
from mason.core.placement.model import KEEP, MOVE, NEW, HostSpec, ServiceRequest

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """'h2' before 'h10': hosts are numbered by people and providers alike."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


class Evaluation(NamedTuple):
    """Every host through every bidder for one container (:meth:`Planner.evaluate`)."""

    winner: HostState | None  # the best bid, None when every host was rejected
    first_reasons: Counter  # reason -> hosts, each host counted under its first rejection
    per_bidder: dict[str, Counter]  # bidder -> reason -> hosts it rejected
    candidates: int  # hosts no bidder rejected


class IndexChoice(NamedTuple):
    """The index a constraint set searches, and the per-slot filter it still needs."""

    index: HostIndex
    leaf_eligible: list[bool] | None  # None: every host of the index is eligible


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
        self.eligible = eligible  # per slot: passes the non-zone constraints (None: all do)
        self.zone_count = planner.usable_zones(other_rules, self.static_zones)
        self.zone_cap: int | None = None
        if "zone" in request.ha and self.zone_count:
            self.zone_cap = math.ceil(request.replicas / self.zone_count)
        self.full_zones = 0  # zones at their cap

        self.index, self.leaf_eligible = planner.index_for(other_rules, eligible)
        self.accept = self._make_accept()
        # The repair's weights: free room counted in shares of the largest host.
        self.cpu_weight = request.cpu / planner.max_cpu**2 if planner.max_cpu else 0.0
        self.memory_weight = request.memory / planner.max_memory**2 if planner.max_memory else 0.0
        self.size = planner.size_of(request)

    def _make_accept(self) -> Callable[[HostState], bool] | None:
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

    def alignment(self, host: HostState) -> float:
        """How well the host's free room lines up with this container's needs (higher: better)."""
        return self.cpu_weight * (host.cpu - host.cpu_used) + self.memory_weight * (
            host.memory - host.memory_used
        )


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
        self.max_cpu = max((h.cpu for h in self.hosts), default=0)
        self.max_memory = max((h.memory for h in self.hosts), default=0)
        self.builtin: list[Bidder] = [cls() for cls in BUILTIN_FILTERS]
        self.custom = list(custom)
        self.fast = fast
        self.index = HostIndex(self.hosts)
        self.services: dict[tuple[str, str], ServiceState] = {}
        self._eligibility: dict[tuple, list[bool] | None] = {}
        self._indexes: dict[tuple, IndexChoice] = {}
        self._usable_zones: dict[tuple, int] = {}

    def size_of(self, req: ServiceRequest) -> float:
        """A container's dominant share of the largest host: placing big ones first packs better."""
        cpu = req.cpu / self.max_cpu if self.max_cpu else 0.0
        memory = req.memory / self.max_memory if self.max_memory else 0.0
        return max(cpu, memory)

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

    def usable_zones(self, rules: tuple, zones: int) -> int:
        """How many zones (of the ``zones`` bitmask) hold a host passing ``rules``. Cached."""
        key = (rules, zones)
        if key not in self._usable_zones:
            eligible = self.eligibility(rules)
            self._usable_zones[key] = len(
                {
                    h.zone_id
                    for h in self.hosts
                    if (eligible is None or eligible[h.slot]) and zones >> h.zone_id & 1
                }
            )
        return self._usable_zones[key]

    def index_for(self, rules: tuple, eligible: list[bool] | None) -> IndexChoice:
        """The index a constraint set searches, and the leaf filter it still needs.

        A constraint most hosts pass is checked at the leaves of the main index;
        one that few pass gets its own index over just those hosts, so the search
        never wades through hosts it cannot use.
        """
        if eligible is None:
            return IndexChoice(self.index, None)
        if rules not in self._indexes:
            n = sum(eligible)
            if 2 * n >= len(self.hosts):
                self._indexes[rules] = IndexChoice(self.index, eligible)
            else:
                subset = [h for h in self.hosts if eligible[h.slot]]
                self._indexes[rules] = IndexChoice(HostIndex(subset), None)
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

    def evaluate(self, svc: ServiceState, replica: int, *, full: bool = False) -> Evaluation:
        """Every host through every bidder: the reference answer, reasons, and verdicts.

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
        return Evaluation(best, first, per_bidder, candidates)

    def find(self, svc: ServiceState, replica: int) -> HostState | None:
        """The winning bid for one container (None: no host accepts it)."""
        if svc.naive or not self.fast:
            return self.evaluate(svc, replica).winner
        svc.ctx.replica = replica
        req = svc.request
        zones = svc.static_zones & ~svc.full_zones
        if req.strategy == "binpack":
            return svc.index.find_first(req.cpu, req.memory, zones, svc.accept)
        return svc.index.find_spread(req.cpu, req.memory, zones, svc.accept)

    def find_aligned(self, svc: ServiceState, replica: int) -> HostState | None:
        """The accepting host whose free room best lines up with the container's needs.

        Custom scores (if any) come first, then alignment, then host order. The
        index answers exactly what the every-host scan below answers.
        """
        svc.ctx.replica = replica
        if not svc.naive and self.fast:
            req = svc.request
            zones = svc.static_zones & ~svc.full_zones
            return svc.index.find_aligned(
                req.cpu, req.memory, svc.cpu_weight, svc.memory_weight, zones, svc.accept
            )
        best, best_key = None, None
        for host in self.hosts:
            if self.rejects(svc, replica, host) is not None:
                continue
            custom = sum(b.score(svc.ctx, host) for b in svc.scorers) if svc.scorers else 0
            key = (custom, svc.alignment(host))
            if best_key is None or key > best_key:  # strict: the lowest slot wins ties
                best, best_key = host, key
        return best


@dataclass(eq=False)  # compared by identity: containers are dictionary keys in the repair
class Container:
    """One container of a planned service while planning: where it ran and where it goes."""

    svc: ServiceState
    replica: int
    previous: str | None  # the host it runs on now, or None for a new container
    why: str = ""  # why it must move ("" for a new or kept container)
    host: HostState | None = None  # where it goes (None: nowhere, yet)
    kept: bool = False  # runs now and every bidder accepts it there: stays unless --rebalance

    @property
    def action(self) -> str:
        if self.previous is None:
            return NEW
        if self.kept and self.host is not None and self.host.name == self.previous:
            return KEEP
        return MOVE
