"""An example mason bidder: no new containers on hosts labelled ``drain=true``.

Containers already running on a drained host are rejected there too, so the
next plan moves them off it: drain a host by labelling it, then re-plan.
"""

from __future__ import annotations

from mason.core.placement import BidContext, Bidder, HostState, ServiceRequest

LABEL = "drain"


class Drain(Bidder):
    name = "drain"

    def applies(self, request: ServiceRequest) -> bool:
        # Every service: a drained host is off limits for all of them.
        return True

    def reject(self, ctx: BidContext, host: HostState) -> str | None:
        if host.labels.get(LABEL, "").lower() == "true":
            return "host drained"
        return None
