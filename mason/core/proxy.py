"""Links and their proxies, in pure Python: from a plan to every sidecar's HAProxy config.

A *link plan* says which service instances run where and which services may
call which (``links``). From it this module derives, for each instance:

- its names on the host: service container ``mason-<app>-<service>-<replica>``,
  proxy ``mason-proxy-<app>-<service>-<replica>``, a private internal network of
  the same name (service and proxy only, so nothing else on the host, not even
  the same app's other services, reaches the service directly) and the app's
  edge network ``mason-edge-<app>`` (proxies only; egress and the published port);
- the inbound listener: published on the host's private address at ``proxy_port``,
  TLS 1.3 only, a client certificate from the pod CA required, and only the
  identities of services that declare a link to this one admitted;
- one outbound listener per link, a plain local address on the private network
  (``MASON_LINK_<SERVICE>_URL``), from which the proxy originates mTLS to the
  target's replicas, balancing over them and skipping dead ones;
- the HAProxy configuration text (:func:`render_haproxy`).

The plan is a small model of its own (:class:`LinkPlan`), built from a plain
mapping (:func:`plan_from_dict`, what playbooks receive) or from the app
manifests plus the placement engine's output (:func:`plan_from_manifests`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mason.core.errors import InvalidInput
from mason.core.names import check_name
from mason.core.pki import Identity

INBOUND_PORT = 8443  # inside the proxy container; published at the instance's proxy_port
LINK_PORT_BASE = 15001  # outbound listeners inside the proxy: one per link, in link order
PROXY_PORT_BASE = 20000  # host ports for inbound listeners, assigned per host
PROXY_ALIAS = "mason-proxy"  # the proxy's name on each private network
TLS_DIR = "/etc/haproxy/tls"  # certificate bundle + CA, mounted read-only
CONFIG_DIR = "/etc/haproxy/mason"
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
SCHEMES = ("tcp", "http", "https", "postgresql", "mysql", "redis", "grpc")


@dataclass(frozen=True, order=True)
class Replica:
    replica: int
    host: str
    address: str = ""  # the host's private address (where the proxy listens)
    proxy_port: int = 0  # host port of the inbound listener (0: assigned by the plan)


@dataclass(frozen=True)
class ServicePlan:
    app: str
    service: str
    port: int  # where the service listens inside its container
    replicas: tuple[Replica, ...]
    links: tuple[str, ...] = ()  # services of the same app this one may call
    image: str = ""
    scheme: str = "tcp"  # only for MASON_LINK_<S>_URL
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.service)


@dataclass(frozen=True)
class LinkPlan:
    pod: str
    services: tuple[ServicePlan, ...]

    def __post_init__(self) -> None:
        check_name("pod", self.pod)
        seen: set[tuple[str, str]] = set()
        for s in self.services:
            if s.key in seen:
                raise InvalidInput(f"link plan: service {s.app}/{s.service} appears twice")
            seen.add(s.key)
        problems = []
        for s in self.services:
            for target in s.links:
                if (s.app, target) not in seen:
                    problems.append(
                        f"{s.app}/{s.service} links to {target!r}, not a service of {s.app}"
                    )
                if target == s.service:
                    problems.append(f"{s.app}/{s.service} links to itself")
        ports: dict[tuple[str, int], str] = {}
        for s in self.services:
            for r in s.replicas:
                if not r.proxy_port:
                    continue
                where = (r.host, r.proxy_port)
                if where in ports:
                    problems.append(
                        f"proxy port {r.proxy_port} on {r.host} is used by {ports[where]} "
                        f"and {s.app}/{s.service}#{r.replica}"
                    )
                ports[where] = f"{s.app}/{s.service}#{r.replica}"
        if problems:
            raise InvalidInput("link plan: " + "; ".join(problems))

    def service(self, app: str, service: str) -> ServicePlan:
        for s in self.services:
            if s.key == (app, service):
                return s
        raise InvalidInput(f"link plan has no service {app}/{service}")

    def identity(self, s: ServicePlan) -> Identity:
        return Identity(self.pod, s.app, s.service)

    def callers(self, s: ServicePlan) -> list[Identity]:
        """Identities admitted by ``s``'s inbound listener: services of its app linking to it."""
        return sorted(
            self.identity(c) for c in self.services if c.app == s.app and s.service in c.links
        )

    def hosts(self) -> list[str]:
        return sorted({r.host for s in self.services for r in s.replicas})


# -- names ------------------------------------------------------------------------
def instance_name(app: str, service: str, replica: int) -> str:
    return f"{app}-{service}-{replica}"


def env_name(service: str) -> str:
    return "MASON_LINK_" + re.sub(r"[^A-Z0-9]", "_", service.upper()) + "_URL"


def link_port(source: ServicePlan, target: str) -> int:
    return LINK_PORT_BASE + sorted(source.links).index(target)


# -- building plans -----------------------------------------------------------------
def assign_proxy_ports(plan: LinkPlan, base: int = PROXY_PORT_BASE) -> LinkPlan:
    """Give every replica without a proxy port the lowest free one on its host (deterministic)."""
    used: dict[str, set[int]] = {}
    for s in plan.services:
        for r in s.replicas:
            if r.proxy_port:
                used.setdefault(r.host, set()).add(r.proxy_port)
    services = []
    for s in sorted(plan.services, key=lambda s: s.key):
        replicas = []
        for r in sorted(s.replicas):
            if not r.proxy_port:
                taken = used.setdefault(r.host, set())
                port = base
                while port in taken:
                    port += 1
                taken.add(port)
                r = Replica(r.replica, r.host, r.address, port)
            replicas.append(r)
        services.append(_replace(s, replicas=tuple(replicas)))
    return LinkPlan(plan.pod, tuple(services))


def _replace(s: ServicePlan, **changes: Any) -> ServicePlan:
    data = {f: getattr(s, f) for f in ServicePlan.__dataclass_fields__}
    data.update(changes)
    return ServicePlan(**data)


def _int(value: Any, where: str, low: int = 1, high: int = 65535) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"link plan: {where} must be an integer from {low} to {high}, got {value!r}"
        )
    return value


def plan_from_dict(
    data: Mapping[str, Any], *, pod: str | None = None, addresses: Mapping[str, str] | None = None
) -> LinkPlan:
    """A plan from plain data (extravars, a YAML plan file)::

        pod: demo                      # or given by the caller
        apps:
          shop:
            web: {port: 8080, image: ..., links: [api], hosts: [demo-h1, demo-h2]}
            api: {port: 8080, replicas: [{replica: 1, host: demo-h2, proxy_port: 20001}]}

    ``hosts`` numbers replicas 1..n in order; ``addresses`` fills each host's private address.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("link plan must be a mapping with 'apps'")
    pod = pod or data.get("pod")
    if not pod:
        raise InvalidInput("link plan: no pod given")
    addresses = dict(addresses or {})
    services = []
    apps = data.get("apps") or {}
    if not isinstance(apps, Mapping):
        raise InvalidInput("link plan: 'apps' must map app names to their services")
    for app, svcs in sorted(apps.items()):
        check_name("app", app, where="link plan")
        if not isinstance(svcs, Mapping):
            raise InvalidInput(f"link plan: apps.{app} must map service names to services")
        for name, spec in sorted(svcs.items()):
            where = f"apps.{app}.{name}"
            check_name("service", name, where="link plan")
            if not isinstance(spec, Mapping):
                raise InvalidInput(f"link plan: {where} must be a mapping")
            raw = spec.get("replicas")
            if raw is None:
                raw = [{"replica": i, "host": h} for i, h in enumerate(spec.get("hosts") or [], 1)]
            replicas = []
            for r in raw:
                host = r.get("host") if isinstance(r, Mapping) else None
                if not host:
                    raise InvalidInput(f"link plan: {where}.replicas: every replica needs a host")
                address = r.get("address") or addresses.get(host, "")
                if not address:
                    raise InvalidInput(f"link plan: {where}: no private address for host {host!r}")
                replicas.append(
                    Replica(
                        _int(r.get("replica"), f"{where} replica number", high=10_000),
                        host,
                        address,
                        _int(r["proxy_port"], f"{where} proxy_port") if r.get("proxy_port") else 0,
                    )
                )
            if not replicas:
                raise InvalidInput(f"link plan: {where} has no replicas")
            scheme = spec.get("scheme", "tcp")
            if scheme not in SCHEMES:
                raise InvalidInput(
                    f"link plan: {where}.scheme {scheme!r}: expected one of {SCHEMES}"
                )
            services.append(
                ServicePlan(
                    app=app,
                    service=name,
                    port=_int(spec.get("port"), f"{where}.port"),
                    replicas=tuple(sorted(replicas)),
                    links=tuple(dict.fromkeys(spec.get("links") or ())),
                    image=str(spec.get("image") or ""),
                    scheme=scheme,
                    command=tuple(spec.get("command") or ()),
                    env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
                )
            )
    return assign_proxy_ports(LinkPlan(pod, tuple(services)))


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


# -- what runs on a host --------------------------------------------------------------
@dataclass(frozen=True)
class Upstream:
    name: str  # server name in HAProxy: <service>-<replica>
    address: str
    port: int


@dataclass(frozen=True)
class OutboundLink:
    service: str  # the target service (same app)
    scheme: str
    listen_port: int
    dns_name: str  # what the target's certificate must name
    upstreams: tuple[Upstream, ...]
    env: Mapping[str, str]


@dataclass(frozen=True)
class Instance:
    """One service replica and its proxy, as the mtls_proxy role lays them out on a host."""

    pod: str
    app: str
    service: str
    replica: int
    host: str
    address: str
    proxy_port: int
    service_port: int
    identity: Identity
    callers: tuple[Identity, ...]
    links: tuple[OutboundLink, ...]
    image: str = ""
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "tcp"

    @property
    def name(self) -> str:
        return instance_name(self.app, self.service, self.replica)

    @property
    def container(self) -> str:
        return f"mason-{self.name}"

    @property
    def proxy_container(self) -> str:
        return f"mason-proxy-{self.name}"

    @property
    def network(self) -> str:
        return f"mason-{self.name}"

    @property
    def edge_network(self) -> str:
        return f"mason-edge-{self.app}"

    def service_env(self) -> dict[str, str]:
        """The service container's environment: its own, who it is, and its links."""
        env = dict(self.env)
        env.update(
            {
                "MASON_POD": self.pod,
                "MASON_APP": self.app,
                "MASON_SERVICE": self.service,
                "MASON_REPLICA": str(self.replica),
                "MASON_HOST": self.host,
            }
        )
        for link in self.links:
            env.update(link.env)
        return env

    def labels(self) -> dict[str, str]:
        return {
            "mason.pod": self.pod,
            "mason.app": self.app,
            "mason.service": self.service,
            "mason.replica": str(self.replica),
            "mason.identity": self.identity.spiffe_id,
        }

    def to_dict(self) -> dict[str, Any]:
        """What the role receives (plain data; the config text included)."""
        return {
            "name": self.name,
            "pod": self.pod,
            "app": self.app,
            "service": self.service,
            "replica": self.replica,
            "host": self.host,
            "address": self.address,
            "proxy_port": self.proxy_port,
            "inbound_port": INBOUND_PORT,
            "service_port": self.service_port,
            "container": self.container,
            "proxy_container": self.proxy_container,
            "network": self.network,
            "edge_network": self.edge_network,
            "image": self.image,
            "command": list(self.command),
            "env": self.service_env(),
            "labels": self.labels(),
            "identity": self.identity.spiffe_id,
            "common_name": self.identity.common_name,
            "dns_name": self.identity.dns_name,
            "callers": [c.spiffe_id for c in self.callers],
            "links": {
                link.service: {"port": link.listen_port, "env": dict(link.env)}
                for link in self.links
            },
            "haproxy_cfg": render_haproxy(self),
        }


def instances(plan: LinkPlan, host: str | None = None) -> list[Instance]:
    """Every instance of the plan (or those on ``host``), in a stable order."""
    out = []
    for s in sorted(plan.services, key=lambda s: s.key):
        links = []
        for target_name in sorted(s.links):
            target = plan.service(s.app, target_name)
            port = link_port(s, target_name)
            base = env_name(target_name)[: -len("_URL")]
            links.append(
                OutboundLink(
                    service=target_name,
                    scheme=target.scheme,
                    listen_port=port,
                    dns_name=plan.identity(target).dns_name,
                    upstreams=tuple(
                        Upstream(f"{target_name}-{r.replica}", r.address, r.proxy_port)
                        for r in target.replicas
                    ),
                    env={
                        f"{base}_URL": f"{target.scheme}://{PROXY_ALIAS}:{port}",
                        f"{base}_HOST": PROXY_ALIAS,
                        f"{base}_PORT": str(port),
                    },
                )
            )
        for r in s.replicas:
            if host is not None and r.host != host:
                continue
            if not r.proxy_port:
                raise InvalidInput(
                    f"{s.app}/{s.service}#{r.replica} has no proxy port (assign_proxy_ports)"
                )
            out.append(
                Instance(
                    pod=plan.pod,
                    app=s.app,
                    service=s.service,
                    replica=r.replica,
                    host=r.host,
                    address=r.address,
                    proxy_port=r.proxy_port,
                    service_port=s.port,
                    identity=plan.identity(s),
                    callers=tuple(plan.callers(s)),
                    links=tuple(links),
                    image=s.image,
                    command=s.command,
                    env=s.env,
                    scheme=s.scheme,
                )
            )
    return out


# -- HAProxy ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxyTuning:
    check_interval_ms: int = 2000
    connect_timeout_ms: int = 2000
    idle_timeout_s: int = 300
    hard_stop_after_s: int = 60  # old workers after a reload finish within this
    maxconn: int = 4096


def _acl_value(cn: str) -> str:
    # CNs are spiffe://<dns labels>/... or mason:<hex>: no spaces or quotes to escape.
    if not re.fullmatch(r"[A-Za-z0-9:/._-]+", cn):
        raise InvalidInput(f"unexpected characters in common name {cn!r}")
    return cn


def _mode(scheme: str) -> str:
    """HTTP links run in HTTP mode (pooled, reused mTLS connections); all others in TCP mode."""
    return "http" if scheme == "http" else "tcp"


def render_haproxy(inst: Instance, tuning: ProxyTuning = ProxyTuning()) -> str:
    """HAProxy 2.6 configuration of one instance's sidecar."""
    t = tuning
    tls = f"{TLS_DIR}/proxy.pem"
    ca = f"{TLS_DIR}/ca.pem"
    mode = _mode(inst.scheme)
    lines = [
        f"# mason sidecar for {inst.identity} replica {inst.replica} on {inst.host}",
        "# Rendered by mason.core.proxy from the link plan: do not edit on the host.",
        "global",
        "    log stdout format raw daemon notice",
        f"    maxconn {t.maxconn}",
        "    user haproxy",
        "    group haproxy",
        f"    hard-stop-after {t.hard_stop_after_s}s",
        "    # Master-worker reloads pass listening sockets to the new worker through this.",
        "    stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners",
        "    ssl-default-bind-options ssl-min-ver TLSv1.3",
        f"    ssl-default-bind-ciphersuites {TLS13_SUITES}",
        "    ssl-default-server-options ssl-min-ver TLSv1.3",
        f"    ssl-default-server-ciphersuites {TLS13_SUITES}",
        "    ssl-server-verify required",
        "",
        "defaults",
        "    mode tcp",
        "    log global",
        "    option dontlognull",
        f"    timeout connect {t.connect_timeout_ms}ms",
        f"    timeout client {t.idle_timeout_s}s",
        f"    timeout server {t.idle_timeout_s}s",
        f"    timeout check {t.connect_timeout_ms}ms",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 60s",
        "    retries 3",
        "    option redispatch 1",
        "",
        "resolvers docker",
        "    nameserver dns 127.0.0.11:53",
        "    hold valid 5s",
        "",
        "# Inbound: TLS 1.3 only, a client certificate from the pod CA, linked identities only.",
        "frontend inbound",
        f"    mode {mode}",
        f"    bind :{INBOUND_PORT} ssl crt {tls} ca-file {ca} verify required ssl-min-ver TLSv1.3",
        "    # With the local service down, refuse before TLS: callers' checks skip this replica.",
        "    tcp-request connection reject if { nbsrv(service) lt 1 }",
    ]
    if inst.callers:
        names = " ".join(_acl_value(c.common_name) for c in inst.callers)
        lines.append(f"    acl linked ssl_c_s_dn(CN) -m str {names}")
        lines.append(
            "    tcp-request session reject unless { ssl_c_used } { ssl_c_verify 0 } linked"
        )
    else:
        lines.append("    # No service links to this one: every caller is refused.")
        lines.append("    tcp-request session reject")
    lines += [
        "    default_backend service",
        "",
        "backend service",
        f"    mode {mode}",
    ]
    if mode == "http":
        lines.append("    http-reuse safe")
    lines.append(
        f"    server {inst.service}-{inst.replica} {inst.container}:{inst.service_port} "
        f"check inter {t.check_interval_ms}ms resolvers docker init-addr last,libc,none"
    )
    for link in inst.links:
        link_mode = _mode(link.scheme)
        lines += [
            "",
            f"# Outbound: {link.service} as a plain local address; mTLS to its replicas.",
            f"frontend link_{link.service}",
            f"    mode {link_mode}",
            f"    bind :{link.listen_port}",
            f"    default_backend link_{link.service}",
            "",
            f"backend link_{link.service}",
            f"    mode {link_mode}",
            "    balance leastconn",
        ]
        if link_mode == "http":
            # Pooled mTLS connections: one caller identity per pool, so "always"
            # is safe, and a request on a connection the peer just closed (a
            # reload) is replayed on another one.
            lines.append("    http-reuse always")
            lines.append("    retry-on conn-failure empty-response")
        for up in link.upstreams:
            lines.append(
                f"    server {up.name} {up.address}:{up.port} ssl crt {tls} ca-file {ca} "
                f"verify required verifyhost {link.dns_name} ssl-min-ver TLSv1.3 "
                f"check inter {t.check_interval_ms}ms fall 2 rise 1"
            )
    return "\n".join(lines) + "\n"


def render_all(plan: LinkPlan, hosts: Sequence[str] | None = None) -> dict[str, str]:
    """Every instance's config by instance name (for review and tests)."""
    wanted = set(hosts) if hosts else None
    return {
        i.name: render_haproxy(i) for i in instances(plan) if wanted is None or i.host in wanted
    }
