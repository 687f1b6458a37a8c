"""Exhaustive search for tiny instances, where greedy placement can fail needlessly.

Greedy places containers one by one and never revisits a choice: two services
with anti-affinity and unequal sizes can leave no room for the last container
although a layout exists. On a small pod (see ``SEARCH_MAX_HOSTS`` and
``SEARCH_MAX_CONTAINERS`` in :mod:`.repair`) the repair first searches every
assignment depth-first, in the same order of preference greedy uses, so the
first layout found is the one greedy "meant". A running container (movable
only with ``rebalance``) tries the host it runs on first.

Replicas of one service are interchangeable, so consecutive new replicas only
take hosts in non-decreasing canonical order: the same layouts, far fewer
branches. The search also stops a branch as soon as the cpu or memory still to
place exceeds what the hosts have free.
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
    hosts: list[HostState] | None  # a host per container, or None when no layout exists


def search(planner: Planner, items: Sequence[Container], budget: Budget) -> SearchOutcome:
    """A host for every item such that every bidder accepts, or proof there is none.

    ``items`` must not be charged to any host. Leaves the planner's usage as it found it.
    """
    chosen: list[HostState] = []
    need_cpu = [0] * (len(items) + 1)  # cpu and memory of items[k:], for the bound
    need_memory = [0] * (len(items) + 1)
    for k in range(len(items) - 1, -1, -1):
        need_cpu[k] = need_cpu[k + 1] + items[k].svc.request.cpu
        need_memory[k] = need_memory[k + 1] + items[k].svc.request.memory

    def room_left(k: int) -> bool:
        free_cpu = sum(max(0, h.cpu - h.cpu_used) for h in planner.hosts)
        free_memory = sum(max(0, h.memory - h.memory_used) for h in planner.hosts)
        return need_cpu[k] <= free_cpu and need_memory[k] <= free_memory

    def candidates(k: int) -> list[HostState]:
        item = items[k]
        svc = item.svc
        floor = -1
        if k and items[k - 1].svc is svc and not item.kept and not items[k - 1].kept:
            floor = chosen[k - 1].slot
        if not budget.spend(len(planner.hosts)):
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

    def dfs(k: int) -> bool:
        if k == len(items):
            return True
        if not room_left(k):
            return False
        item = items[k]
        for host in candidates(k):
            planner.assign(item.svc, host)
            chosen.append(host)
            if dfs(k + 1):
                planner.assign(item.svc, host, -1)
                return True
            chosen.pop()
            planner.assign(item.svc, host, -1)
        return False

    try:
        found = dfs(0)
    except _OutOfBudget:
        for item, host in zip(items, chosen, strict=False):  # unwind what is still charged
            planner.assign(item.svc, host, -1)
        return SearchOutcome(False, None)
    # on success dfs unwinds its own charges as it returns
    return SearchOutcome(True, list(chosen) if found else None)
