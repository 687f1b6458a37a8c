"""An app's public entry on every host of its pod: the edge proxy, in pure Python.

A public port is held by a per-host, per-app HAProxy (``mason-edge-<app>``), never by
an app container, so replicas can come and go behind it without a gap. The edge
speaks mTLS to every replica of the public service, pod-wide, as the identity
``spiffe://<pod>/<app>/edge``, which only the app's public services admit; it balances
over the healthy ones, skips replicas whose service is down (the sidecar refuses
before TLS), and lets a rollout drain a replica through its runtime API
(``set server <backend>/<server> state drain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mason.core.errors import InvalidInput
from mason.core.pki import Identity
from mason.core.proxy import (
    EDGE,
    LinkPlan,
    ProxyTuning,
    Upstream,
    mtls_server,
    preamble,
    proxy_container,
)


@dataclass(frozen=True)
class Route:
    """One public port of an app, and the replicas behind it."""

    port: int
    service: str
    dns_name: str  # what every replica's certificate names
    upstreams: tuple[Upstream, ...]

    @property
    def backend(self) -> str:
        return f"public_{self.port}"


@dataclass(frozen=True)
class Edge:
    pod: str
    app: str
    host: str
    routes: tuple[Route, ...]

    @property
    def identity(self) -> Identity:
        return Identity(self.pod, self.app, EDGE)

    @property
    def name(self) -> str:
        return f"{self.app}-{EDGE}"

    @property
    def container(self) -> str:
        return f"mason-{EDGE}-{self.app}"

    def labels(self) -> dict[str, str]:
        return {
            "mason.pod": self.pod,
            "mason.app": self.app,
            "mason.part": EDGE,
            "mason.identity": self.identity.spiffe_id,
            "mason.public": ",".join(str(r.port) for r in self.routes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "container": self.container,
            "host": self.host,
            "identity": self.identity.spiffe_id,
            "common_name": self.identity.common_name,
            "dns_name": self.identity.dns_name,
            "ports": [r.port for r in self.routes],
            "proxy_params": proxy_container(r.port for r in self.routes),
            "backends": {r.backend: [u.name for u in r.upstreams] for r in self.routes},
            "labels": self.labels(),
            "haproxy_cfg": render_edge(self),
        }


def routes(plan: LinkPlan, app: str, public: dict[str, Sequence[int]]) -> tuple[Route, ...]:
    """The routes of ``app``: each public port of each service in ``public`` (service ->
    ports), to every replica of it in ``plan``."""
    out = []
    seen: dict[int, str] = {}
    for service, ports in sorted(public.items()):
        s = plan.service(app, service)
        if not s.public:
            raise InvalidInput(f"{app}/{service} has public ports but does not admit its edge")
        for port in ports:
            if port in seen:
                raise InvalidInput(
                    f"app {app}: public port {port} is given by {seen[port]} and {service}"
                )
            seen[port] = service
            out.append(
                Route(
                    port=port,
                    service=service,
                    dns_name=plan.identity(s).dns_name,
                    upstreams=tuple(
                        Upstream(f"{service}-{r.replica}", r.address, r.proxy_port)
                        for r in s.replicas
                    ),
                )
            )
    return tuple(sorted(out, key=lambda r: r.port))


def edges(
    plan: LinkPlan, app: str, public: dict[str, Sequence[int]], hosts: Sequence[str]
) -> list[Edge]:
    """One edge per host of the pod (every host answers on the app's public ports)."""
    found = routes(plan, app, public)
    if not found:
        return []
    return [Edge(plan.pod, app, host, found) for host in sorted(hosts)]


def render_edge(edge: Edge, tuning: ProxyTuning | None = None) -> str:
    """HAProxy 2.6 configuration of one app's edge on one host."""
    t = tuning or ProxyTuning()
    lines = preamble(f"mason edge of app {edge.app} on {edge.host}", t)
    for r in edge.routes:
        lines += [
            f"# Public port {r.port}: {r.service}, over mTLS to each of its replicas.",
            f"frontend {r.backend}",
            f"    bind :{r.port}",
            f"    default_backend {r.backend}",
            "",
            f"backend {r.backend}",
            "    balance leastconn",
        ]
        for up in r.upstreams:
            lines.append(mtls_server(up.name, up.address, up.port, r.dns_name, t))
        lines.append("")
    return "\n".join(lines)
