"""Deploying an app onto a pod, in pure Python: from what runs to what must run.

The inputs are the validated manifest, the catalog's addon contracts, the pod's
hosts, what already runs there (a *survey*: mason's container labels, read back
from every host's engine) and the images by digest. The output is a
:class:`DeployPlan`: the placement (stable against what runs), every instance
with its sidecar and container settings, the app's edge on each host, the
containers to remove, and a per-host diff for the user to confirm. The plan's
:meth:`DeployPlan.extravars` is all ``playbooks/deploy.yml`` needs, so AWX runs
the same playbook with the same plan.

Container settings follow the CIS Docker Benchmark, section 5 (see
:func:`container_params`); secrets never enter the plan: an addon's password is a
placeholder (:func:`secret_token`) that the role fills on the host.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mason.core import posture, rollout
from mason.core.catalog import Addon
from mason.core.edge import edges as make_edges
from mason.core.errors import InvalidInput
from mason.core.manifest.model import App, Service
from mason.core.pki import Identity
from mason.core.placement import (
    KEEP,
    MOVE,
    NEW,
    REMOVE,
    Allocation,
    HostSpec,
    Plan,
    plan,
    requests_from_app,
)
from mason.core.proxy import (
    ADDONS_APP,
    EDGE,
    PROXY_PORT_BASE,
    LinkPlan,
    Replica,
    ServicePlan,
    assign_proxy_ports,
    instances,
    link_port,
)

SERVICE, PROXY = "service", "proxy"  # mason.part of a replica's two containers
PIDS_LIMIT = 512  # CIS Docker 5.28: a fork bomb stays in its container
APPARMOR_PROFILE = posture.APPARMOR_PROFILE  # loaded by the apparmor role (else docker-default)
HARDENED_MARKER = "/etc/mason/hardened.json"
UPDATE = "update"  # same host, new settings or image: the replica is replaced in place
SECRET_PREFIX, SECRET_SUFFIX = "@@mason-secret:", "@@"
# Service names mason gives a meaning of its own.
RESERVED_SERVICES = (EDGE,)
RESERVED_APPS = (ADDONS_APP,)


# -- what runs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Running:
    """One mason container found on a host (labels read back by playbooks/survey.yml)."""

    host: str
    name: str
    app: str
    part: str  # service, proxy, edge
    service: str = ""
    replica: int = 0
    release: int = 0
    config: str = ""  # hash of the settings it was started with
    image: str = ""  # the reference it was started from (by digest)
    ref: str = ""  # the image reference docker reports (sidecars and edges carry no label)
    state: str = ""  # docker's: running, exited, restarting, ...
    health: str = ""  # healthy, unhealthy, starting, or "" without a healthcheck
    started: str = ""
    cpu: int = 0
    memory: int = 0
    proxy_port: int = 0
    addons: tuple[str, ...] = ()
    public: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.app, self.service, self.replica)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _csv(value: Any) -> tuple[str, ...]:
    return tuple(v for v in str(value or "").split(",") if v)


def parse_survey(per_host: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Running]:
    """Containers from the survey's lines (``docker inspect`` formatted as JSON objects)."""
    found = []
    for host, rows in sorted(per_host.items()):
        for row in rows:
            labels = row.get("labels") or {}
            if not isinstance(labels, Mapping) or not labels.get("mason.app"):
                continue
            found.append(
                Running(
                    host=host,
                    name=str(row.get("name", "")).lstrip("/"),
                    app=labels["mason.app"],
                    part=labels.get("mason.part", ""),
                    service=labels.get("mason.service", ""),
                    replica=_int(labels.get("mason.replica")),
                    release=_int(labels.get("mason.release")),
                    config=labels.get("mason.config", ""),
                    image=labels.get("mason.image", ""),
                    ref=str(row.get("ref") or ""),
                    state=str(row.get("state", "")),
                    health=str(row.get("health", "")),
                    started=str(row.get("started", "")),
                    cpu=_int(labels.get("mason.cpu")),
                    memory=_int(labels.get("mason.memory")),
                    proxy_port=_int(labels.get("mason.proxy_port")),
                    addons=_csv(labels.get("mason.addons")),
                    public=tuple(_int(p) for p in _csv(labels.get("mason.public"))),
                )
            )
    return sorted(found, key=lambda r: (r.app, r.service, r.replica, r.host, r.part))


def allocations(running: Sequence[Running]) -> list[Allocation]:
    """What runs, as placement sees it: every replica with the resources it was given
    (not its public ports, which its app's edge holds: see ``requests_from_app``)."""
    return [
        Allocation(
            app=r.app,
            service=r.service,
            replica=r.replica,
            host=r.host,
            cpu=r.cpu,
            memory=r.memory,
        )
        for r in running
        if r.part == SERVICE
    ]


# -- container settings ----------------------------------------------------------------------
def healthcheck(svc: Service) -> dict[str, Any] | None:
    hc = svc.healthcheck
    if hc is None:
        return None
    test = list(hc.test)
    if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        test = ["CMD", *test]
    return {
        "test": test,
        "interval": f"{hc.interval_ms}ms",
        "timeout": f"{hc.timeout_ms}ms",
        "retries": hc.retries,
        "start_period": f"{hc.start_period_ms}ms",
    }


def volume_name(app: str, service: str, source: str) -> str:
    return f"mason-{app}-{service}-{source}"


def container_params(app: str, svc: Service) -> dict[str, Any]:
    """``community.docker.docker_container`` settings of a service's containers.

    CIS Docker Benchmark section 5: all capabilities dropped but those declared
    (5.3), no privileged mode (5.4), no host namespaces (5.9, 5.15-5.17, 5.21:
    never set), memory and cpu limits (5.10, 5.11), read-only root (5.12) unless
    the service opts out, no-new-privileges (5.25), a pids limit (5.28), an
    AppArmor profile (5.1), never the Docker socket (volumes are named volumes only,
    checked by the manifest), a healthcheck when the service has one (5.26).
    The restart policy is ``unless-stopped`` rather than 5.14's ``on-failure:5``:
    a rebooted host must bring its containers back by itself. Docker's init runs as
    PID 1: it reaps zombies and passes the stop signal on, so a program that sets no
    handler of its own still stops when asked (as PID 1 the kernel would ignore it,
    and every stop of a rollout, scale or heal would wait out the 10 s kill timeout).
    """
    sec = svc.security
    params: dict[str, Any] = {
        "cap_drop": ["ALL"],
        "capabilities": list(sec.capabilities),
        "read_only": sec.read_only,
        # An in-container tmpfs, not the host's /tmp.
        "tmpfs": ["/tmp:rw,noexec,nosuid,size=64m,mode=1777"]  # noqa: S108
        + [f"{p}:rw,nosuid,size=64m,mode=1777" for p in sec.tmpfs],
        "memory": str(svc.memory),
        "memory_swap": str(svc.memory),
        "cpus": round(svc.cpu / 1000, 3),
        "pids_limit": PIDS_LIMIT,
        "privileged": False,
        "init": True,
        "restart_policy": "unless-stopped",
        "mounts": [
            {
                "type": "volume",
                "source": volume_name(app, svc.name, v.source),
                "target": v.target,
                "read_only": v.read_only,
            }
            for v in svc.volumes
        ],
    }
    if sec.user:
        params["user"] = sec.user
    check = healthcheck(svc)
    if check is not None:
        params["healthcheck"] = check
    return params


def config_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def proxy_config_hash(haproxy_cfg: str) -> str:
    """What `sha256sum` says of a sidecar's haproxy.cfg on its host (playbooks/survey.yml)."""
    return hashlib.sha256(haproxy_cfg.encode()).hexdigest()


def secret_token(addon: str) -> str:
    """Where an addon's password goes in an environment value; filled on the host."""
    return f"{SECRET_PREFIX}{addon}{SECRET_SUFFIX}"


def fill_secrets(env: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """``env`` with every :func:`secret_token` replaced by its secret (on the host only)."""
    out = {}
    for key, value in env.items():
        for addon, secret in secrets.items():
            value = value.replace(secret_token(addon), secret)
        if SECRET_PREFIX in value:
            missing = value.split(SECRET_PREFIX)[1].split(SECRET_SUFFIX)[0]
            raise InvalidInput(f"{key}: no secret for addon {missing}")
        out[key] = value
    return out


# -- the plan --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PodHost:
    name: str
    zone: str
    address: str  # private address: where proxies listen
    cpu: int  # millicores
    memory: int
    role: str = "worker"
    labels: Mapping[str, str] = field(default_factory=dict)

    def spec(self) -> HostSpec:
        return HostSpec(self.name, self.zone, self.cpu, self.memory, self.role, dict(self.labels))


@dataclass(frozen=True)
class Change:
    host: str
    app: str
    service: str
    replica: int
    action: str  # new, keep, update, move, remove
    previous_host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "app": self.app,
            "service": self.service,
            "replica": self.replica,
            "action": self.action,
            "previous_host": self.previous_host,
        }


@dataclass
class DeployPlan:
    pod: str
    app: str
    release: int
    placement: Plan  # the app's and its addons' containers
    instances: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    remove: list[Running]
    changes: list[Change]
    addons: dict[str, dict[str, Any]]  # addon -> {instance, database/user of this app}
    images: dict[str, str]
    batches: list[rollout.Batch] = field(default_factory=list)  # the app's changed replicas
    posture: dict[str, dict[str, Any]] = field(default_factory=dict)  # mason.core.posture.of_app

    def record(self, manifest_hash: str, kind: str = "deploy", note: str = "") -> dict[str, Any]:
        """The ledger record of this release (roles/app_ledger adds number, who, hashes)."""
        mine = [i for i in self.instances if i["app"] == self.app]
        placement: dict[str, list[dict[str, Any]]] = {}
        for i in sorted(mine, key=lambda i: (i["service"], i["replica"])):
            placement.setdefault(i["service"], []).append(
                {"replica": i["replica"], "host": i["host"], "zone": i["zone"]}
            )
        return {
            "kind": kind,
            "manifest_hash": manifest_hash,
            "images": {i["service"]: i["image"] for i in mine},
            "placement": placement,
            "note": note,
            "posture": self.posture,
        }

    @property
    def unplaced(self) -> list[Any]:
        return list(self.placement.unplaced)

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in (NEW, UPDATE, MOVE, KEEP, REMOVE)}
        for c in self.changes:
            out[c.action] += 1
        return out

    @property
    def changes_anything(self) -> bool:
        """Anything to do on the pod: a replica (the app's or an addon's), an edge, a removal."""
        return (
            any(i["action"] != KEEP or i.get("reload") for i in self.instances)
            or any(e["action"] != KEEP for e in self.edges)
            or bool(self.remove)
        )

    @property
    def reloads(self) -> list[str]:
        """Kept replicas whose sidecar gets a new configuration (a peer moved): reloaded."""
        return [i["name"] for i in self.instances if i.get("reload")]

    def extravars(self) -> dict[str, Any]:
        """What deploy.yml takes (``mason_deploy``): plain data, no secrets."""
        return {
            "mason_deploy": {
                "pod": self.pod,
                "app": self.app,
                "release": self.release,
                "instances": self.instances,
                "batches": [
                    [f"{self.app}-{step.service}-{step.replica}" for step in batch]
                    for batch in self.batches
                ],
                # replicas updated in place whose new container starts beside the old one
                "start_first": [
                    f"{self.app}-{step.service}-{step.replica}"
                    for batch in self.batches
                    for step in batch
                    if step.mode == rollout.START_FIRST and step.old_host == step.host
                ],
                "edges": self.edges,
                "addons": self.addons,
                "remove": [
                    {
                        "host": r.host,
                        "name": r.name,
                        "part": r.part,
                        "service": r.service,
                        "replica": r.replica,
                    }
                    for r in self.remove
                ],
            }
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "app": self.app,
            "release": self.release,
            "changes": [c.to_dict() for c in self.changes],
            "counts": self.counts(),
            "reload": self.reloads,
            "rollout": rollout.describe(self.batches),
            "images": dict(self.images),
            "unplaced": [
                {"service": u.service, "replica": u.replica, "reasons": list(u.reasons)}
                for u in self.unplaced
            ],
            "survival": [vars(s) for s in self.placement.survival],
        }


def check_app(app: App) -> None:
    """What deploy needs beyond a valid manifest."""
    if app.name in RESERVED_APPS:
        raise InvalidInput(f"{app.source or app.name}: app name {app.name!r} is reserved by mason")
    for svc in app.services.values():
        where = f"{app.source or app.name}: services.{svc.name}"
        if svc.name in RESERVED_SERVICES:
            raise InvalidInput(f"{where}: the service name {svc.name!r} is reserved by mason")
        if not svc.ports:
            raise InvalidInput(
                f"{where}.ports: a deployed service needs a port (its proxy forwards to the first)"
            )
        for p in svc.ports[1:]:
            if p.public is not None:
                raise InvalidInput(
                    f"{where}.ports: only the first port can be public "
                    f"(the edge reaches a service through its proxy, which forwards to it)"
                )
        if svc.ports[0].protocol != "tcp":
            raise InvalidInput(f"{where}.ports[0]: deployed services speak tcp")


def stale_copies(running: Sequence[Running]) -> list[Running]:
    """Containers of a replica that runs on two hosts, all but one copy: a host that comes
    back after `mason pod heal` started its replicas elsewhere still runs the old ones.
    The copy of the newest release stays (then the running one, then the first host)."""
    copies: dict[tuple[str, str, int], list[Running]] = {}
    for r in running:
        if r.part == SERVICE:
            copies.setdefault(r.key, []).append(r)
    stale_at: set[tuple[tuple[str, str, int], str]] = set()
    for key, found in copies.items():
        found.sort(key=lambda r: (-r.release, r.state != "running", r.host))
        stale_at.update((key, r.host) for r in found[1:])
    return [r for r in running if r.part in (SERVICE, PROXY) and (r.key, r.host) in stale_at]


def unrecorded(
    running: Sequence[Running], app: str, recorded: Mapping[str, Collection[tuple[int, str]]]
) -> list[Running]:
    """The app's replicas (service and sidecar) that run where its newest release does
    not place them: a host that came back after a heal runs a replica that release runs
    elsewhere or no longer runs at all (heal placed the lost one under another number).
    ``recorded`` maps each service to its (replica, host) pairs in that release."""
    return [
        r
        for r in running
        if r.app == app
        and r.part in (SERVICE, PROXY)
        and (r.replica, r.host) not in recorded.get(r.service, ())
    ]


def _release_of(running: Sequence[Running], app: str) -> int:
    return max((r.release for r in running if r.app == app), default=0)


@dataclass(frozen=True)
class _Placed:
    """Where the app and its addons go, and what runs on the pod's hosts now."""

    by_name: dict[str, PodHost]
    live: list[Running]  # what runs, less stale copies
    stale: list[Running]  # copies a returning host still runs (stale_copies)
    addon_services: dict[str, Service]
    placement: Any  # mason.core.placement's plan
    # host -> (millicores, bytes) left once the plan runs: room for a second copy of a
    # replica while it is updated (start-first)
    free: dict[str, tuple[int, int]]


def _place(
    app: App,
    hosts: Sequence[PodHost],
    running: Sequence[Running],
    addon_entries: Mapping[str, tuple[Service, Addon]],
    time_limit: float,
    recorded: Mapping[str, Collection[tuple[int, str]]] | None = None,
) -> _Placed:
    """Place the app's containers and the addons it uses (one shared service each),
    stable against what runs; addons this app does not use only take room. Copies a
    returning host still runs (two of a replica, or one its newest release does not
    place, when ``recorded`` is known) are stale: removed, never placed around."""
    missing = [a for a in app.addons if a not in addon_entries]
    if missing:
        raise InvalidInput(f"{app.source or app.name}: addons: unknown addon {missing[0]!r}")
    by_name = {h.name: h for h in hosts}
    present = [r for r in running if r.host in by_name]
    stale = stale_copies(present)
    if recorded is not None:
        stale += [r for r in unrecorded(present, app.name, recorded) if r not in stale]
    live = [r for r in present if r not in stale]
    _check_public_ports(app, live)
    addon_services = {name: addon_entries[name][0] for name in app.addons}
    current = [
        replace(a, app=f"{ADDONS_APP}.other")
        if a.app == ADDONS_APP and a.service not in addon_services
        else a
        for a in allocations(live)
    ]
    requests = requests_from_app(app)
    if addon_services:
        requests += requests_from_app(App(name=ADDONS_APP, services=addon_services))
    placement = plan([h.spec() for h in hosts], requests, current, time_limit=time_limit)
    free = _free(app, hosts, current, placement, addon_services)
    return _Placed(by_name, live, stale, addon_services, placement, free)


def _free(
    app: App,
    hosts: Sequence[PodHost],
    current: Sequence[Allocation],
    placement: Any,
    addon_services: Mapping[str, Service],
) -> dict[str, tuple[int, int]]:
    """host -> (millicores, bytes) left once the plan runs: what other apps hold, plus
    what the app and its addons are placed with (as their manifests ask now)."""
    used = {h.name: [0, 0] for h in hosts}
    for a in current:
        if a.app not in (app.name, ADDONS_APP) and a.host in used:
            used[a.host][0] += a.cpu
            used[a.host][1] += a.memory
    for p in placement.placements:
        svc = (app.services if p.app == app.name else addon_services).get(p.service)
        if p.action != REMOVE and svc is not None and p.host in used:
            used[p.host][0] += svc.cpu
            used[p.host][1] += svc.memory
    return {h.name: (h.cpu - used[h.name][0], h.memory - used[h.name][1]) for h in hosts}


def _action(before: Running | None, same: bool, host: str, row: Any) -> str:
    """What happens to one replica: kept, updated in place, moved, or new."""
    if same:
        return KEEP
    if before is not None and before.host == host:
        return UPDATE
    if row is not None and row.action == MOVE:
        return MOVE
    return NEW


def _instance(
    inst: Any,
    *,
    app: App,
    svc: Service,
    image: str,
    env: dict[str, str],
    proxy_image: str,
    before: Running | None,
    row: Any,
    release: int,
    zone: str,
    proxy_configs: Mapping[tuple[str, str], str] | None,
) -> dict[str, Any]:
    """What deploy.yml runs for one replica (its container, sidecar and labels), and
    what happens to it (``action``, ``reload``)."""
    data = inst.to_dict()
    settings = {
        "image": image,
        "command": list(svc.command),
        "env": env,
        "params": container_params(inst.app, svc),
        "proxy_image": proxy_image,
        "proxy_port": inst.proxy_port,
        "haproxy_cfg": data["haproxy_cfg"],
    }
    # The service container's own settings: its sidecar's configuration (where its
    # links point) changes when a peer moves, and is reloaded, never a restart.
    config = config_hash({k: settings[k] for k in ("image", "command", "env", "params")})
    same = before is not None and before.host == inst.host and before.config == config
    reload = (
        same
        and proxy_configs is not None
        and proxy_configs.get((inst.host, inst.name)) != proxy_config_hash(data["haproxy_cfg"])
    )
    # An unchanged replica keeps its release label: its container is left alone.
    inst_release = before.release if same and before is not None else release
    labels = dict(data["labels"])
    labels.update(
        {
            "mason.release": str(inst_release),
            "mason.config": config,
            "mason.image": image,
            "mason.cpu": str(svc.cpu),
            "mason.memory": str(svc.memory),
            "mason.proxy_port": str(inst.proxy_port),
        }
    )
    if inst.app == app.name and app.addons:
        labels["mason.addons"] = ",".join(app.addons)
    if inst.app == app.name and svc.public_ports:
        labels["mason.public"] = ",".join(str(p) for p, _ in svc.public_ports)
    # The sidecar and the private network carry only who the replica is: a new image
    # or setting replaces the service container, never its proxy (which reloads).
    proxy_labels = {**data["labels"], "mason.proxy_port": str(inst.proxy_port)}
    data.update(settings)
    data.update(
        {
            "labels": proxy_labels,
            "service_labels": labels,
            "action": _action(before, same, inst.host, row),
            "release": inst_release,
            "reload": reload,
            "zone": zone,
        }
    )
    return data


def _removals(
    app: App, placed: _Placed, insts: Sequence[Mapping[str, Any]], changes: list[Change]
) -> list[Running]:
    """The app's containers the plan no longer has (and stale copies of it and of the
    addons); a replica removed, not moved, is a REMOVE change."""
    planned = {(i["app"], i["service"], i["replica"], i["host"]) for i in insts}
    remove = [
        r
        for r in placed.live
        if r.app == app.name
        and r.part in (SERVICE, PROXY)
        and (r.app, r.service, r.replica, r.host) not in planned
    ] + [
        # a stale copy where the plan places that very replica is replaced in place by
        # it (same container names): removing it last would remove the new one
        r
        for r in placed.stale
        if r.app in (app.name, ADDONS_APP) and (r.app, r.service, r.replica, r.host) not in planned
    ]
    moved = {(c.service, c.replica) for c in changes if c.action == MOVE}
    for r in remove:
        if r.part == SERVICE and r.app == app.name and (r.service, r.replica) not in moved:
            changes.append(Change(r.host, r.app, r.service, r.replica, REMOVE))
    return remove


def _edges(
    app: App, link_plan: Any, placed: _Placed, changes: Sequence[Change]
) -> tuple[list[dict[str, Any]], list[Running]]:
    """The app's edge on every host (to placed services only: an app that does not fit
    is refused by the caller), and the edges to remove when it has no public port."""
    names = {svc.service for svc in link_plan.services if svc.app == app.name}
    public = {
        s.name: [p for p, _ in s.public_ports]
        for s in app.services.values()
        if s.public_ports and s.name in names
    }
    edge_list = [
        e.to_dict() for e in make_edges(link_plan, app.name, public, sorted(placed.by_name))
    ]
    # An edge's configuration changes only with the set of replicas behind it; it is
    # reloaded then, never recreated (its labels do not carry the configuration).
    running = [r for r in placed.live if r.app == app.name and r.part == EDGE]
    moved = any(c.action in (NEW, MOVE, REMOVE) for c in changes)
    for e in edge_list:
        e["action"] = KEEP if e["host"] in {r.host for r in running} and not moved else UPDATE
    return edge_list, ([] if edge_list else running)


def _instances(
    app: App,
    link_plan: LinkPlan,
    placed: _Placed,
    addon_entries: Mapping[str, tuple[Service, Addon]],
    images: Mapping[str, str],
    proxy_image: str,
    release: int,
    proxy_configs: Mapping[tuple[str, str], str] | None,
) -> tuple[list[dict[str, Any]], list[Change]]:
    """Every replica of the app and of the addons it uses, as the plan runs it, and the
    change each of the app's own replicas makes."""
    addon_services = placed.addon_services
    ours = {(app.name, s) for s in app.services} | {(ADDONS_APP, s) for s in addon_services}
    previous = {r.key: r for r in placed.live if r.part == SERVICE}
    rows = {(p.app, p.service, p.replica): p for p in placed.placement.placements}
    insts: list[dict[str, Any]] = []
    changes: list[Change] = []
    for inst in instances(link_plan):
        if (inst.app, inst.service) not in ours:
            continue
        mine = inst.app == app.name
        svc = app.services[inst.service] if mine else addon_services[inst.service]
        image_key = inst.service if mine else f"{ADDONS_APP}/{inst.service}"
        if image_key not in images:
            raise InvalidInput(f"no image for {inst.app}/{inst.service}")
        env = dict(inst.service_env())
        if mine:
            env.update(_addon_env(app, link_plan, inst.service, addon_entries))
        key = (inst.app, inst.service, inst.replica)
        before = previous.get(key)
        data = _instance(
            inst,
            app=app,
            svc=svc,
            image=images[image_key],
            env=env,
            proxy_image=proxy_image,
            before=before,
            row=rows.get(key),
            release=release,
            zone=placed.by_name[inst.host].zone,
            proxy_configs=proxy_configs,
        )
        insts.append(data)
        if mine:
            action = data["action"]
            prev_host = before.host if before is not None and action == MOVE else None
            changes.append(
                Change(inst.host, inst.app, inst.service, inst.replica, action, prev_host)
            )
    return insts, changes


def build_plan(
    *,
    pod: str,
    app: App,
    hosts: Sequence[PodHost],
    running: Sequence[Running],
    images: Mapping[str, str],
    proxy_image: str,
    addon_entries: Mapping[str, tuple[Service, Addon]] | None = None,
    time_limit: float = 2.0,
    latest_release: int | None = None,
    max_parallel: int = 1,
    proxy_configs: Mapping[tuple[str, str], str] | None = None,
    recorded: Mapping[str, Collection[tuple[int, str]]] | None = None,
) -> DeployPlan:
    """The deploy plan of ``app`` (see the module docstring).

    ``recorded`` maps each of the app's services to the (replica, host) pairs its newest
    release placed (None: no release yet); the app's containers found elsewhere are
    stale copies, removed.

    ``proxy_configs`` maps (host, instance) to the sha256 of the sidecar configuration
    found there (the survey's): a kept replica whose sidecar must change is reloaded.

    ``images`` maps each service (and ``addons/<name>`` for addon services) to its
    reference by digest; ``addon_entries`` maps each addon the app lists to its
    catalog service template and contract.
    """
    check_app(app)
    addon_entries = dict(addon_entries or {})
    placed = _place(app, hosts, running, addon_entries, time_limit, recorded)
    live, addon_services = placed.live, placed.addon_services
    # The ledger's numbering when it is known, else what the containers' labels say.
    release = (latest_release if latest_release is not None else _release_of(live, app.name)) + 1
    link_plan = _link_plan(
        pod, app, addon_services, placed.placement, placed.by_name, live, placed.stale
    )
    insts, changes = _instances(
        app, link_plan, placed, addon_entries, images, proxy_image, release, proxy_configs
    )
    remove = _removals(app, placed, insts, changes)
    edge_list, stale_edges = _edges(app, link_plan, placed, changes)
    remove.extend(stale_edges)
    # Where each addon the app uses runs: its account for the app is made there.
    addons = {
        i["service"]: {"host": i["host"], "container": i["container"]}
        for i in insts
        if i["app"] == ADDONS_APP
    }
    changes.sort(key=lambda c: (c.host, c.service, c.replica))
    zones = {h.name: h.zone for h in hosts}
    batches = rollout_batches(app, changes, zones, max_parallel, placed.free)
    if not any(i["action"] != KEEP for i in insts) and not remove:
        release -= 1  # the app's containers stay: the running release stays the current one
    return DeployPlan(
        pod=pod,
        app=app.name,
        release=release,
        placement=placed.placement,
        instances=insts,
        edges=edge_list,
        remove=remove,
        changes=changes,
        addons=addons,
        images=dict(images),
        batches=batches,
        posture=posture.of_app(app),
    )


def rollout_batches(
    app: App,
    changes: Sequence[Change],
    zones: Mapping[str, str],
    max_parallel: int,
    free: Mapping[str, tuple[int, int]] | None = None,
) -> list[rollout.Batch]:
    """The app's new, updated and moved replicas in batches (mason.core.rollout), service
    by service. A batch never takes every replica of a service at once: while one is
    replaced behind the drained edge, the others serve.

    A replica updated in place starts first (its new container beside the old one,
    health-gated before the switch) where its host has room for a second copy (``free``:
    host -> millicores and bytes left) and the service keeps no volume (two copies must
    never share its data); otherwise it stops first."""
    out: list[rollout.Batch] = []
    free = free or {}
    for name, svc in sorted(app.services.items()):
        room = {
            h: not svc.volumes and cpu >= svc.cpu and memory >= svc.memory
            for h, (cpu, memory) in free.items()
        }
        moves = [
            rollout.Move(
                c.replica,
                c.previous_host or (c.host if c.action == UPDATE else ""),
                c.host,
                zones.get(c.host, ""),
            )
            for c in changes
            if c.service == name and c.action in (NEW, UPDATE, MOVE)
        ]
        if moves:
            size = max(1, min(max_parallel, svc.replicas - 1))
            out += rollout.batches(moves, ha=svc.ha, max_parallel=size, room=room, service=name)
    return out


def _check_public_ports(app: App, live: Sequence[Running]) -> None:
    """An app's public ports are held on every host: no two apps may share one."""
    held = {p: r.app for r in live if r.part == EDGE and r.app != app.name for p in r.public}
    for svc in app.services.values():
        for port, _ in svc.public_ports:
            if port in held:
                raise InvalidInput(
                    f"{app.source or app.name}: services.{svc.name}.ports: public port {port} "
                    f"is already held by app {held[port]} on this pod"
                )


def _link_plan(
    pod: str,
    app: App,
    addon_services: Mapping[str, Service],
    placement: Plan,
    by_name: Mapping[str, PodHost],
    live: Sequence[Running],
    stale: Sequence[Running] = (),
) -> LinkPlan:
    rows = [p for p in placement.placements if p.action != REMOVE]
    replicas: dict[tuple[str, str], list[Replica]] = {}
    kept_ports = {
        (r.app, r.service, r.replica, r.host): r.proxy_port for r in live if r.part == SERVICE
    }
    for p in rows:
        port = kept_ports.get((p.app, p.service, p.replica, p.host), 0)
        replicas.setdefault((p.app, p.service), []).append(
            Replica(p.replica, p.host, by_name[p.host].address, port)
        )
    # Other apps that use these addons stay admitted by them.
    users: dict[str, set[Identity]] = {}
    for r in live:
        if r.part == SERVICE and r.app not in (app.name, ADDONS_APP):
            for addon in r.addons:
                users.setdefault(addon, set()).add(Identity(pod, r.app, r.service))
    services = []
    for name, svc in sorted(app.services.items()):
        services.append(
            ServicePlan(
                app=app.name,
                service=name,
                port=svc.ports[0].container,
                replicas=tuple(sorted(replicas.get((app.name, name), []))),
                links=tuple(svc.links),
                addons=tuple(app.addons),
                env=dict(svc.env),
                public=bool(svc.public_ports),
            )
        )
    for name, svc in sorted(addon_services.items()):
        services.append(
            ServicePlan(
                app=ADDONS_APP,
                service=name,
                port=svc.ports[0].container,
                replicas=tuple(sorted(replicas.get((ADDONS_APP, name), []))),
                admits=tuple(sorted(users.get(name, ()))),
                env=dict(svc.env),
            )
        )
    services = [s for s in services if s.replicas]
    # Ports that proxies hold on each host are not given out again: other apps', and
    # those of replicas the plan removes (stale copies too), which hold theirs until
    # the run removes them, last (after the new containers have started).
    planned = {(p.app, p.service, p.replica, p.host) for p in rows}
    taken: dict[str, set[int]] = {}
    for r in [*live, *stale]:
        if r.proxy_port and (r.app, r.service, r.replica, r.host) not in planned:
            taken.setdefault(r.host, set()).add(r.proxy_port)
    return assign_proxy_ports(LinkPlan(pod, tuple(services)), base=PROXY_PORT_BASE, taken=taken)


def _addon_env(
    app: App, link_plan: LinkPlan, service: str, entries: Mapping[str, tuple[Service, Addon]]
) -> dict[str, str]:
    """The variables of each addon the app uses, pointing at its outbound listener."""
    env: dict[str, str] = {}
    s = link_plan.service(app.name, service)
    for name in app.addons:
        _, contract = entries[name]
        env.update(
            contract.render(
                {
                    "app": app.name,
                    "host": "mason-proxy",
                    "port": str(link_port(s, name, addon=True)),
                    "user": app.name,
                    "database": app.name,
                    "password": secret_token(name),
                }
            )
        )
    return env
