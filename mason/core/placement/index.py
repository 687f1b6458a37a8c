"""A tournament segment tree over hosts: finds the best host without visiting every one.

Leaves are hosts in canonical order (zone, then name). Each node keeps the most
free cpu and memory below it (prunes subtrees where the container cannot fit),
the zones below it (a bitmask: prunes zones a constraint or zone spread
excludes) and its least utilized leaf (the spread winner).

- spread: best-first search on (utilization, slot). A node's best leaf bounds
  every leaf below it, so the first leaf that passes every check is the exact
  answer the every-host evaluation would give. Usually that is the root's own
  best leaf, checked in O(1).
- binpack: leftmost leaf that fits (first-fit in canonical order): a depth-first
  descent that skips subtrees without room.
- aligned (the repair's choice): the leaf maximizing ``wc * free_cpu + wm *
  free_memory``, lowest slot on ties: a pass over the leaves (the repair runs
  only when greedy fails, and the pods it is measured on have up to 500 hosts).

Both accept an ``accept(host)`` callback for the checks the tree cannot prune
(anti-affinity, ports, label constraints, custom bidders).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from mason.core.placement.bidders import HostState

Accept = Callable[[HostState], bool] | None


class HostIndex:
    __slots__ = ("best", "fc", "fm", "hosts", "size", "util", "zmask")

    def __init__(self, hosts: Sequence[HostState]) -> None:
        self.hosts = list(hosts)
        size = 1
        while size < max(1, len(self.hosts)):
            size *= 2
        self.size = size
        self.fc = [-1] * (2 * size)
        self.fm = [-1] * (2 * size)
        self.best = [-1] * (2 * size)
        self.zmask = [0] * (2 * size)
        self.util = [0.0] * size
        for leaf, host in enumerate(self.hosts):
            host.memberships.append((self, leaf))
            node = size + leaf
            self.fc[node] = host.cpu - host.cpu_used
            self.fm[node] = host.memory - host.memory_used
            self.best[node] = leaf
            self.zmask[node] = 1 << host.zone_id
            self.util[leaf] = host.utilization
        for node in range(size - 1, 0, -1):
            self._pull(node)

    def _pull(self, node: int) -> None:
        left, right = 2 * node, 2 * node + 1
        fc, fm, best, util = self.fc, self.fm, self.best, self.util
        fc[node] = max(fc[left], fc[right])
        fm[node] = max(fm[left], fm[right])
        self.zmask[node] = self.zmask[left] | self.zmask[right]
        bl, br = best[left], best[right]
        best[node] = bl if br < 0 or (bl >= 0 and util[bl] <= util[br]) else br

    def update(self, leaf: int) -> None:
        """Refresh one host's leaf after its usage changed, and its path to the root."""
        host = self.hosts[leaf]
        fc, fm, best, util = self.fc, self.fm, self.best, self.util
        node = self.size + leaf
        fc[node] = host.cpu - host.cpu_used
        fm[node] = host.memory - host.memory_used
        util[leaf] = host.utilization
        node >>= 1
        while node:
            left = node << 1
            right = left | 1
            a, b = fc[left], fc[right]
            fc[node] = a if a > b else b
            a, b = fm[left], fm[right]
            fm[node] = a if a > b else b
            bl, br = best[left], best[right]
            # left leaves precede right ones, so "<=" keeps the lower slot on ties
            best[node] = bl if br < 0 or (bl >= 0 and util[bl] <= util[br]) else br
            node >>= 1

    def find_spread(self, cpu: int, memory: int, zones: int, accept: Accept) -> HostState | None:
        """The least utilized host (lowest slot on ties) that fits and is accepted."""
        fc, fm, best, util, zmask, hosts, size = (
            self.fc,
            self.fm,
            self.best,
            self.util,
            self.zmask,
            self.hosts,
            self.size,
        )
        if fc[1] < cpu or fm[1] < memory or not zmask[1] & zones or best[1] < 0:
            return None
        tried: set[int] = set()
        heap = [(util[best[1]], best[1], 1)]
        while heap:
            _, leaf, node = heapq.heappop(heap)
            # Shortcut: this node's best leaf bounds everything still in the heap,
            # so if it passes it is the answer.
            if leaf not in tried:
                lnode = size + leaf
                if fc[lnode] >= cpu and fm[lnode] >= memory and zmask[lnode] & zones:
                    host = hosts[leaf]
                    if accept is None or accept(host):
                        return host
                tried.add(leaf)
            if node >= size:
                continue
            for child in (2 * node, 2 * node + 1):
                b = best[child]
                if b >= 0 and fc[child] >= cpu and fm[child] >= memory and zmask[child] & zones:
                    heapq.heappush(heap, (util[b], b, child))
        return None

    def find_first(self, cpu: int, memory: int, zones: int, accept: Accept) -> HostState | None:
        """The first host in canonical order that fits and is accepted (first-fit)."""
        fc, fm, zmask, size, hosts = self.fc, self.fm, self.zmask, self.size, self.hosts
        stack = [1]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            if fc[node] < cpu or fm[node] < memory or not zmask[node] & zones:
                continue
            if node >= size:
                host = hosts[node - size]
                if accept is None or accept(host):
                    return host
                continue
            push(2 * node + 1)
            push(2 * node)
        return None

    def find_aligned(
        self, cpu: int, memory: int, wc: float, wm: float, zones: int, accept: Accept
    ) -> HostState | None:
        """The accepted host that fits with the most ``wc * free cpu + wm * free memory``.

        Lowest slot on ties. One pass over the leaves: a branch and bound over
        the tree was slower, its bound (a node's most free cpu and most free
        memory, often from two different hosts) being loose on full pods.
        """
        fc, fm, zmask, hosts, size = self.fc, self.fm, self.zmask, self.hosts, self.size
        best, best_score = None, -1.0
        for leaf in range(len(hosts)):
            node = size + leaf
            c = fc[node]
            if c < cpu:
                continue
            m = fm[node]
            if m < memory:
                continue
            score = wc * c + wm * m
            if score > best_score and zmask[node] & zones:
                host = hosts[leaf]
                if accept is None or accept(host):
                    best, best_score = host, score
        return best
