"""`mason pod heal`: start a lost host's replicas again on the hosts left.

A host is lost when its provider says it is not running, or SSH cannot reach it. For
every app on the pod, heal plans again on the hosts left, stable against what still
runs (kept replicas stay; anti-affinity and zones hold), and runs the newest recorded
release's images by digest: no build, no new manifest. A replica whose data lives on
the lost host (a service with volumes, such as a database addon) is not started empty
elsewhere unless the caller allows it: that app is reported degraded, with the reason.
When lost hosts come back, a heal (or any deploy) removes the copies they still run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core.catalog import CatalogEntry, templates
from mason.core.deploy import NEW
from mason.core.errors import EnvironmentProblem, MasonError
from mason.core.manifest.app import parse_manifest
from mason.core.manifest.model import App
from mason.core.names import ROLE_MANAGER
from mason.core.placement import DEFAULT_TIME_LIMIT
from mason.core.proxy import ADDONS_APP
from mason.core.release import Release
from mason.core.scale import as_recorded
from mason.operations import deploy as deploying
from mason.operations import releases
from mason.operations.lookup import hosts_of
from mason.operations.session import Session
from mason.operations.survey import Survey, survey
from mason.providers.base import Host

# What heal needs to plan an app: its manifest (parsed) and the file it came from.
AppLoader = Callable[[str], tuple[App, Path]]


@dataclass
class AppHeal:
    """One app's part of a heal: a plan to apply, or why it stays as it is."""

    app: str
    prepared: deploying.Prepared | None = None
    degraded: str = ""  # why the app cannot be made whole (empty: it can)

    @property
    def needed(self) -> bool:
        return self.prepared is not None and self.prepared.plan.changes_anything

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"app": self.app, "degraded": self.degraded, "needed": self.needed}
        if self.prepared is not None:
            data["plan"] = self.prepared.plan.to_dict()
            # what playbooks/deploy.yml takes to apply it (an AWX deploy job, limited to
            # the hosts left)
            data["extravars"] = self.prepared.extravars()
        return data


@dataclass
class HealPlan:
    pod: str
    lost: dict[str, str]  # host -> why it counts as lost
    survey: Survey
    apps: list[AppHeal] = field(default_factory=list)

    @property
    def needed(self) -> list[AppHeal]:
        return [a for a in self.apps if a.needed]

    @property
    def degraded(self) -> list[AppHeal]:
        return [a for a in self.apps if a.degraded]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "lost": dict(self.lost),
            "limit": ",".join(h.name for h in self.survey.reachable_hosts),
            "apps": [a.to_dict() for a in self.apps],
        }


def lost_hosts(hosts: Sequence[Host], found: Survey) -> dict[str, str]:
    """Each lost host and why: the provider's state, or SSH."""
    down = {h.name: f"provider says {h.state}" for h in hosts if h.state != "running"}
    return {h: down.get(h, "unreachable over SSH") for h in found.unreachable}


def _stateful_moves(app: App, plan_instances: Sequence[Mapping[str, Any]], entries) -> list[str]:
    """Replicas with volumes the plan would start anew: their data is on a lost host."""
    moved = []
    for i in plan_instances:
        if i["action"] != NEW:
            continue
        if i["app"] == ADDONS_APP:
            svc = entries[i["service"]].service if i["service"] in entries else None
        else:
            svc = app.services.get(i["service"])
        if svc is not None and svc.volumes:
            moved.append(f"{i['app']}/{i['service']} replica {i['replica']}")
    return moved


def plan_app(
    session: Session,
    pod: str,
    name: str,
    found: Survey,
    load: AppLoader,
    entries: Mapping[str, CatalogEntry],
    *,
    provider_name: str | None,
    time_limit: float,
    move_stateful: bool,
) -> AppHeal:
    """Plan one app again on the hosts left, from its newest release."""
    try:
        ledger = releases.read(session, pod, name, provider_name)
        if not ledger:
            return AppHeal(name, degraded="no release recorded on the pod (deploy it first)")
        latest = ledger[-1]
        app, manifest = _recorded_app(latest, load, entries)
        if manifest is None:
            return AppHeal(
                name,
                degraded=f"apps/{name}.yml changed since release {latest.number}: heal "
                f"runs recorded releases only; deploy it (`mason app deploy {name}`)",
            )
        # A scale changed counts without changing the manifest: heal the counts recorded.
        app = as_recorded(app, latest.placement)
        refs = deploying.recorded_refs(app, found, latest.images)
        prepared = deploying.prepare(
            session,
            app,
            manifest,
            pod,
            entries,
            provider_name=provider_name,
            allow_unhardened=True,  # heal restores what ran; the deploy checked it
            time_limit=time_limit,
            rollback_to=str(latest.number),
            found=found,
            refs=refs,
            ledger=ledger,
        )
    except MasonError as exc:
        return AppHeal(name, degraded=str(exc))
    prepared.kind = "heal"
    lost = ", ".join(found.unreachable)
    prepared.note = f"release {latest.number} again without {lost}" if lost else "copies removed"
    moves = _stateful_moves(app, prepared.plan.instances, entries)
    if moves and not move_stateful:
        return AppHeal(
            name,
            prepared=None,
            degraded=f"{', '.join(moves)} kept its data on a lost host: bring the host back "
            "(then heal), or heal with --move-stateful to start it empty elsewhere",
        )
    return AppHeal(name, prepared=prepared)


def _recorded_app(
    latest: Release, load: AppLoader, entries: Mapping[str, CatalogEntry]
) -> tuple[App, Path | Mapping[str, Any] | None]:
    """The app as ``latest`` ran it, and its manifest (data, or the file): from the
    record itself (no checkout needed), else (records written before mason kept the
    manifest) from the project's file when it still hashes the same; None otherwise."""
    if latest.manifest:
        source = f"release {latest.number} of {latest.app} (the pod's ledger)"
        app = parse_manifest(
            dict(latest.manifest),
            source,
            default_name=latest.app,
            catalog=templates(entries),
            addons=list(entries),
        )
        return app, latest.manifest
    app, path = load(latest.app)
    same = deploying.release_manifest_hash(path) == latest.manifest_hash
    return app, path if same else None


def plan(
    session: Session,
    pod: str,
    load: AppLoader,
    entries: Mapping[str, CatalogEntry],
    *,
    provider_name: str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    move_stateful: bool = False,
) -> HealPlan:
    """Find the lost hosts, then plan every app on the pod again without them."""
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    down = [h.name for h in hosts if h.state != "running"]
    managers = {h.name for h in hosts if h.role == ROLE_MANAGER}
    if managers & set(down):
        raise _manager_lost(pod, sorted(managers & set(down)))
    found = survey(session, pod, hosts, allow_unreachable=True, skip=down)
    lost = lost_hosts(hosts, found)
    if managers & set(lost):
        raise _manager_lost(pod, sorted(managers & set(lost)))
    heal = HealPlan(pod, lost, found)
    names = sorted({r.app for r in found.running if r.app != ADDONS_APP})
    # Every app is planned again from its newest release, even with no host lost: a
    # host that came back may run copies of replicas that release runs elsewhere, or no
    # longer runs at all (heal placed a lost replica under another number); only the
    # release tells those from the replicas it keeps.
    for name in names:
        session.say(f"planning {name} on {len(found.reachable_hosts)} host(s)")
        heal.apps.append(
            plan_app(
                session,
                pod,
                name,
                found,
                load,
                entries,
                provider_name=provider_name,
                time_limit=time_limit,
                move_stateful=move_stateful,
            )
        )
    return heal


def _manager_lost(pod: str, names: Sequence[str]) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"pod {pod}: the manager {', '.join(names)} is lost; heal needs it (the pod CA, the "
        "release ledger and the registry live there)",
        hint=f"bring it back (`mason pod show {pod}`), then run `mason pod heal {pod}` again",
    )


def apply(session: Session, heal: HealPlan) -> list[AppHeal]:
    """Apply each app's plan in turn (each under its deploy lock); the apps healed."""
    done = []
    for item in heal.needed:
        assert item.prepared is not None
        deploying.apply(session, item.prepared)
        done.append(item)
    return done
