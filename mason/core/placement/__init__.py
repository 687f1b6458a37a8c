"""Placement: every host bids for a container, bidders filter and score, the best bid wins.

Public interface::

    from mason.core.placement import HostSpec, Allocation, plan, requests_from_app
    result = plan(hosts, requests_from_app(app), current)
    result = plan(hosts, requests, current, time_limit=10, rebalance=True)
    result.to_dict()   # the documented --json shape

See docs/placement.md for the bidders, the properties the engine keeps
(deterministic, stable, complete on tiny instances), the repair that runs when
greedy placement leaves containers without a host, and the benchmarks.
"""

from __future__ import annotations

from mason.core.placement.bidders import (
    ENTRY_POINT_GROUP,
    BidContext,
    Bidder,
    HostState,
    installed_bidders,
    load_bidders,
)
from mason.core.placement.constraints import Constraint
from mason.core.placement.engine import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    format_reasons,
    natural_key,
    plan,
)
from mason.core.placement.model import (
    KEEP,
    MOVE,
    NEW,
    REMOVE,
    Allocation,
    Explanation,
    HostSpec,
    Placement,
    Plan,
    Repair,
    ServiceRequest,
    Survival,
    Unplaced,
    Verdict,
)
from mason.core.placement.survival import replicas_for_zone_loss

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "ENTRY_POINT_GROUP",
    "KEEP",
    "MAX_TIME_LIMIT",
    "MOVE",
    "NEW",
    "REMOVE",
    "Allocation",
    "BidContext",
    "Bidder",
    "Constraint",
    "Explanation",
    "HostSpec",
    "HostState",
    "Placement",
    "Plan",
    "Repair",
    "ServiceRequest",
    "Survival",
    "Unplaced",
    "Verdict",
    "format_reasons",
    "installed_bidders",
    "load_bidders",
    "natural_key",
    "plan",
    "replicas_for_zone_loss",
    "requests_from_app",
]


def requests_from_app(app) -> list[ServiceRequest]:
    """One :class:`ServiceRequest` per service of a validated ``mason.core.manifest.App``.

    Its public ports are not placement's business: the app's edge holds them on every
    host (``mason.core.edge``) and no replica binds one, so several replicas of a public
    service may share a host; ``mason.core.deploy`` keeps each port to one app per pod.
    The ``ports`` bidder stays for requests that do bind host ports."""
    return [
        ServiceRequest(
            app=app.name,
            service=svc.name,
            replicas=svc.replicas,
            cpu=svc.cpu,
            memory=svc.memory,
            ha=svc.ha,
            strategy=svc.strategy,
            constraints=svc.constraints,
            min_available=svc.min_available,
        )
        for svc in app.services.values()
    ]
