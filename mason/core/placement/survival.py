"""Survival report: replicas left after the worst single host and zone loss.

Catalyze's zone arithmetic: spread evenly over Z zones, n replicas lose at most
ceil(n / Z) to one zone, so keeping ``min_available`` through a zone loss needs
the smallest n with n - ceil(n / Z) >= min_available. A service that needs 4
replicas up over 4 zones needs 6 (6 - ceil(6/4) = 4), not 5 (5 - 2 = 3).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mason.core.placement.model import Survival

if TYPE_CHECKING:
    from mason.core.placement.state import Planner


def replicas_for_zone_loss(min_available: int, zones: int) -> int | None:
    """Fewest evenly spread replicas that keep ``min_available`` after losing one zone."""
    if min_available <= 0:
        return 0
    if zones <= 1:
        return None
    n = min_available
    while n - math.ceil(n / zones) < min_available:
        n += 1
    return n


def survival_report(planner: Planner) -> list[Survival]:
    report = []
    for key in sorted(planner.services):
        svc = planner.services[key]
        req = svc.request
        placed = sum(svc.host_counts.values())
        worst_host, host_loss = None, 0
        for slot, n in sorted(svc.host_counts.items()):
            if n > host_loss:
                worst_host, host_loss = planner.hosts[slot].name, n
        worst_zone, zone_loss = None, 0
        for zone, n in sorted(svc.zone_counts.items()):
            if n > zone_loss:
                worst_zone, zone_loss = zone, n
        report.append(
            Survival(
                app=req.app,
                service=req.service,
                replicas=placed,
                min_available=req.min_available,
                zones=svc.zone_count,
                after_host_loss=placed - host_loss,
                worst_host=worst_host,
                after_zone_loss=placed - zone_loss,
                worst_zone=worst_zone,
                replicas_for_zone_loss=replicas_for_zone_loss(req.min_available, svc.zone_count),
            )
        )
    return report
