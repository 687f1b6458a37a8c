"""`mason app scale APP SERVICE N`: one service's replica count, nothing else restarted.

Runs the app's newest recorded release again (its images by digest, no build) with
SERVICE at N replicas and the other services at the counts that release placed
(:mod:`mason.core.scale`). The deploy plan keeps every replica that stays where it
runs: scaling up starts the new replicas (health-gated, as a rollout), scaling down
removes replicas where the service is most crowded (zone, then host), so none that stays
moves; sidecars and edges reload. The scale is a release
in the app's ledger (kind ``scale``). The app's manifest must be the one the newest
release was made from (else deploy it): scale changes a count, not a configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mason.core.catalog import CatalogEntry
from mason.core.errors import InvalidInput, NotFound
from mason.core.manifest.model import App
from mason.core.placement import DEFAULT_TIME_LIMIT
from mason.core.scale import as_recorded, parse_replicas, scaled
from mason.operations import deploy as deploying
from mason.operations.lookup import hosts_of
from mason.operations.session import Session
from mason.operations.survey import survey


def prepare(
    session: Session,
    app: App,
    manifest: Path,
    pod: str,
    service: str,
    replicas: str | int,
    entries: Mapping[str, CatalogEntry],
    *,
    provider_name: str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> deploying.Prepared:
    """The deploy that sets ``service`` of ``app`` to ``replicas`` on ``pod``; every input
    is checked (count, service, the ledger, placement) before anything changes."""
    count = parse_replicas(replicas)
    scaled(app, service, count)  # an unknown service or a count below min_available
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    found = survey(session, pod, hosts, ledger_of=app.name)
    ledger = found.ledger or []
    if not ledger:
        raise NotFound(
            f"app {app.name} has no recorded release on pod {pod}: deploy it first "
            f"(`mason app deploy {app.name} --pod {pod}`)"
        )
    latest = ledger[-1]
    if deploying.release_manifest_hash(manifest) != latest.manifest_hash:
        raise InvalidInput(
            f"{app.source or manifest}: changed since release {latest.number} "
            f"(scale runs the newest release with another count; deploy the change first: "
            f"`mason app deploy {app.name} --pod {pod}`)"
        )
    before = len(latest.placement.get(service, ())) or app.services[service].replicas
    target = scaled(as_recorded(app, latest.placement), service, count)
    prepared = deploying.prepare(
        session,
        target,
        manifest,
        pod,
        entries,
        provider_name=provider_name,
        allow_unhardened=True,  # scale runs a release the deploy checked
        time_limit=time_limit,
        rollback_to=str(latest.number),
        found=found,
        refs=deploying.recorded_refs(target, found, latest.images),
        ledger=ledger,
    )
    prepared.kind = "scale"
    prepared.note = f"{service}: {before} -> {count} replica(s) of release {latest.number}"
    return prepared
