"""Exhaustive search for tiny instances, where greedy placement can fail needlessly.

Greedy places containers one by one and never revisits a choice: two services
with anti-affinity and unequal sizes can leave no room for the last container
although a layout exists. On a small pod (see ``SEARCH_MAX_HOSTS`` and
``SEARCH_MAX_CONTAINERS`` in :mod:`.repair`) the repair first searches every
assignment depth-first, in the same order of preference greedy uses, so the
first layout found is the one greedy "meant". A running container (movable
only with ``rebalance``) tries the host it runs on first.

When no layout places everything, the repair asks again allowing one
container to stay without a host, then two, and so on: the first answer places
as many containers as any layout can.

Replicas of one service are interchangeable, so consecutive new replicas only
take hosts in non-decreasing canonical order, and those left without a host are
the last ones: the same layouts, far fewer branches. With nothing to leave out,
the search also stops a branch as soon as the cpu or memory still to place
exceeds what the hosts have free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from mason.core.placement.bidders import HostState
    from mason.core.placement.repair import Budget
    from mason.core.placement.state import Container, Planner


class _OutOfBudget(Exception):
    pass


class SearchOutcome(NamedTuple):
    complete: bool  # False: the budget ran out before the search could decide
    hosts: list[HostState | None] | None  # a host per container (None: left out), or no layout


def search(
    planner: Planner, items: Sequence[Container], budget: Budget, skips: int = 0
) -> SearchOutcome:
    """A host for every item but at most ``skips`` such that every bidder accepts.

    ``hosts`` is None when no such layout exists. ``items`` must not be charged
    to any host. Leaves the planner's usage as it found it.
    """
    dfs = _DepthFirst(planner, items, budget, skips)
    try:
        found = dfs.place(0, skips)
    except _OutOfBudget:
        for item, host in zip(items, dfs.chosen, strict=False):  # unwind what is charged
            if host is not None:
                planner.assign(item.svc, host, -1)
        return SearchOutcome(False, None)
    # on success the search unwinds its own charges as it returns
    return SearchOutcome(True, list(dfs.chosen) if found else None)


class _DepthFirst:
    def __init__(
        self, planner: Planner, items: Sequence[Container], budget: Budget, skips: int
    ) -> None:
        self.planner, self.items, self.budget, self.skips = planner, items, budget, skips
        self.chosen: list[HostState | None] = []
        self.need_cpu = [0] * (len(items) + 1)  # cpu and memory of items[k:], for the bound
        self.need_memory = [0] * (len(items) + 1)
        for k in range(len(items) - 1, -1, -1):
            self.need_cpu[k] = self.need_cpu[k + 1] + items[k].svc.request.cpu
            self.need_memory[k] = self.need_memory[k + 1] + items[k].svc.request.memory

    def place(self, k: int, left: int) -> bool:
        """Place items[k:] leaving out at most ``left`` of them; True once all are decided."""
        items, planner, chosen = self.items, self.planner, self.chosen
        if k == len(items):
            return True
        if not self.room_left(k):
            return False
        item = items[k]
        for host in self.candidates(k):
            planner.assign(item.svc, host)
            chosen.append(host)
            if self.place(k + 1, left):
                planner.assign(item.svc, host, -1)
                return True
            chosen.pop()
            planner.assign(item.svc, host, -1)
        if left:  # leave this one out
            chosen.append(None)
            if self.place(k + 1, left - 1):
                return True
            chosen.pop()
        return False

    def room_left(self, k: int) -> bool:
        if self.skips:
            return True  # what is left out is not known yet: no bound
        hosts = self.planner.hosts
        free_cpu = sum(max(0, h.cpu - h.cpu_used) for h in hosts)
        free_memory = sum(max(0, h.memory - h.memory_used) for h in hosts)
        return self.need_cpu[k] <= free_cpu and self.need_memory[k] <= free_memory

    def twin(self, k: int) -> bool:
        """Whether items[k] is interchangeable with items[k - 1] (same service, both new)."""
        items = self.items
        return (
            bool(k)
            and items[k - 1].svc is items[k].svc
            and not (items[k].kept or items[k - 1].kept)
        )

    def candidates(self, k: int) -> list[HostState]:
        item, planner = self.items[k], self.planner
        svc = item.svc
        floor = -1
        if self.twin(k):
            before = self.chosen[k - 1]
            if before is None:
                return []  # left-out replicas of a service are the last ones
            floor = before.slot
        if not self.budget.spend(len(planner.hosts)):
            raise _OutOfBudget
        found = [
            h
            for h in planner.hosts
            if h.slot >= floor and planner.rejects(svc, item.replica, h) is None
        ]
        found.sort(key=svc.preference)
        if item.kept:  # a running container tries where it runs first
            found.sort(key=lambda h: h.name != item.previous)
        return found
