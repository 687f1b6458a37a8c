"""Bidders: plugins that filter hosts for one container and score the ones left.

Every host bids for a container; each bidder may reject the host (a hard rule,
with a short reason such as ``"not enough memory"``) or, for scoring bidders,
add to its bid. The engine places the container on the best bid left.

Writing a bidder (docs/placement.md, "Writing a custom bidder")::

    class NoDrained(Bidder):
        name = "no-drained"
        def reject(self, ctx, host):
            return "host drained" if host.labels.get("drain") == "true" else None

and register it in your package's ``pyproject.toml``::

    [project.entry-points."mason.bidders"]
    no-drained = "my_package.bidders:NoDrained"

Rules for bidders: decide from ``ctx`` and ``host`` only (no I/O, no clock, no
randomness), so plans stay deterministic; reasons are short and shared by many
hosts, so they group well ("3 hosts: host drained").
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar

from mason.core.errors import InvalidInput

if TYPE_CHECKING:
    from mason.core.placement.model import ServiceRequest

ENTRY_POINT_GROUP = "mason.bidders"


class HostState:
    """A host during planning: what it offers and what is charged to it so far.

    Bidders read these attributes; only the engine changes them.
    """

    __slots__ = (
        "containers",
        "cpu",
        "cpu_used",
        "labels",
        "memberships",
        "memory",
        "memory_used",
        "name",
        "ports",
        "role",
        "slot",
        "zone",
        "zone_id",
    )

    def __init__(
        self,
        name: str,
        zone: str,
        cpu: int,
        memory: int,
        role: str,
        labels: Mapping[str, str],
        slot: int,
        zone_id: int,
    ) -> None:
        self.name = name
        self.zone = zone
        self.cpu = cpu
        self.memory = memory
        self.role = role
        self.labels = labels
        self.slot = slot  # position in the canonical host order: the final tie-break
        self.zone_id = zone_id
        self.cpu_used = 0
        self.memory_used = 0
        self.containers = 0
        self.ports: dict[tuple[int, str], int] = {}  # (port, protocol) -> containers using it
        self.memberships: list = []  # (index, leaf) pairs, kept by the engine

    @property
    def cpu_free(self) -> int:
        return self.cpu - self.cpu_used

    @property
    def memory_free(self) -> int:
        return self.memory - self.memory_used

    @property
    def utilization(self) -> float:
        """The larger of the cpu and memory shares in use (0.0 empty, 1.0 full)."""
        return max(_share(self.cpu_used, self.cpu), _share(self.memory_used, self.memory))

    def __repr__(self) -> str:
        return f"HostState({self.name!r}, zone={self.zone!r})"


def _share(used: int, capacity: int) -> float:
    if capacity > 0:
        return used / capacity
    return 0.0 if used <= 0 else math.inf


class BidContext:
    """What a bidder knows about the container being placed."""

    __slots__ = ("_service", "replica", "request")

    def __init__(self, request: ServiceRequest, replica: int, service_state) -> None:
        self.request = request
        self.replica = replica
        self._service = service_state

    def replicas_on(self, host: HostState) -> int:
        """Replicas of this service already on ``host``."""
        return self._service.host_counts.get(host.slot, 0)

    def replicas_in_zone(self, zone: str) -> int:
        """Replicas of this service already in ``zone``."""
        return self._service.zone_counts.get(zone, 0)

    @property
    def zone_cap(self) -> int | None:
        """With ``ha: zone``, the most replicas one zone may hold: ceil(replicas / zones)."""
        return self._service.zone_cap

    @property
    def hosts(self) -> Sequence[HostState]:
        """Every host of the pod, in canonical order."""
        return self._service.planner.hosts


class Bidder:
    """Base class of bidders. Override :meth:`reject`, and :meth:`score` with ``scores = True``.

    Scores of custom bidders are added up and compared first; the service's
    strategy (spread or binpack) decides among equal sums, then host order.
    Keep scores coarse (small integers) so they express a clear preference.
    """

    name: ClassVar[str] = ""
    scores: ClassVar[bool] = False

    def applies(self, request: ServiceRequest) -> bool:
        """Whether this bidder has a say for this service at all (skipped otherwise)."""
        return True

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        """A short reason if ``host`` must not take this container, else None."""
        return None

    def score(self, ctx: BidContext, host: HostState) -> float:
        """Higher is better; only called when ``scores`` is True."""
        return 0.0


class Constraints(Bidder):
    """``placement.constraints``: host attributes and labels the service requires."""

    name = "constraints"

    def applies(self, request: ServiceRequest) -> bool:
        return bool(request.constraints)

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        for c in ctx.request.constraints:
            if not c.matches(zone=host.zone, role=host.role, host=host.name, labels=host.labels):
                return f"constraint {c}"
        return None


class AntiAffinity(Bidder):
    """``ha: host``: never two replicas of a service on one host."""

    name = "anti-affinity"

    def applies(self, request: ServiceRequest) -> bool:
        return "host" in request.ha

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        return "anti-affinity" if ctx.replicas_on(host) else None


class ZoneSpread(Bidder):
    """``ha: zone``: no zone holds more than ceil(replicas / usable zones) replicas."""

    name = "zone-spread"

    def applies(self, request: ServiceRequest) -> bool:
        return "zone" in request.ha

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        cap = ctx.zone_cap
        if cap is not None and ctx.replicas_in_zone(host.zone) >= cap:
            return "zone spread"
        return None


class Ports(Bidder):
    """Public (host) ports: two containers cannot bind the same port on one host."""

    name = "ports"

    def applies(self, request: ServiceRequest) -> bool:
        return bool(request.ports)

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        for port, proto in ctx.request.ports:
            if host.ports.get((port, proto)):
                return f"port {port}/{proto} in use"
        return None


class Resources(Bidder):
    """cpu and memory: the container must fit in what the host has left."""

    name = "resources"

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        req = ctx.request
        short_mem = req.memory > host.memory - host.memory_used
        short_cpu = req.cpu > host.cpu - host.cpu_used
        if short_mem and short_cpu:
            return "not enough cpu and memory"
        if short_mem:
            return "not enough memory"
        if short_cpu:
            return "not enough cpu"
        return None


#: Built-in filters in the order their reasons are reported (the first to reject a host
#: gives its reason). Spread, binpack and stickiness are built into the engine: see
#: docs/placement.md.
BUILTIN_FILTERS: tuple[type[Bidder], ...] = (
    Constraints,
    AntiAffinity,
    ZoneSpread,
    Ports,
    Resources,
)
BUILTIN_NAMES = (*(b.name for b in BUILTIN_FILTERS), "spread", "binpack", "sticky")


def installed_bidders() -> dict[str, str]:
    """Custom bidders registered under the ``mason.bidders`` entry point group."""
    found: dict[str, str] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name not in BUILTIN_NAMES:
            found.setdefault(ep.name, ep.value)
    return found


def load_bidders(names: Mapping[str, str] | None = None) -> list[Bidder]:
    """Instantiate custom bidders (default: every installed one), sorted by name."""
    table = installed_bidders() if names is None else dict(names)
    bidders: list[Bidder] = []
    for name in sorted(table):
        module, _, attr = table[name].partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise InvalidInput(f"bidder {name!r}: cannot load {table[name]!r}: {exc}") from exc
        bidder = cls()
        if not isinstance(bidder, Bidder):
            raise InvalidInput(f"bidder {name!r}: {table[name]} is not a mason Bidder")
        if not bidder.name:
            bidder.name = name
        bidders.append(bidder)
    return bidders
