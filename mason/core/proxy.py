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
  target's replicas, balancing over them and skipping dead ones. It is bound to
  the proxy's address on the private network only (``PROXY_ALIAS``, resolved at
  start), never to the edge network: whoever reaches it speaks as this service;
- the HAProxy configuration text (:func:`render_haproxy`).

The plan is a small model of its own (:class:`LinkPlan`), built from a plain
mapping (:func:`plan_from_dict`, what playbooks receive) or, for a deploy, from the
apps and their placement (:mod:`mason.core.deploy`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mason.core.errors import InvalidInput
from mason.core.names import check_name
from mason.core.pki import Identity, san_der

INBOUND_PORT = 8443  # inside the proxy container; published at the instance's proxy_port
LINK_PORT_BASE = 15001  # outbound listeners inside the proxy: one per link, in link order
PROXY_PORT_BASE = 20000  # host ports for inbound listeners, assigned per host
PROXY_PORT_LAST = 29999  # ... up to this one (role firewall: firewall_tenants_host_tcp_ports)
PROXY_ALIAS = "mason-proxy"  # the proxy's name on each private network
TLS_DIR = "/etc/haproxy/tls"  # certificate bundle + CA, mounted read-only
# Every mason HAProxy container (sidecars and edges) keeps only these capabilities:
# SETUID/SETGID (workers drop to the haproxy user) and KILL (the root master must
# signal the haproxy-owned old worker after a reload, or it never stops and keeps
# taking connections with the old configuration).
PROXY_CAPABILITIES = ("SETUID", "SETGID", "KILL")
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
SCHEMES = ("tcp", "http", "https", "postgresql", "mysql", "redis", "grpc")
# The pod's shared addon services (postgresql, redis, ...) run as this app; an app that
# lists an addon gets a link to it, the only cross-app link there is.
ADDONS_APP = "addons"
# Each app's per-host public entry (mason.core.edge): the identity its proxies admit
# on services with public ports.
EDGE = "edge"


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
    addons: tuple[str, ...] = ()  # services of the ADDONS_APP this one may call
    public: bool = False  # its app's edge may call it (it has public ports)
    admits: tuple[Identity, ...] = ()  # more identities its inbound listener admits
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
            for addon in s.addons:
                if (ADDONS_APP, addon) not in seen:
                    problems.append(f"{s.app}/{s.service} uses addon {addon!r}, not in the plan")
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
        """Identities admitted by ``s``'s inbound listener: services of its app linking to it,
        its app's edge when it is public, and (an addon) every service that uses it."""
        admitted = {
            self.identity(c) for c in self.services if c.app == s.app and s.service in c.links
        }
        if s.public:
            admitted.add(Identity(self.pod, s.app, EDGE))
        if s.app == ADDONS_APP:
            admitted.update(self.identity(c) for c in self.services if s.service in c.addons)
        admitted.update(s.admits)
        return sorted(admitted)

    def hosts(self) -> list[str]:
        return sorted({r.host for s in self.services for r in s.replicas})


# -- names ------------------------------------------------------------------------
def instance_name(app: str, service: str, replica: int) -> str:
    return f"{app}-{service}-{replica}"


def env_name(service: str) -> str:
    return "MASON_LINK_" + re.sub(r"[^A-Z0-9]", "_", service.upper()) + "_URL"


def link_port(source: ServicePlan, target: str, *, addon: bool = False) -> int:
    """Outbound listener of ``source`` for a link (in link order), then for an addon."""
    if addon:
        return LINK_PORT_BASE + len(source.links) + sorted(source.addons).index(target)
    return LINK_PORT_BASE + sorted(source.links).index(target)


# -- building plans -----------------------------------------------------------------
def assign_proxy_ports(
    plan: LinkPlan, base: int = PROXY_PORT_BASE, taken: Mapping[str, set[int]] | None = None
) -> LinkPlan:
    """Give every replica without a proxy port the lowest free one on its host (deterministic),
    never one in ``taken`` (host -> ports held by containers outside the plan)."""
    used: dict[str, set[int]] = {h: set(ports) for h, ports in (taken or {}).items()}
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
            check_name("service", name, where="link plan")
            services.append(_service_from_dict(app, name, spec, addresses))
    return assign_proxy_ports(LinkPlan(pod, tuple(services)))


def _service_from_dict(app: str, name: str, spec: Any, addresses: Mapping[str, str]) -> ServicePlan:
    """One service of :func:`plan_from_dict`'s plain data."""
    where = f"apps.{app}.{name}"
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"link plan: {where} must be a mapping")
    replicas = _replicas_from_dict(where, spec, addresses)
    scheme = spec.get("scheme", "tcp")
    if scheme not in SCHEMES:
        raise InvalidInput(f"link plan: {where}.scheme {scheme!r}: expected one of {SCHEMES}")
    return ServicePlan(
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


def _replicas_from_dict(
    where: str, spec: Mapping[str, Any], addresses: Mapping[str, str]
) -> list[Replica]:
    """A service's ``replicas`` (or ``hosts``, numbered 1..n), each with its private address."""
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
    return replicas


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
    addon: bool = False

    @property
    def key(self) -> str:
        """Its HAProxy section names: an addon may share a name with one of the app's services."""
        return f"addon_{self.service}" if self.addon else self.service


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
            "proxy_params": proxy_container(),
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
                link.key: {"port": link.listen_port, "env": dict(link.env)} for link in self.links
            },
            "haproxy_cfg": render_haproxy(self),
        }


def instances(plan: LinkPlan, host: str | None = None) -> list[Instance]:
    """Every instance of the plan (or those on ``host``), in a stable order."""
    out = []
    for s in sorted(plan.services, key=lambda s: s.key):
        links = [_outbound(plan, s, name) for name in sorted(s.links)]
        links += [_outbound(plan, s, name, addon=True) for name in sorted(s.addons)]
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


def _outbound(plan: LinkPlan, s: ServicePlan, name: str, *, addon: bool = False) -> OutboundLink:
    """``s``'s outbound listener for a link (or an addon) and the variables naming it.

    An addon's variables come from its catalog entry (mason.core.deploy), not from here.
    """
    target = plan.service(ADDONS_APP if addon else s.app, name)
    port = link_port(s, name, addon=addon)
    base = env_name(name)[: -len("_URL")]
    return OutboundLink(
        service=name,
        scheme=target.scheme,
        listen_port=port,
        dns_name=plan.identity(target).dns_name,
        upstreams=tuple(
            Upstream(f"{name}-{r.replica}", r.address, r.proxy_port) for r in target.replicas
        ),
        env={}
        if addon
        else {
            f"{base}_URL": f"{target.scheme}://{PROXY_ALIAS}:{port}",
            f"{base}_HOST": PROXY_ALIAS,
            f"{base}_PORT": str(port),
        },
        addon=addon,
    )


# -- HAProxy ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxyTuning:
    check_interval_ms: int = 2000
    connect_timeout_ms: int = 2000
    idle_timeout_s: int = 300  # an established connection idle in both directions
    # A client must finish its TLS handshake (or, on a plain listener, be forwarded)
    # within this: HAProxy 2.6 bounds the handshake by "timeout client".
    handshake_timeout_s: int = 10
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


def proxy_container(ports: Iterable[int] = ()) -> dict[str, Any]:
    """How a sidecar or an edge container runs (CIS Docker section 5): read-only root
    with only HAProxy's runtime directory writable, every capability dropped but
    :data:`PROXY_CAPABILITIES` (and NET_BIND_SERVICE for a public port below 1024), no
    new privileges. The roles apply it as given (``proxy_params`` of each instance)."""
    low = ["NET_BIND_SERVICE"] if any(p < 1024 for p in ports) else []
    return {
        "read_only": True,
        "tmpfs": ["/run/haproxy"],
        "cap_drop": ["ALL"],
        "capabilities": [*PROXY_CAPABILITIES, *low],
        "security_opts": ["no-new-privileges"],
    }


def preamble(title: str, tuning: ProxyTuning = ProxyTuning()) -> list[str]:
    """The global and defaults sections every mason HAProxy shares (sidecars and edges)."""
    t = tuning
    return [
        f"# {title}",
        "# Rendered by mason from the deploy plan: do not edit on the host.",
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
        "    # Handshakes and silent clients: bounded; established, idle connections: tunnel.",
        f"    timeout client {t.handshake_timeout_s}s",
        "    timeout client-fin 10s",
        f"    timeout server {t.idle_timeout_s}s",
        f"    timeout tunnel {t.idle_timeout_s}s",
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
    ]


def render_haproxy(inst: Instance, tuning: ProxyTuning = ProxyTuning()) -> str:
    """HAProxy 2.6 configuration of one instance's sidecar."""
    lines = preamble(
        f"mason sidecar for {inst.identity} replica {inst.replica} on {inst.host}", tuning
    )
    lines += _inbound(inst)
    lines += _local_service(inst, tuning)
    for link in inst.links:
        lines += _link_proxy(link, tuning)
    return "\n".join(lines) + "\n"


# Every mTLS hop, both ends: this instance's certificate, the pod CA, and the CA's CRL
# (pki_cert writes crl.pem beside the certificate; a revoked peer is refused).
MTLS = (
    f"ssl crt {TLS_DIR}/proxy.pem ca-file {TLS_DIR}/ca.pem crl-file {TLS_DIR}/crl.pem "
    "verify required"
)


def mtls_server(name: str, address: str, port: int, dns_name: str, t: ProxyTuning) -> str:
    """A server line to a peer's sidecar: mTLS, its name verified, health-checked."""
    return (
        f"    server {name} {address}:{port} {MTLS} verifyhost {dns_name} "
        f"ssl-min-ver TLSv1.3 check inter {t.check_interval_ms}ms fall 2 rise 1"
    )


def _inbound(inst: Instance) -> list[str]:
    """The frontend callers reach: mTLS, and only the identities linked to this service."""
    lines = [
        "# Inbound: TLS 1.3 only, a client certificate from the pod CA, linked identities only.",
        "frontend inbound",
        f"    mode {_mode(inst.scheme)}",
        f"    bind :{INBOUND_PORT} {MTLS} ssl-min-ver TLSv1.3",
        "    # With the local service down, refuse before TLS: callers' checks skip this replica.",
        "    tcp-request connection reject if { nbsrv(service) lt 1 }",
    ]
    if inst.callers:
        lines.append(
            "    # A caller is admitted on its SPIFFE URI SAN (the exact SAN extension the pod CA"
        )
        lines.append("    # issues) and a subject of exactly one CN naming the same identity.")
        admit = []
        for n, caller in enumerate(inst.callers):
            lines.append(
                f"    acl subject_{n} ssl_c_s_dn -m str /CN={_acl_value(caller.common_name)}"
            )
            lines.append(f"    acl uri_{n} ssl_c_der,hex -m sub {san_der(caller).hex().upper()}")
            admit.append(f"subject_{n} uri_{n}")
        lines.append("    tcp-request session reject unless { ssl_c_used } { ssl_c_verify 0 }")
        lines.append("    tcp-request session reject unless " + " || ".join(admit))
    else:
        lines.append("    # No service links to this one: every caller is refused.")
        lines.append("    tcp-request session reject")
    return [*lines, "    default_backend service"]


def _local_service(inst: Instance, t: ProxyTuning) -> list[str]:
    """The backend of the instance's own container, which inbound forwards to."""
    mode = _mode(inst.scheme)
    lines = ["", "backend service", f"    mode {mode}"]
    if mode == "http":
        lines.append("    http-reuse safe")
    lines.append(
        f"    server {inst.service}-{inst.replica} {inst.container}:{inst.service_port} "
        f"check inter {t.check_interval_ms}ms resolvers docker init-addr last,libc,none"
    )
    return lines


def _link_proxy(link: OutboundLink, t: ProxyTuning) -> list[str]:
    """One link: a plain local address for the service, mTLS to the target's replicas."""
    link_mode = _mode(link.scheme)
    lines = [
        "",
        f"# Outbound: {link.service} as a plain local address; mTLS to its replicas.",
        f"frontend link_{link.key}",
        f"    mode {link_mode}",
        f"    bind {PROXY_ALIAS}:{link.listen_port}",
        f"    default_backend link_{link.key}",
        "",
        f"backend link_{link.key}",
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
        lines.append(mtls_server(up.name, up.address, up.port, link.dns_name, t))
    return lines


# -- runtime ------------------------------------------------------------------------------
def backends_down(show_stat: str) -> list[str]:
    """``backend/server`` of every server a proxy does not see UP, from HAProxy's
    ``show stat`` CSV (its admin socket): what a deploy's readiness gate waits on.

    Servers in maintenance or drain were put there on purpose (a rollout) and count as
    ready; a server without checks counts as UP.
    """
    lines = [ln for ln in show_stat.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("# "):
        return [f"unreadable stats: {show_stat[:80]!r}"]
    header = lines[0][2:].split(",")
    try:
        px, sv, st = header.index("pxname"), header.index("svname"), header.index("status")
    except ValueError:
        return ["unreadable stats: no pxname/svname/status columns"]
    down = []
    for line in lines[1:]:
        cols = line.split(",")
        if len(cols) <= max(px, sv, st) or cols[sv] in ("FRONTEND", "BACKEND"):
            continue
        status = cols[st]
        if not (status.startswith("UP") or status in ("no check", "MAINT", "DRAIN")):
            down.append(f"{cols[px]}/{cols[sv]} {status}")
    return down
