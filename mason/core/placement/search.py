"""Exhaustive fallback for tiny instances, where greedy placement can fail needlessly.

Greedy places containers one by one and never revisits a choice: two services
with anti-affinity and unequal sizes can leave no room for the last container
although a layout exists. When that happens on a small pod (at most
``SEARCH_MAX_HOSTS`` hosts, ``SEARCH_MAX_CONTAINERS`` containers to place), the
engine searches every assignment depth-first, in the same order of preference
greedy uses, so the first layout found is the one greedy "meant".

Replicas of one service are interchangeable, so consecutive replicas only take
hosts in non-decreasing canonical order: the same layouts, far fewer branches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mason.core.placement.bidders import HostState
    from mason.core.placement.engine import Planner, ServiceState

SEARCH_MAX_HOSTS = 8
SEARCH_MAX_CONTAINERS = 12
# Enough to exhaust 5 hosts x 8 containers (5**8 leaves) in the worst case.
SEARCH_BUDGET = 600_000


class _Budget(Exception):
    pass


def search(
    planner: Planner,
    items: Sequence[tuple[ServiceState, int]],
    budget: int = SEARCH_BUDGET,
) -> list[HostState] | None:
    """A host for every item such that every bidder accepts, or None.

    Leaves the planner's usage as it found it.
    """
    chosen: list[HostState] = []
    visits = 0

    def dfs(k: int) -> bool:
        nonlocal visits
        if k == len(items):
            return True
        svc, replica = items[k]
        floor = -1
        if k and items[k - 1][0] is svc:
            floor = chosen[k - 1].slot
        candidates = [
            h for h in planner.hosts if h.slot >= floor and planner.rejects(svc, replica, h) is None
        ]
        candidates.sort(key=svc.preference)
        for host in candidates:
            visits += 1
            if visits > budget:
                raise _Budget
            planner.assign(svc, host)
            chosen.append(host)
            ok = dfs(k + 1)
            if ok:
                planner.assign(svc, host, -1)
                return True
            chosen.pop()
            planner.assign(svc, host, -1)
        return False

    try:
        found = dfs(0)
    except _Budget:
        # unwind whatever is still charged
        for (svc, _), host in zip(items, chosen, strict=False):
            planner.assign(svc, host, -1)
        return None
    return list(chosen) if found else None
