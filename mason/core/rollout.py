"""Batches of a rolling update of one service, in pure Python.

Input: the replicas to update (each with its number, the host it runs on now, the host
it goes to and the zone), the service's ``ha`` modes, ``max_parallel`` and, per host,
whether it has room for a replica's old and new containers at once. Output: ordered
batches of steps; a deploy runs one batch, gates on health, then the next.

Rules, in this order:

- a batch never touches more than one zone of the service (its other zones keep
  serving while a batch is in flight);
- with ``ha: host``, a batch never touches more than one host (a replica that moves
  between two hosts is a batch of its own, since it touches both);
- a batch holds at most ``max_parallel`` replicas;
- a step is *start-first* (start the new container, gate, switch, drain and stop the
  old one) when its host has room for both, or when the replica moves to another host
  (old and new never share a host); otherwise *stop-first* (stop, then start);
- the order is deterministic: zones by name, then hosts by name, then replica number;
  replicas that stay on (or are new to) one host before those that move between two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from mason.core.errors import InvalidInput
from mason.core.manifest.model import HA_MODES

START_FIRST, STOP_FIRST = "start-first", "stop-first"
MAX_PARALLEL = 1000


@dataclass(frozen=True, order=True)
class Move:
    """One replica to update: from ``old_host`` ("" for a new replica) to ``new_host``."""

    replica: int
    old_host: str
    new_host: str
    zone: str

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(h for h in (self.old_host, self.new_host) if h)

    @property
    def in_place(self) -> bool:
        return self.old_host == self.new_host


@dataclass(frozen=True)
class Step:
    """One replica of a batch: where its new container starts, and how."""

    service: str
    replica: int
    host: str
    zone: str
    mode: str
    old_host: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "replica": self.replica,
            "host": self.host,
            "zone": self.zone,
            "mode": self.mode,
            "old_host": self.old_host,
        }

    def describe(self) -> str:
        moved = f" from {self.old_host}" if self.old_host and self.old_host != self.host else ""
        return f"{self.service}#{self.replica} on {self.host}{moved} ({self.zone}, {self.mode})"


Batch = tuple[Step, ...]


def _check(moves: Sequence[Move], ha: frozenset[str], max_parallel: int) -> None:
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int):
        raise InvalidInput(f"max_parallel: expected an integer, got {max_parallel!r}")
    if not 1 <= max_parallel <= MAX_PARALLEL:
        raise InvalidInput(
            f"max_parallel: must be between 1 and {MAX_PARALLEL}, got {max_parallel}"
        )
    unknown = sorted(set(ha) - set(HA_MODES))
    if unknown:
        raise InvalidInput(f"ha: unknown mode {unknown[0]!r} (modes: {', '.join(HA_MODES)})")
    numbers = [m.replica for m in moves]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        raise InvalidInput(f"rollout: replica {twice[0]} is listed twice")
    for m in moves:
        if not m.new_host or not m.zone:
            raise InvalidInput(f"rollout: replica {m.replica} has no host or zone to go to")


def mode_of(move: Move, room: Mapping[str, bool]) -> str:
    """Start-first where the host has room for both containers, or when the replica
    changes host; stop-first otherwise (an unknown host has no room)."""
    if not move.in_place or room.get(move.new_host, False):
        return START_FIRST
    return STOP_FIRST


def _chunks(moves: Sequence[Move], size: int) -> list[list[Move]]:
    return [list(moves[i : i + size]) for i in range(0, len(moves), size)]


def batches(
    replicas: Sequence[Move],
    *,
    ha: frozenset[str] | set[str] = frozenset(),
    max_parallel: int = 1,
    room: Mapping[str, bool] | None = None,
    service: str = "",
) -> list[Batch]:
    """The ordered batches of a rolling update of ``service`` (see the module's rules)."""
    ha = frozenset(ha)
    _check(replicas, ha, max_parallel)
    room = room or {}
    out: list[Batch] = []
    ordered = sorted(replicas, key=lambda m: (m.zone, m.new_host, m.replica))
    for _, in_zone in groupby(ordered, key=lambda m: m.zone):
        zone_moves = list(in_zone)
        one_host = [m for m in zone_moves if len(m.hosts) == 1]
        two_hosts = [m for m in zone_moves if len(m.hosts) > 1]
        groups: list[list[Move]] = []
        if "host" in ha:
            for _, on_host in groupby(one_host, key=lambda m: m.new_host):
                groups.extend(_chunks(list(on_host), max_parallel))
            groups.extend([m] for m in two_hosts)
        else:
            groups.extend(_chunks(one_host + two_hosts, max_parallel))
        for group in groups:
            out.append(
                tuple(
                    Step(service, m.replica, m.new_host, m.zone, mode_of(m, room), m.old_host)
                    for m in group
                )
            )
    return out


def describe(plan: Sequence[Batch]) -> list[str]:
    """One line per batch for the plan preview:
    ``batch 1: web#1 on demo-h1 (zone-a, start-first)``."""
    return [
        f"batch {i}: {', '.join(step.describe() for step in batch)}"
        for i, batch in enumerate(plan, start=1)
    ]
