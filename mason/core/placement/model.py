"""Inputs and outputs of the placement engine: plain frozen data, no behaviour.

Quantities are integers (millicores, bytes) so plans are exact and reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mason.core.names import ROLE_WORKER
from mason.core.placement.constraints import Constraint

# Actions of a plan line, as in a terraform/nomad plan.
NEW, KEEP, MOVE, REMOVE = "new", "keep", "move", "remove"
STRATEGIES = ("spread", "binpack")


@dataclass(frozen=True)
class HostSpec:
    """One host as placement sees it (the CLI converts provider hosts into these)."""

    name: str
    zone: str
    cpu: int  # millicores offered to containers
    memory: int  # bytes offered to containers
    role: str = ROLE_WORKER
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Allocation:
    """A container that runs now (from Docker labels on a real pod, or a hosts file).

    ``cpu``/``memory``/``ports`` matter only for apps that are not being planned:
    containers of planned apps are charged what their manifest asks for now.
    """

    app: str
    service: str
    replica: int
    host: str
    cpu: int = 0
    memory: int = 0
    ports: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class ServiceRequest:
    """What one service asks of placement."""

    app: str
    service: str
    replicas: int
    cpu: int = 0
    memory: int = 0
    ports: tuple[tuple[int, str], ...] = ()  # public (host) ports with protocol
    ha: frozenset[str] = frozenset()  # "host": one replica per host; "zone": spread zones
    strategy: str = "spread"
    constraints: tuple[Constraint, ...] = ()
    min_available: int = 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.service)


@dataclass(frozen=True)
class Placement:
    app: str
    service: str
    replica: int
    host: str
    zone: str
    action: str  # new, keep, move, remove
    previous_host: str | None = None  # for move: where it ran before

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "app": self.app,
            "service": self.service,
            "replica": self.replica,
            "host": self.host,
            "zone": self.zone,
            "action": self.action,
        }
        if self.previous_host is not None:
            data["previous_host"] = self.previous_host
        return data


@dataclass(frozen=True)
class Unplaced:
    app: str
    service: str
    replica: int
    reasons: tuple[str, ...]  # "3 hosts: not enough memory", most common first
    previous_host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "service": self.service,
            "replica": self.replica,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Survival:
    """How many replicas of a service survive the worst single host and zone loss."""

    app: str
    service: str
    replicas: int  # placed replicas
    min_available: int
    zones: int  # zones the service may use
    after_host_loss: int
    worst_host: str | None
    after_zone_loss: int
    worst_zone: str | None
    # Catalyze's zone arithmetic: the fewest replicas, spread evenly over `zones`,
    # that keep min_available after losing a zone (None: impossible with one zone).
    replicas_for_zone_loss: int | None

    @property
    def survives_host_loss(self) -> bool:
        return self.after_host_loss >= self.min_available

    @property
    def survives_zone_loss(self) -> bool:
        return self.after_zone_loss >= self.min_available

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "service": self.service,
            "replicas": self.replicas,
            "min_available": self.min_available,
            "zones": self.zones,
            "after_host_loss": self.after_host_loss,
            "worst_host": self.worst_host,
            "survives_host_loss": self.survives_host_loss,
            "after_zone_loss": self.after_zone_loss,
            "worst_zone": self.worst_zone,
            "survives_zone_loss": self.survives_zone_loss,
            "replicas_for_zone_loss": self.replicas_for_zone_loss,
        }


@dataclass(frozen=True)
class Verdict:
    """One bidder's word on one container: hosts it rejected, by reason, and a note."""

    bidder: str
    rejected: Mapping[str, int]  # reason -> hosts
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"bidder": self.bidder, "rejected": dict(self.rejected), "note": self.note}


@dataclass(frozen=True)
class Explanation:
    app: str
    service: str
    replica: int
    host: str | None
    action: str
    candidates: int  # hosts no bidder rejected
    verdicts: tuple[Verdict, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "service": self.service,
            "replica": self.replica,
            "host": self.host,
            "action": self.action,
            "candidates": self.candidates,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


@dataclass(frozen=True)
class Repair:
    """What the repair did, when greedy placement left some container without a host."""

    outcome: str  # "placed" (every container), "no-layout" (proven), "stopped" (undecided)
    unplaced_before: int  # containers greedy left without a host
    unplaced_after: int
    moved: int  # containers greedy had placed that the repair put on another host
    verdict: str  # the line added to each unplaced container's reasons ("" when none)
    searched: bool  # the exhaustive search decided the layout
    time_limit: float
    seconds: float = field(default=0.0, compare=False)  # wall time: not part of the plan

    def to_dict(self) -> dict[str, Any]:
        """Deterministic: the wall time is left out, so the same input gives the same JSON."""
        return {
            "outcome": self.outcome,
            "unplaced_before": self.unplaced_before,
            "unplaced_after": self.unplaced_after,
            "moved": self.moved,
            "verdict": self.verdict,
            "time_limit": self.time_limit,
        }


@dataclass
class Plan:
    placements: list[Placement]
    unplaced: list[Unplaced]
    survival: list[Survival]
    explanations: list[Explanation] = field(default_factory=list)
    searched: bool = False  # True when the exhaustive search decided the new containers
    repair: Repair | None = None  # None when greedy placed everything (or no repair was allowed)

    def to_dict(self) -> dict[str, Any]:
        """The documented ``--json`` shape (docs/placement.md, "The plan as JSON")."""
        data: dict[str, Any] = {
            "placements": [p.to_dict() for p in self.placements],
            "unplaced": [u.to_dict() for u in self.unplaced],
            "survival": [s.to_dict() for s in self.survival],
        }
        if self.explanations:
            data["explain"] = [e.to_dict() for e in self.explanations]
        if self.repair is not None:
            data["repair"] = self.repair.to_dict()
        return data
