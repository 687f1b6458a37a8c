"""Deploy an app onto a pod: survey, images, plan, then deploy.yml.

:func:`prepare` does everything that changes nothing on the pod's containers
(survey what runs, check hardening, build the images and hand them to the pod,
plan); the caller shows the plan, asks, then calls :func:`apply`. Every input is
checked before a container is touched: a bad manifest, an unknown addon, an image
that fails to build, an infeasible plan or an unhardened pod end here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core import posture, release
from mason.core.catalog import CatalogEntry
from mason.core.deploy import SERVICE, DeployPlan, PodHost, build_plan
from mason.core.documents import parse_yaml
from mason.core.errors import EnvironmentProblem, Infeasible, InvalidInput
from mason.core.files import read_text
from mason.core.manifest.model import App
from mason.core.placement import DEFAULT_TIME_LIMIT
from mason.core.proxy import ADDONS_APP
from mason.core.release import Release
from mason.operations import delivery, releases
from mason.operations import images as pod_images
from mason.operations.lookup import hosts_of
from mason.operations.runs import raise_for_failures, run
from mason.operations.session import Session
from mason.operations.survey import Survey, survey
from mason.providers.base import Host
from mason.runner import RunResult

PLAYBOOK = "deploy"


@dataclass
class Prepared:
    """A deploy ready to apply: what runs, the plan, and the ledger record it writes."""

    pod: str
    survey: Survey
    plan: DeployPlan
    proxy_image: str
    manifest_hash: str
    manifest: Mapping[str, Any] = field(default_factory=dict)  # as data: the record keeps it
    run_id: str = field(default_factory=releases.new_run_id)
    kind: str = "deploy"
    note: str = ""
    force_unlock: bool = False
    running: release.Release | None = None  # the newest release: what runs, what a revert restores

    def ledger_vars(self) -> dict:
        return releases.ledger_vars(self.plan.app, self.run_id, force_unlock=self.force_unlock)

    def extravars(self) -> dict:
        data = self.plan.extravars()
        record = self.plan.record(self.manifest_hash, self.kind, self.note)
        data["mason_deploy"]["record"] = {**record, "manifest": dict(self.manifest)}
        if self.running is not None:
            data["mason_deploy"]["revert"] = revert_record(self.running)
        return {**data, "mason_deploy_proxy_image": self.proxy_image, **self.ledger_vars()}

    def posture_changes(self) -> list[posture.Change]:
        """What the plan changes in the app's security posture against the newest release
        (nothing to compare with when there is none, or it recorded no posture)."""
        if self.running is None or not self.running.posture:
            return []
        return posture.diff(self.running.posture, self.plan.posture)


def revert_record(running: release.Release) -> dict:
    """The ledger record of a rollout that failed its health gate and was put back: what
    runs again is ``running``'s (deploy.yml adds the reason to the note)."""
    return {
        "kind": "revert",
        "manifest_hash": running.manifest_hash,
        "images": dict(running.images),
        "placement": {
            svc: [s.to_dict() for s in slots] for svc, slots in running.placement.items()
        },
        "note": f"back to release {running.number}",
        "posture": {svc: dict(p) for svc, p in running.posture.items()},
        "manifest": dict(running.manifest),
    }


def pod_hosts(hosts: Sequence[Host]) -> list[PodHost]:
    """The pod's hosts as the deploy plan sees them (cores -> millicores)."""
    return [
        PodHost(
            name=h.name,
            zone=h.zone,
            address=h.private_address or h.address,
            cpu=round(h.cpu * 1000),
            memory=int(h.memory),
            role=h.role,
            labels=dict(h.labels),
        )
        for h in hosts
    ]


def check_hardened(found: Survey, allow_unhardened: bool) -> None:
    missing = sorted(h for h, done in found.hardened.items() if not done)
    if missing and not allow_unhardened:
        raise EnvironmentProblem(
            f"pod {found.pod} is not hardened yet ({', '.join(missing)})",
            hint=f"run `mason harden {found.pod}` first, or deploy with --allow-unhardened",
        )


def addon_entries(app: App, entries: Mapping[str, CatalogEntry]) -> dict:
    """Each addon the app lists: its catalog service template and contract."""
    found = {}
    for name in app.addons:
        if name not in entries:
            raise InvalidInput(f"{app.source or app.name}: addons: no catalog entry {name!r}")
        found[name] = (entries[name].service, entries[name].addon)
    return found


def prepare(
    session: Session,
    app: App,
    manifest: Path | Mapping[str, Any],
    pod: str,
    entries: Mapping[str, CatalogEntry],
    *,
    provider_name: str | None = None,
    allow_unhardened: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    rollback_to: str | None = None,
    max_parallel: int = 1,
    found: Survey | None = None,
    refs: Mapping[str, str] | None = None,
    ledger: Sequence[Release] | None = None,
    deny_weaker: bool = False,
) -> Prepared:
    """Survey, check, build the images and push them to the pod registry, plan.

    ``manifest`` is the app's file, or its data as a release recorded it (`pod heal`,
    which passes ``refs`` too: nothing is built). ``found`` is a survey already made
    (`pod heal` plans on the hosts left in it); ``refs`` the image references to run
    (every key of :func:`image_keys`), with no build; ``ledger`` the app's releases when
    the caller read them already (scale, heal: one read of the ledger, not two; a survey
    made here reads them in its own run). ``deny_weaker`` refuses a weaker security
    posture than the newest release's before anything is built. Changes no container
    (the registry is set up on first use)."""
    addons = addon_entries(app, entries)
    if found is None:
        _, hosts = hosts_of(session.project_dir, pod, provider_name)
        found = survey(session, pod, hosts, ledger_of=None if ledger is not None else app.name)
    hosts = found.reachable_hosts
    check_hardened(found, allow_unhardened)
    if ledger is None:
        ledger = found.ledger
    if ledger is None:
        ledger = releases.read(session, pod, app.name, provider_name)
    latest = max((r.number for r in ledger), default=0)
    target = _rollback_target(ledger, app, rollback_to)
    newest = release.latest(ledger)
    if deny_weaker:
        releases.refuse_weaker(newest, app, pod)
    recorded = release.replicas_at(newest)  # copies found elsewhere are stale

    def planned(refs: Mapping[str, str]) -> DeployPlan:
        return build_plan(
            pod=pod,
            app=app,
            hosts=pod_hosts(hosts),
            running=found.running,
            images={k: v for k, v in refs.items() if k != delivery.PROXY_KEY},
            proxy_image=refs[delivery.PROXY_KEY],
            addon_entries=addons,
            time_limit=time_limit,
            latest_release=latest,
            max_parallel=max_parallel,
            proxy_configs=found.proxy_configs,
            recorded=recorded,
        )

    # Placement first (images do not change where containers fit): an app that does
    # not fit is refused before anything is built or shipped.
    _raise_unplaced(planned(dict.fromkeys(image_keys(app), "pending")), app, pod)
    refs = _image_refs(session, app, manifest, found, target, refs, entries, provider_name)
    data = manifest_data(manifest) if isinstance(manifest, Path) else dict(manifest)
    if target is not None:
        refs.update({name: target.images[name] for name in app.services})
    plan = planned(refs)
    _raise_unplaced(plan, app, pod)
    return Prepared(
        pod=pod,
        survey=found,
        plan=plan,
        proxy_image=refs[delivery.PROXY_KEY],
        manifest_hash=release.manifest_hash(data),
        manifest=data,
        kind="rollback" if target else "deploy",
        note=f"back to release {target.number}" if target else "",
        running=newest,
    )


def _rollback_target(
    ledger: Sequence[Release], app: App, rollback_to: str | None
) -> Release | None:
    """The release a rollback runs again (None: a deploy); its recorded images, by digest,
    must cover every service of today's manifest."""
    target = release.find(ledger, rollback_to) if rollback_to else None
    if target is not None:
        missing = sorted(set(app.services) - set(target.images))
        if missing:
            raise InvalidInput(
                f"release {target.number} of {app.name} has no image for {', '.join(missing)} "
                "(the manifest gained services since): deploy instead"
            )
    return target


def _image_refs(
    session: Session,
    app: App,
    manifest: Path | Mapping[str, Any],
    found: Survey,
    target: Release | None,
    refs: Mapping[str, str] | None,
    entries: Mapping[str, CatalogEntry],
    provider_name: str | None,
) -> dict[str, str]:
    """The image references the deploy runs: given, recorded (a rollback: no build), or
    built from the manifest file and pushed to the pod registry."""
    if refs is None and target is not None:
        refs = recorded_refs(app, found, target.images)
    if refs is None and not isinstance(manifest, Path):
        raise EnvironmentProblem(
            f"an image {app.name} ran is gone from the pod (registry or hosts) and there is "
            "no manifest file here to build it from",
            hint=f"deploy it again (`mason app deploy {app.name}`)",
        )
    if refs is None:
        refs = pod_images.push_app(
            session, found.pod, app, manifest=manifest, entries=entries, provider_name=provider_name
        )
    return dict(refs)


def recorded_refs(app: App, found: Survey, images: Mapping[str, str]) -> dict[str, str] | None:
    """The image references to run ``app`` again with no build: its services' from the
    release, its addons' and the sidecars' from what runs. None when one is missing."""
    refs = dict(images)
    for r in found.running:
        if r.app == ADDONS_APP and r.part == SERVICE and r.image:
            refs.setdefault(f"{ADDONS_APP}/{r.service}", r.image)
        elif r.part != SERVICE and r.ref:
            refs.setdefault(delivery.PROXY_KEY, r.ref)
    keys = image_keys(app)
    return {k: refs[k] for k in keys} if all(k in refs for k in keys) else None


def image_keys(app: App) -> list[str]:
    """The images a deploy of ``app`` runs: its services', its addons', the sidecars'."""
    return [*app.services, *(f"{ADDONS_APP}/{a}" for a in app.addons), delivery.PROXY_KEY]


def manifest_data(manifest: Path) -> dict[str, Any]:
    """The manifest as data, as a release records it (JSON: what survives the ledger)."""
    data = parse_yaml(read_text(manifest), str(manifest)) or {}
    # JSON as the ledger keeps it (a YAML date becomes its text, as in the container's env)
    return json.loads(json.dumps(data, default=str))


def release_manifest_hash(manifest: Path) -> str:
    """sha256 of the manifest as data (comments and layout do not count)."""
    return release.manifest_hash(manifest_data(manifest))


def _raise_unplaced(plan: DeployPlan, app: App, pod: str) -> None:
    if plan.unplaced:
        first = plan.unplaced[0]
        raise Infeasible(
            f"{len(plan.unplaced)} container(s) of app {app.name} fit nowhere on pod {pod}: "
            f"{first.service} replica {first.replica}: {'; '.join(first.reasons)} "
            f"(see `mason app plan {app.name} --pod {pod} --explain`)"
        )


def apply(session: Session, prepared: Prepared) -> RunResult:
    """Run deploy.yml with the plan; raises the run's error when a host failed, after
    releasing the app's lock this run took (the next deploy must not find it held).

    Runs on the hosts the survey reached (`pod heal` leaves the lost ones out)."""
    lost = prepared.survey.unreachable
    limit = ",".join(h.name for h in prepared.survey.reachable_hosts) if lost else None
    result = run(
        session,
        PLAYBOOK,
        title=f"{prepared.kind} {prepared.plan.app} to {prepared.pod}",
        pods=[prepared.pod],
        extravars=prepared.extravars(),
        raise_on_failure=False,
        limit=limit,
    )
    if not result.ok:
        run(
            session,
            "unlock",
            title=f"unlock {prepared.plan.app}",
            pods=[prepared.pod],
            extravars=prepared.ledger_vars(),
            raise_on_failure=False,
            limit=limit,
        )
        raise_for_failures(result, PLAYBOOK)
    return result


__all__ = ["ADDONS_APP", "Prepared", "apply", "check_hardened", "prepare"]
