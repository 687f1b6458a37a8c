"""What runs of an app on a pod, and removing it: `mason app status/list/remove/logs`."""

from __future__ import annotations

import shlex
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mason.core import posture, release
from mason.core.deploy import SERVICE, Running, allocations, stale_copies, unrecorded
from mason.core.errors import InvalidInput, NotFound
from mason.core.hostsfile import HostsFile
from mason.core.manifest.model import App
from mason.core.names import check_name
from mason.core.placement import HostSpec, Plan, requests_from_app
from mason.core.placement import plan as make_plan
from mason.core.proxy import ADDONS_APP, EDGE
from mason.core.units import format_span
from mason.operations import releases as release_ops
from mason.operations import remote
from mason.operations.lookup import hosts_of
from mason.operations.runs import run
from mason.operations.session import Session
from mason.operations.survey import Survey, survey
from mason.providers.base import Host
from mason.runner import RunResult


def uptime(started: str, now: datetime | None = None) -> str:
    """Docker's StartedAt as a span ("3m12s"); "" when unknown."""
    try:
        when = datetime.fromisoformat(started.replace("Z", "+00:00")[:26] + "+00:00")
    except ValueError:
        return ""
    return format_span(max(0.0, ((now or datetime.now(UTC)) - when).total_seconds()))


@dataclass
class ReplicaStatus:
    service: str
    replica: int
    host: str
    zone: str
    state: str
    health: str
    release: int
    image: str
    uptime: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _zones(found: Survey) -> dict[str, str]:
    return {h.name: h.zone for h in found.hosts}


def app_status(
    session: Session, pod: str, app: str, provider_name: str | None = None
) -> tuple[Survey, list[ReplicaStatus]]:
    """Every replica of ``app`` on ``pod``: NotFound when none runs there."""
    check_name("app", app)
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    found = survey(session, pod, hosts, allow_unreachable=True)
    zones = _zones(found)
    rows = [
        ReplicaStatus(
            r.service,
            r.replica,
            r.host,
            zones.get(r.host, ""),
            r.state,
            r.health or "-",
            r.release,
            r.image,
            uptime(r.started) if r.state == "running" else "",
        )
        for r in found.of_app(app)
        if r.part == SERVICE
    ]
    if not rows and not found.unreachable:
        raise NotFound(f"app {app!r} does not run on pod {pod} (see `mason app list --pod {pod}`)")
    return found, sorted(rows, key=lambda r: (r.service, r.replica))


def healthy(r: Running | ReplicaStatus) -> bool:
    return r.state == "running" and r.health in ("healthy", "", "-")


def list_apps(session: Session, pod: str, provider_name: str | None = None) -> list[dict]:
    """Each app on ``pod``: services, replicas (healthy/all), release, public ports."""
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    found = survey(session, pod, hosts, allow_unreachable=True)
    apps = []
    for name in found.apps():
        mine = found.of_app(name)
        replicas = [r for r in mine if r.part == SERVICE]
        apps.append(
            {
                "app": name,
                "services": sorted({r.service for r in replicas}),
                "replicas": len(replicas),
                "healthy": sum(1 for r in replicas if healthy(r)),
                "release": max((r.release for r in replicas), default=0),
                "public": sorted({p for r in mine if r.part == EDGE for p in r.public}),
                "addons": sorted({a for r in replicas for a in r.addons}),
            }
        )
    return apps


def remove_app(
    session: Session, pod: str, app: str, *, purge: bool = False, provider_name: str | None = None
) -> RunResult:
    """Remove ``app`` from every host of ``pod`` (its data too with ``purge``)."""
    check_name("app", app)
    if app == ADDONS_APP:
        raise InvalidInput(f"{ADDONS_APP!r} is mason's own: remove the apps that use an addon")
    hosts_of(session.project_dir, pod, provider_name)
    return run(
        session,
        "remove",
        title=f"remove {app} from {pod}",
        pods=[pod],
        extravars={"mason_remove_app": app, "mason_remove_purge": purge},
    )


def log_sources(
    session: Session,
    pod: str,
    app: str,
    service: str | None = None,
    provider_name: str | None = None,
) -> list[tuple[str, Host, str]]:
    """(label, host, container) of each replica of ``app`` (of ``service``) whose logs to read."""
    check_name("app", app)
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    found = survey(session, pod, hosts, allow_unreachable=True)
    by_name = {h.name: h for h in hosts}
    rows = [
        r
        for r in found.of_app(app)
        if r.part == SERVICE and (service is None or r.service == service)
    ]
    if not rows:
        what = f"service {service!r} of app {app!r}" if service else f"app {app!r}"
        raise NotFound(
            f"{what} does not run on pod {pod} (see `mason app status {app} --pod {pod}`)"
        )
    return [
        (f"{r.service}#{r.replica}", by_name[r.host], r.name)
        for r in sorted(rows, key=lambda r: (r.service, r.replica))
    ]


def follow_logs(sources: list[tuple[str, Host, str]], *, tail: int, follow: bool, emit) -> int:
    """Stream ``docker logs`` of each source over SSH, each line prefixed with its label;
    returns the worst exit code of the ssh processes."""
    procs = []
    for label, host, container in sources:
        command = ["sudo", "-n", "docker", "logs", "--timestamps", "--tail", str(tail)]
        if follow:
            command.append("--follow")
        argv = [*remote.batch_argv(host), shlex.join([*command, container])]
        procs.append(
            (
                label,
                subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
            )
        )

    def pump(label: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            emit(label, line.rstrip("\n"))

    threads = [threading.Thread(target=pump, args=p, daemon=True) for p in procs]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
    return max((proc.wait() for _, proc in procs), default=0)


# -- `mason app plan` ------------------------------------------------------------------
def host_spec(host: Host) -> HostSpec:
    """A provider's Host as placement sees it (cores -> millicores)."""
    return HostSpec(
        name=host.name,
        zone=host.zone,
        cpu=round(host.cpu * 1000),
        memory=int(host.memory),
        role=host.role,
        labels=dict(host.labels),
    )


@dataclass
class AppPlan:
    """Where an app's containers would go, and (against a pod) what the manifest changes
    in the security posture of its newest release there."""

    where: str  # "pod demo", or the hosts file
    hosts: list[HostSpec]
    result: Plan
    against: int | None = None  # the release compared with (None: none recorded)
    changes: list[posture.Change] = field(default_factory=list)


def plan_app(
    session: Session,
    app: App,
    *,
    pod: str | None = None,
    provider_name: str | None = None,
    described: HostsFile | None = None,
    where: str = "",
    explain: bool = False,
    time_limit: float,
    rebalance: bool = False,
) -> AppPlan:
    """Place ``app`` on the hosts of a hosts file (``described``: its hosts and what they
    run), or on a pod's hosts against what runs there now (the survey: a running replica
    stays where it is, every app's containers take their room)."""
    if described is not None:
        hosts, current = list(described.hosts), list(described.current)
    else:
        assert pod is not None
        _, found_hosts = hosts_of(session.project_dir, pod, provider_name)
        found = survey(session, pod, found_hosts, ledger_of=app.name)
        newest = release.latest(found.ledger or [])
        # as deploy and heal see them: a second copy, or a replica where the app's newest
        # release does not place it (a host back after a heal), is stale
        recorded = release.replicas_at(newest)
        stale = {id(r) for r in stale_copies(found.running)}
        if recorded is not None:
            stale |= {id(r) for r in unrecorded(found.running, app.name, recorded)}
        hosts = [host_spec(h) for h in found_hosts]
        current = allocations([r for r in found.running if id(r) not in stale])
        where = f"pod {pod}"
    result = make_plan(
        hosts,
        requests_from_app(app),
        current,
        explain=explain,
        time_limit=time_limit,
        rebalance=rebalance,
    )
    out = AppPlan(where=where, hosts=hosts, result=result)
    if described is None:
        out.against, out.changes = release_ops.posture_since(newest, app)
    elif pod is not None:
        out.against, out.changes = release_ops.posture_against(session, pod, app, provider_name)
    return out
