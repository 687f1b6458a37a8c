"""`mason up`: the main job in one command, on the embedded default.

Create (or find) a local pod, harden it unless it already is, deploy the app
(the sample guestbook unless told otherwise) and say where it answers. Each step
is the same operation its own command runs, so running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mason.core.catalog import CatalogEntry
from mason.core.manifest.model import App
from mason.operations import deploy as deploying
from mason.operations.harden import harden
from mason.operations.pods import PodCreated, PodRequest, create_pod
from mason.operations.session import Session
from mason.operations.survey import survey
from mason.paths import content_root
from mason.runner import RunResult

SAMPLE_APP = Path("examples") / "guestbook" / "guestbook.yml"
DEFAULT_POD = "demo"


def sample_app() -> Path:
    return content_root() / SAMPLE_APP


@dataclass
class UpResult:
    pod: str
    created: PodCreated
    hardened: bool  # harden ran in this call
    prepared: deploying.Prepared
    deployed: RunResult | None  # None: the plan changed nothing
    endpoints: list[str] = field(default_factory=list)


def up(
    session: Session,
    request: PodRequest,
    app: App,
    manifest: Path,
    entries: Mapping[str, CatalogEntry],
) -> UpResult:
    created = create_pod(session, request)
    found = survey(session, request.name, created.hosts, ledger_of=app.name)
    hardened = False
    if not all(found.hardened.get(h.name) for h in created.hosts):
        outcome = harden(session, request.name)
        outcome.raise_for_verdict()
        hardened = True
    # a pod just hardened is surveyed again (it is hardened now); else this survey serves
    prepared = deploying.prepare(
        session,
        app,
        manifest,
        request.name,
        entries,
        found=None if hardened else found,
        ledger=None if hardened else found.ledger,
    )
    deployed = None
    if prepared.plan.changes_anything:
        deployed = deploying.apply(session, prepared)
    ports = sorted({p for e in prepared.plan.edges for p in e["ports"]})
    endpoints = [
        f"http://{h.private_address or h.address}:{port}/" for port in ports for h in created.hosts
    ]
    return UpResult(request.name, created, hardened, prepared, deployed, endpoints)
