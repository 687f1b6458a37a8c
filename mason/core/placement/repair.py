"""Repair: when greedy placement leaves containers without a host, move others to make room.

Greedy places containers one by one and never revisits a choice, so it can
fail on apps that fit (two-dimensional fragmentation: hosts left with cpu but
no memory, anti-affinity and constraints narrowing the choice). The repair
only runs then; the fast path costs nothing. It moves containers of the
planned services that are being placed anyway (new ones, and those that must
move); a running container that every bidder still accepts (``keep``) moves
only with ``rebalance``, and then as a last resort. Every move is checked by
every bidder, custom ones included, as greedy checks a placement.

Stages, each deterministic, all sharing one budget (:class:`Budget`):

1. **proofs** (:func:`prove`): bounds that show some containers cannot all be
   placed whatever is moved: per service, with every movable container taken
   away, how many replicas the built-in rules leave room for (constraints,
   anti-affinity, zone spread, ports, cpu and memory); per public port, the
   containers wanting it against the hosts that can offer it; and the app's
   total cpu and memory against what the pod has free. When they show every
   container greedy left over is beyond placing, the search is skipped;
2. **exhaustive search** on tiny instances (:mod:`.search`): complete, so it
   either finds a layout or proves none exists, and then places as many
   containers as any layout can;
3. **ejection search** (:class:`EjectionSearch`) from greedy's layout: a
   container without a host takes the host where the containers it must evict
   are the smallest (penalized each time they were evicted before, so the
   search does not cycle); the evicted ones look for a host in turn;
4. **rebuild**: the movable containers are placed again from scratch, each on
   the host whose free room best lines up with its needs (the largest dot
   product of its cpu and memory with the host's free cpu and memory, in shares
   of the largest host: a container heavy on memory goes where memory is
   plentiful), then the ejection search finishes. Fixed orders first, then
   orders shuffled with fixed seeds, until the budget is spent.

The budget is counted in units of work (about one host examined), not in
seconds, so the same input gives the same plan on any machine;
``time_limit`` converts to units at a rate this code was measured at, and a
wall-clock deadline at the limit stops the search only when the machine is
much slower than that.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from mason.core.placement.bidders import HostState
from mason.core.placement.model import Repair
from mason.core.placement.search import search
from mason.core.placement.state import Container, Planner, ServiceState
from mason.core.units import format_cpu, format_memory

#: Seconds the repair may take by default (``mason app plan --time-limit``), and at most.
DEFAULT_TIME_LIMIT = 2.0
MAX_TIME_LIMIT = 3600.0
#: Work units per second of time limit. The reference machine (one core of a
#: 2-core Debian 12 VM, Python 3.11) does 400k-1M units a second, so the budget
#: runs out at 20-50% of the limit: first even on a machine twice as slow or
#: busy, and then the plan does not depend on the machine's speed.
UNITS_PER_SECOND = 200_000
#: The exhaustive search runs first on instances this small (it is complete there).
SEARCH_MAX_HOSTS = 8
SEARCH_MAX_CONTAINERS = 12
#: Share of the budget the first ejection search (from greedy's layout) may use.
FIRST_SEARCH_SHARE = 0.25
#: Eviction cost factor of a running container (only with rebalance): move those last.
KEPT_WEIGHT = 8.0
#: Steps without a new best after which an ejection search gives up (the
#: successful ones on the benchmark's apps took at most about 170 in all).
STALL = 400
#: Iterations a container just placed is protected from eviction.
TENURE = 3
#: Most containers evicted to make room for one.
MAX_EVICT = 3
#: Hosts (closest to having room) whose eviction sets are worked out per step.
SHORTLIST = 12
#: Rebuilds in a row without improvement after which a search stops, once some
#: containers are proven to fit nowhere (it is then only placing what it can).
PATIENCE = 3
#: The ejection search starts from greedy's layout only when greedy left this
#: few containers over; with more, a rebuild comes first (it is far cheaper).
FIRST_SEARCH_MAX = 16

PLACED, NO_LAYOUT, STOPPED, BLOCKED = "placed", "no-layout", "stopped", "blocked"


class Budget:
    """Units of work left, and a wall-clock deadline as a backstop."""

    def __init__(self, time_limit: float) -> None:
        self.left = int(time_limit * UNITS_PER_SECOND)
        self.deadline = time.monotonic() + time_limit
        self.limit = time_limit
        self._until_clock = 0

    def spend(self, units: int) -> bool:
        """Charge ``units``; False once the budget (or the clock) has run out."""
        self.left -= units
        self._until_clock -= units
        if self._until_clock <= 0:
            self._until_clock = 20_000
            if time.monotonic() >= self.deadline:
                self.left = 0
        return self.left > 0

    @property
    def exhausted(self) -> bool:
        return self.left <= 0

    def share(self, fraction: float) -> Budget:
        """A sub-budget of ``fraction`` of what is left (charged here as it is spent)."""
        return _SubBudget(self, int(self.left * fraction))


class _SubBudget(Budget):
    def __init__(self, parent: Budget, units: int) -> None:
        self.parent = parent
        self.left = units
        self.limit = parent.limit

    def spend(self, units: int) -> bool:
        self.left -= units
        ok = self.parent.spend(units)
        if not ok:
            self.left = 0
        return self.left > 0


@dataclass
class RepairResult:
    """The repair's report for the plan, and notes for ``--explain``."""

    report: Repair
    notes: dict[Container, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.report.verdict

    @property
    def searched(self) -> bool:
        return self.report.searched


# --- layouts ----------------------------------------------------------------------------


class Layout:
    """Where the movable containers are, with per-host lists and sums for the search."""

    def __init__(self, planner: Planner, movable: Sequence[Container]) -> None:
        self.planner = planner
        self.movable = list(movable)
        n = len(planner.hosts)
        self.on_host: list[list[Container]] = [[] for _ in range(n)]
        self.cpu = [0] * n  # movable cpu charged per slot
        self.memory = [0] * n
        for item in self.movable:
            if item.host is not None:
                self._track(item, item.host, 1)

    def _track(self, item: Container, host: HostState, sign: int) -> None:
        req = item.svc.request
        if sign > 0:
            self.on_host[host.slot].append(item)
        else:
            self.on_host[host.slot].remove(item)
        self.cpu[host.slot] += sign * req.cpu
        self.memory[host.slot] += sign * req.memory

    def place(self, item: Container, host: HostState) -> None:
        self.planner.assign(item.svc, host)
        item.host = host
        self._track(item, host, 1)

    def lift(self, item: Container) -> HostState:
        host = item.host
        assert host is not None, "only placed containers are lifted"
        self.planner.assign(item.svc, host, -1)
        item.host = None
        self._track(item, host, -1)
        return host

    def snapshot(self) -> list[HostState | None]:
        return [item.host for item in self.movable]

    def restore(self, hosts: Sequence[HostState | None]) -> None:
        for item in self.movable:
            if item.host is not None:
                self.lift(item)
        for item, host in zip(self.movable, hosts, strict=True):
            if host is not None:
                self.place(item, host)

    def unplaced(self) -> int:
        return sum(1 for item in self.movable if item.host is None)


# --- proofs -----------------------------------------------------------------------------


@dataclass
class Proof:
    """A lower bound on the containers no layout can place, and why."""

    shortfall: int = 0  # at least this many containers stay without a host
    why: str = ""
    services: set[tuple[str, str]] = field(default_factory=set)  # the services short


class _Relaxed:
    """The pod with every movable container taken away, as the proofs see it."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.siblings: dict[int, dict[int, int]] = {}  # id of service -> slot -> movable
        self.ports: dict[tuple[int, tuple[int, str]], int] = {}  # (slot, port) -> movable holders
        for slot, items in enumerate(layout.on_host):
            for item in items:
                mine = self.siblings.setdefault(id(item.svc), {})
                mine[slot] = mine.get(slot, 0) + 1
                for port in item.svc.request.ports:
                    self.ports[(slot, port)] = self.ports.get((slot, port), 0) + 1

    def room(self, svc: ServiceState) -> tuple[int, str | None]:
        """How many replicas of ``svc`` fit with every movable container gone.

        Only built-in rules count (custom bidders can only reject more, so the
        bound stays a bound): constraints, a running replica with anti-affinity,
        a public port held by a container that stays, cpu and memory, zone
        spread. Returns (replicas, a note when zone spread limits them).
        """
        req, layout = svc.request, self.layout
        eligible, zones = svc.eligible, svc.static_zones
        mine = self.siblings.get(id(svc), {})
        one_per_host = "host" in req.ha or bool(req.ports)
        cpu, memory, ports = req.cpu, req.memory, req.ports
        per_zone: dict[int, int] = {}
        for h in svc.index.hosts:
            slot = h.slot
            if (eligible is not None and not eligible[slot]) or not zones >> h.zone_id & 1:
                continue
            if "host" in req.ha and svc.host_counts.get(slot, 0) > mine.get(slot, 0):
                continue  # a running replica stays there
            if ports and any(h.ports.get(p, 0) > self.ports.get((slot, p), 0) for p in ports):
                continue  # a container that stays holds the port
            fits = req.replicas
            if cpu:
                fits = min(fits, (h.cpu - h.cpu_used + layout.cpu[slot]) // cpu)
            if memory:
                fits = min(fits, (h.memory - h.memory_used + layout.memory[slot]) // memory)
            if one_per_host:
                fits = min(fits, 1)
            if fits > 0:
                per_zone[h.zone_id] = per_zone.get(h.zone_id, 0) + fits
        if svc.zone_cap is None:
            return sum(per_zone.values()), None
        total, zone_note = 0, None
        planner = layout.planner
        for zid, n in sorted(per_zone.items()):
            movable_here = sum(k for slot, k in mine.items() if planner.hosts[slot].zone_id == zid)
            fixed = svc.zone_counts.get(planner.zones[zid], 0) - movable_here
            room = max(svc.zone_cap - fixed, 0)
            if room < n:
                zone_note = f"zone spread allows {svc.zone_cap} per zone"
            total += min(n, room)
        return total, zone_note


def prove(layout: Layout, movable: Sequence[Container]) -> Proof:
    """Bounds showing that some containers cannot be placed, whatever the repair moves.

    Only services with a container left over can fall short: for the others,
    the current layout shows their replicas fit.
    """
    by_service: dict[tuple[str, str], list[Container]] = {}
    short_services = set()
    for item in movable:
        by_service.setdefault(item.svc.request.key, []).append(item)
        if item.host is None:
            short_services.add(item.svc.request.key)
    relaxed = _Relaxed(layout)
    proof, whys = Proof(), []
    for key in sorted(short_services):
        items = by_service[key]
        svc = items[0].svc
        room, zone_note = relaxed.room(svc)
        if room >= len(items):
            continue
        proof.shortfall += len(items) - room
        proof.services.add(key)
        if room == 0:
            whys.append(f"no host can take {key[1]}, whatever the repair moves")
            continue
        limits = [zone_note] if zone_note else []
        if "host" in svc.request.ha or svc.request.ports:
            limits.append("one per host")
        extra = f" ({', '.join(limits or ['cpu and memory'])})"
        whys.append(f"room for {room} of the {len(items)} {key[1]} replicas to place{extra}")
    # Each bound holds alone, so the largest is a bound too (their sum may not be).
    port_short, port_whys = _port_room(relaxed, movable)
    if port_short > proof.shortfall:
        proof.shortfall = port_short
    whys += port_whys
    if not proof.shortfall:
        why = _total_room(layout, movable)
        if why:
            proof.shortfall, whys = 1, [why]
    proof.why = "; ".join(whys)
    return proof


def _port_room(relaxed: _Relaxed, movable: Sequence[Container]) -> tuple[int, list[str]]:
    """Containers wanting one public port against the hosts no staying container holds it on."""
    wanting: dict[tuple[int, str], int] = {}
    for item in movable:
        for port in item.svc.request.ports:
            wanting[port] = wanting.get(port, 0) + 1
    short, whys = 0, []
    hosts = relaxed.layout.planner.hosts
    for port in sorted(wanting):
        offering = sum(
            1 for h in hosts if h.ports.get(port, 0) <= relaxed.ports.get((h.slot, port), 0)
        )
        if wanting[port] > offering:
            short = max(short, wanting[port] - offering)
            whys.append(
                f"{wanting[port]} containers need public port {port[0]}/{port[1]}, "
                f"{offering} host{'s' if offering != 1 else ''} can offer it"
            )
    return short, whys


def _total_room(layout: Layout, movable: Sequence[Container]) -> str:
    """The app's cpu and memory to place against what the pod has free for it."""
    planner = layout.planner
    need_cpu = sum(i.svc.request.cpu for i in movable)
    need_memory = sum(i.svc.request.memory for i in movable)
    free_cpu = sum(max(0, h.cpu - h.cpu_used + layout.cpu[h.slot]) for h in planner.hosts)
    free_memory = sum(
        max(0, h.memory - h.memory_used + layout.memory[h.slot]) for h in planner.hosts
    )
    if need_cpu > free_cpu:
        return (
            f"the containers to place need {format_cpu(need_cpu)} cpu, "
            f"the hosts have {format_cpu(free_cpu)} free"
        )
    if need_memory > free_memory:
        return (
            f"the containers to place need {format_memory(need_memory)} of memory, "
            f"the hosts have {format_memory(free_memory)} free"
        )
    return ""


# --- the ejection search ----------------------------------------------------------------


@dataclass(order=True)
class _Eviction:
    """Containers to evict from the host in ``slot``, and what that costs (lower first)."""

    cost: float
    slot: int
    evict: list[Container] = field(compare=False)


class _Candidate(NamedTuple):
    """A container that may be evicted, with what evicting it frees and costs."""

    weight: float
    cpu: int
    memory: int
    position: int  # on its host: the tie-break
    container: Container


class EjectionSearch:
    """Place containers without a host by evicting smaller ones, which then look in turn."""

    def __init__(self, layout: Layout, budget: Budget, rebalance: bool) -> None:
        self.layout = layout
        self.planner = layout.planner
        self.budget = budget
        self.rebalance = rebalance
        self.evictions: dict[Container, int] = {}
        self.protected: dict[Container, int] = {}  # container -> iteration it may go again
        self.iteration = 0
        self._seq = 0

    def weight(self, item: Container) -> float:
        w = (item.svc.size + 0.01) * (1 + self.evictions.get(item, 0))
        return w * KEPT_WEIGHT if item.kept else w

    def run(self, target: int) -> bool:
        """Search until at most ``target`` containers are left without a host.

        Returns True when it got there. Leaves the best layout it found.
        """
        layout = self.layout
        queue: list = []
        for item in layout.movable:
            if item.host is None:
                self._push(queue, item)
        aside: list[Container] = []
        best = len(queue)
        journal: list[tuple[Container, HostState | None]] = []  # moves since the best layout
        progress = False
        stalled = 0
        while len(queue) + len(aside) > target and stalled < STALL:
            if not queue:
                if not progress:
                    break
                for item in aside:
                    self._push(queue, item)
                aside, progress = [], False
            if not self.budget.spend(len(self.planner.hosts) // 3 + 4):  # a find
                break
            self.iteration += 1
            _, _, _, _, item = heapq.heappop(queue)
            host = self.planner.find_aligned(item.svc, item.replica)
            if host is not None:
                journal.append((item, None))
                layout.place(item, host)
                self.protected[item] = self.iteration + TENURE
                progress = True
            elif self._evict_for(item, queue, journal):
                progress = True
            else:
                aside.append(item)
            left = len(queue) + len(aside)
            stalled += 1
            if left < best:
                best, journal, stalled = left, [], 0
        if len(queue) + len(aside) > best:
            self._undo(journal)
        return layout.unplaced() <= target

    def _push(self, queue: list, item: Container) -> None:
        self._seq += 1
        req = item.svc.request
        heapq.heappush(queue, (-item.svc.size, req.key, item.replica, self._seq, item))

    def _undo(self, journal: list[tuple[Container, HostState | None]]) -> None:
        """Take back moves in reverse: each entry is (container, the host it was on before)."""
        for item, before in reversed(journal):
            if item.host is not None:
                self.layout.lift(item)
            if before is not None:
                self.layout.place(item, before)

    def _evict_for(self, item: Container, queue: list, journal: list) -> bool:
        """Make room for ``item`` on the cheapest host; the evicted go back in the queue."""
        for choice in self._evictions(item)[:3]:
            host = self.planner.hosts[choice.slot]
            for other in choice.evict:
                journal.append((other, host))
                self.layout.lift(other)
            if self.planner.rejects(item.svc, item.replica, host) is None:
                journal.append((item, None))
                self.layout.place(item, host)
                self.protected[item] = self.iteration + TENURE
                for other in choice.evict:
                    self.evictions[other] = self.evictions.get(other, 0) + 1
                    self._push(queue, other)
                return True
            for other in choice.evict:  # a custom bidder said no: put them back
                journal.pop()
                self.layout.place(other, host)
        return False

    def _evictions(self, item: Container) -> list[_Eviction]:
        """Hosts where evicting movable containers would make room, cheapest first.

        Every host the container's rules allow is screened by its shortfall of
        room; only the ``SHORTLIST`` closest get their eviction sets worked out.
        """
        svc, req = item.svc, item.svc.request
        layout = self.layout
        eligible = svc.leaf_eligible
        zones = svc.static_zones & ~svc.full_zones
        one_per_host = "host" in req.ha
        counts = svc.host_counts
        cpu, memory, ports = req.cpu, req.memory, req.ports
        movable_cpu, movable_memory = layout.cpu, layout.memory
        scale_cpu = 1 / (self.planner.max_cpu or 1)
        scale_memory = 1 / (self.planner.max_memory or 1)
        screened = []
        for h in svc.index.hosts:
            slot = h.slot
            if (eligible is not None and not eligible[slot]) or not zones >> h.zone_id & 1:
                continue
            if one_per_host and slot in counts:
                continue
            dc = cpu - h.cpu + h.cpu_used
            dm = memory - h.memory + h.memory_used
            if dc > movable_cpu[slot] or dm > movable_memory[slot]:
                continue
            if dc <= 0 and dm <= 0 and not (ports and any(h.ports.get(p) for p in ports)):
                continue  # room enough: a custom bidder refused it, evicting will not help
            screened.append((max(dc * scale_cpu, dm * scale_memory), slot, dc, dm))
        self.budget.spend(len(svc.index.hosts) + 1)
        choices = []
        for _, slot, dc, dm in heapq.nsmallest(SHORTLIST, screened):
            choice = self._cheapest(item, self.planner.hosts[slot], dc, dm)
            if choice is not None:
                choices.append(choice)
        choices.sort()
        return choices

    def _cheapest(self, item: Container, host: HostState, dc: int, dm: int) -> _Eviction | None:
        """The cheapest set of at most MAX_EVICT movable containers on ``host`` to evict."""
        req = item.svc.request
        candidates: list[_Candidate] = []
        forced = []
        for other in self.layout.on_host[host.slot]:
            if other.svc is item.svc or (other.kept and not self.rebalance):
                continue  # a sibling is the same container: evicting it is no progress
            if self.protected.get(other, 0) > self.iteration:
                continue
            r = other.svc.request
            if req.ports and any(p in req.ports for p in r.ports):
                forced.append(other)
            else:
                candidates.append(
                    _Candidate(self.weight(other), r.cpu, r.memory, len(candidates), other)
                )
        self.budget.spend(len(candidates) + 2)
        for port in req.ports:  # every holder of a wanted port must go, and be allowed to
            holders = sum(1 for o in forced if port in o.svc.request.ports)
            if host.ports.get(port, 0) > holders:
                return None
        for other in forced:
            dc -= other.svc.request.cpu
            dm -= other.svc.request.memory
        base = sum(self.weight(o) for o in forced)
        if dc <= 0 and dm <= 0:
            return _Eviction(base, host.slot, forced) if forced else None
        best = None
        single = [c for c in candidates if c.cpu >= dc and c.memory >= dm]
        if single:
            one = min(single)
            best = _Eviction(base + one.weight, host.slot, [*forced, one.container])
        cover = self._cover(candidates, dc, dm)
        if cover is not None:
            w = base + sum(c.weight for c in cover)
            if best is None or w < best.cost:
                best = _Eviction(w, host.slot, forced + [c.container for c in cover])
        return best

    def _cover(self, candidates: list[_Candidate], dc: int, dm: int) -> list[_Candidate] | None:
        """Greedy cover of the deficit: the most coverage per unit of weight, in turn."""
        chosen: list[_Candidate] = []
        rest = list(candidates)
        while (dc > 0 or dm > 0) and rest and len(chosen) < MAX_EVICT:
            best, best_gain = -1, 0.0
            for i, c in enumerate(rest):
                gain = (min(c.cpu, dc) / dc if dc > 0 else 0.0) + (
                    min(c.memory, dm) / dm if dm > 0 else 0.0
                )
                gain /= c.weight
                if gain > best_gain:
                    best, best_gain = i, gain
            if best < 0:
                return None
            pick = rest.pop(best)
            chosen.append(pick)
            dc -= pick.cpu
            dm -= pick.memory
        return chosen if dc <= 0 and dm <= 0 else None


# --- rebuilds ---------------------------------------------------------------------------


def _orders(items: Sequence[Container], rng: random.Random) -> Iterable[list[Container]]:
    """Orders to place the movable containers in: fixed ones first, then seeded shuffles."""

    def key(item: Container) -> tuple:
        return (item.svc.request.key, item.replica)

    def spread_of(item: Container) -> float:
        planner = item.svc.planner
        r = item.svc.request
        return (r.cpu / planner.max_cpu if planner.max_cpu else 0.0) + (
            r.memory / planner.max_memory if planner.max_memory else 0.0
        )

    base = sorted(items, key=key)
    yield sorted(base, key=lambda i: -i.svc.size)
    yield sorted(base, key=lambda i: -spread_of(i))
    while True:
        noisy = {id(i): i.svc.size * rng.uniform(0.7, 1.3) for i in base}
        yield sorted(base, key=lambda i: -noisy[id(i)])


def _rebuild(layout: Layout, order: Sequence[Container], budget: Budget) -> None:
    """Lift the containers of ``order`` and place them again, each where room lines up best."""
    for item in order:
        if item.host is not None:
            layout.lift(item)
    planner = layout.planner
    for item in order:
        budget.spend(len(item.svc.index.hosts) // 3 + 4)  # a find
        host = planner.find_aligned(item.svc, item.replica)
        if host is not None:
            layout.place(item, host)


# --- the repair -------------------------------------------------------------------------


def repair(
    planner: Planner,
    kept: Sequence[Container],
    pending: Sequence[Container],
    *,
    time_limit: float,
    rebalance: bool,
) -> RepairResult:
    """Place what greedy could not (``pending`` without a host), within ``time_limit``."""
    started = time.monotonic()
    budget = Budget(time_limit)
    movable = [*pending, *(kept if rebalance else ())]
    layout = Layout(planner, movable)
    greedy = layout.snapshot()
    before = layout.unplaced()
    proof = prove(layout, movable)
    blocked = _blocked_by_custom(layout, proof)
    searched = False
    least = _exhaustive(layout, budget) if _tiny(planner, movable) else None
    if least is not None:  # exact: no need to search further
        searched = True
        if least > blocked and not proof.shortfall:  # (custom bidders' refusals say it all)
            proof = Proof(least, "an exhaustive search tried every layout")
    else:
        # Place as many as can be: down to the proven shortfall (or the containers
        # custom bidders refuse everywhere), or to none. Not their sum: they may
        # count the same containers.
        target = max(proof.shortfall, blocked)
        if before > target:
            _search(layout, budget, target, rebalance, patient=not proof.shortfall)
    after = layout.unplaced()
    if after > before or (after == before and layout.snapshot() != greedy):
        layout.restore(greedy)  # no better than greedy: keep greedy's plan
        after = before
    return _result(
        layout,
        Tally(before, after, blocked, greedy),
        proof,
        budget,
        searched,
        time.monotonic() - started,
    )


def _blocked_by_custom(layout: Layout, proof: Proof) -> int:
    """Containers custom bidders refuse on every host even with every movable container gone.

    Not a proof (a custom bidder may decide anything), but nothing the repair
    moves can change their answer there, so the search does not try. Services
    the built-in bounds already count short are left to those.
    """
    left = [
        i
        for i in layout.movable
        if i.host is None and i.svc.custom_filters and i.svc.request.key not in proof.services
    ]
    if not left:
        return 0
    planner = layout.planner
    placed = layout.snapshot()
    layout.restore([None] * len(placed))
    blocked = sum(
        1
        for item in left
        if all(planner.rejects(item.svc, item.replica, h) is not None for h in planner.hosts)
    )
    layout.restore(placed)
    return blocked


def _tiny(planner: Planner, movable: Sequence[Container]) -> bool:
    return len(planner.hosts) <= SEARCH_MAX_HOSTS and len(movable) <= SEARCH_MAX_CONTAINERS


def _exhaustive(layout: Layout, budget: Budget) -> int | None:
    """The exhaustive search over every movable container, leaving out as few as can be.

    Returns how many no layout can place (0: it placed everything), or None if
    the budget ran out first. Keeps greedy's layout unless it found a better one.
    """
    items = layout.movable
    greedy = layout.snapshot()
    before = layout.unplaced()
    for item in items:
        if item.host is not None:
            layout.lift(item)
    for skips in range(before):
        found = search(layout.planner, items, budget, skips)
        if not found.complete:
            layout.restore(greedy)
            return None
        if found.hosts is not None:
            for item, host in zip(items, found.hosts, strict=True):
                if host is not None:
                    layout.place(item, host)
            return skips
    layout.restore(greedy)  # greedy already left out as few as can be
    return before


def _search(layout: Layout, budget: Budget, target: int, rebalance: bool, *, patient: bool) -> None:
    """Ejection search from greedy's layout, then rebuilds, keeping the best layout found.

    ``patient``: nothing is proven yet, so search until the budget runs out;
    otherwise (some containers provably fit nowhere) stop once a few rebuilds
    in a row bring no improvement.
    """
    if layout.unplaced() <= FIRST_SEARCH_MAX:
        first = EjectionSearch(layout, budget.share(FIRST_SEARCH_SHARE), rebalance)
        if first.run(target) or budget.exhausted:
            return
    best, best_left = layout.snapshot(), layout.unplaced()
    rebuildable = [i for i in layout.movable if not i.kept]
    rng = random.Random(0)  # a fixed seed: the same input gives the same plan
    stale = 0
    for order in _orders(rebuildable, rng):
        if budget.exhausted or (not patient and stale >= PATIENCE):
            break
        _rebuild(layout, order, budget)
        if EjectionSearch(layout, budget, rebalance).run(target):
            return
        left = layout.unplaced()
        if left < best_left:
            best, best_left, stale = layout.snapshot(), left, 0
        else:
            stale += 1
    layout.restore(best)


@dataclass
class Tally:
    before: int  # containers greedy left without a host
    after: int  # and after the repair
    blocked: int  # of those, refused everywhere by custom bidders
    greedy: list[HostState | None]  # greedy's layout of the movable containers


def _result(
    layout: Layout,
    tally: Tally,
    proof: Proof,
    budget: Budget,
    searched: bool,
    seconds: float,
) -> RepairResult:
    notes: dict[Container, str] = {}
    moved = 0
    for item, was in zip(layout.movable, tally.greedy, strict=True):
        if item.host is not was:
            if searched:
                notes[item] = "exhaustive search"
            elif item.kept:
                notes[item] = "moved by the repair to make room (rebalance)"
            else:
                notes[item] = "placed by the repair"
            if was is not None:
                moved += 1
    if tally.after == 0:
        outcome, verdict = PLACED, ""
    elif proof.shortfall:
        outcome, verdict = NO_LAYOUT, f"no layout exists: {proof.why}"
    elif tally.after <= tally.blocked:
        outcome, verdict = BLOCKED, ""  # the custom bidders' own reasons say it all
    else:
        outcome = STOPPED
        verdict = (
            f"search stopped after {budget.limit:g} s: no layout found, none proven impossible"
        )
    report = Repair(
        outcome=outcome,
        unplaced_before=tally.before,
        unplaced_after=tally.after,
        moved=moved,
        verdict=verdict,
        searched=searched and outcome == PLACED,
        time_limit=budget.limit,
        seconds=round(seconds, 3),
    )
    return RepairResult(report, notes)
