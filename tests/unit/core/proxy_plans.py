"""Link plans from the manifest model, and back to their plain form: helpers only tests use
(a deploy builds its plan in :mod:`mason.core.deploy`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mason.core.errors import InvalidInput
from mason.core.proxy import (
    LinkPlan,
    Replica,
    ServicePlan,
    assign_proxy_ports,
    instances,
    render_haproxy,
)


def plan_from_manifests(
    pod: str,
    apps: Mapping[str, Any],
    placements: Iterable[Any],
    addresses: Mapping[str, str],
) -> LinkPlan:
    """Adapter from the manifest model (:mod:`mason.core.manifest`) and placement output.

    ``apps`` maps app names to ``manifest.App``; ``placements`` are
    ``placement.model.Placement`` rows (those with action ``remove`` are skipped).
    A service's first container port is the one its proxy forwards to.
    """
    hosts_of: dict[tuple[str, str], list[Replica]] = {}
    for p in placements:
        if getattr(p, "action", "") == "remove":
            continue
        hosts_of.setdefault((p.app, p.service), []).append(
            Replica(p.replica, p.host, addresses.get(p.host, ""))
        )
    services = []
    for app_name, app in sorted(apps.items()):
        for name, svc in sorted(app.services.items()):
            replicas = tuple(sorted(hosts_of.get((app_name, name), [])))
            if not replicas:
                continue
            if not svc.ports:
                raise InvalidInput(
                    f"{app_name}/{name} has no port: nothing for its proxy to forward to"
                )
            services.append(
                ServicePlan(
                    app=app_name,
                    service=name,
                    port=svc.ports[0].container,
                    replicas=replicas,
                    links=tuple(svc.links),
                    image=svc.image or "",
                    command=tuple(svc.command),
                    env=dict(svc.env),
                )
            )
    return assign_proxy_ports(LinkPlan(pod, tuple(services)))


def plan_to_dict(plan: LinkPlan) -> dict[str, Any]:
    """The plain form :func:`plan_from_dict` reads (what links.yml takes as mason_links_plan)."""
    apps: dict[str, dict[str, Any]] = {}
    for s in sorted(plan.services, key=lambda s: s.key):
        apps.setdefault(s.app, {})[s.service] = {
            "port": s.port,
            "scheme": s.scheme,
            "image": s.image,
            "links": list(s.links),
            "command": list(s.command),
            "env": dict(s.env),
            "replicas": [
                {
                    "replica": r.replica,
                    "host": r.host,
                    "address": r.address,
                    "proxy_port": r.proxy_port,
                }
                for r in s.replicas
            ],
        }
    return {"pod": plan.pod, "apps": apps}


def render_all(plan: LinkPlan, hosts: Sequence[str] | None = None) -> dict[str, str]:
    """Every instance's config by instance name (for review and tests)."""
    wanted = set(hosts) if hosts else None
    return {
        i.name: render_haproxy(i) for i in instances(plan) if wanted is None or i.host in wanted
    }
