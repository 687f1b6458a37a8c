"""An app's release ledger on a pod: read it back (playbooks/releases.yml) and verify it.

The records live on the pod's manager (``roles/app_ledger``); this reads them, checks
each file (a record under its own number, root 0600) and the chain
(:func:`mason.core.release.verify`). Deploys write records through the role's
``lock`` / ``record`` / ``unlock`` task files with :func:`ledger_vars`.
"""

from __future__ import annotations

import getpass
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mason.core import posture, release
from mason.core.errors import PolicyRefused, RunFailed
from mason.core.manifest.model import App
from mason.core.names import check_name
from mason.operations.lookup import hosts_of
from mason.operations.runs import run, stats_data
from mason.operations.session import Session
from mason.runner import RunResult

PLAYBOOK = "releases"
RELEASES_DIR = "/etc/mason/releases"  # app_ledger_releases_dir's default


@dataclass
class Ledger:
    """The records of one app on one pod, oldest first, and every problem found."""

    pod: str
    app: str
    manager: str
    records: list[release.Release]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def directory(self) -> str:
        return f"{RELEASES_DIR}/{self.app}"

    def rows(self) -> list[dict[str, Any]]:
        """Per record: number, kind, when, who, hash, and what changed from the one before."""
        out = []
        before: release.Release | None = None
        for r in self.records:
            changes = release.diff(before, r)
            out.append(
                {
                    "number": r.number,
                    "kind": r.kind,
                    "when": r.when,
                    "who": r.who,
                    "run_id": r.run_id,
                    "hash": r.hash,
                    "note": r.note,
                    "manifest_hash": r.manifest_hash,
                    "images": dict(r.images),
                    "placement": {
                        svc: [s.to_dict() for s in slots] for svc, slots in r.placement.items()
                    },
                    "images_changed": [c.service for c in changes if c.image_changed],
                    "changes": [c.to_dict() for c in changes],
                }
            )
            before = r
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "app": self.app,
            "manager": self.manager,
            "verified": self.ok,
            "problems": list(self.problems),
            "releases": self.rows(),
        }


def actor() -> str:
    """Who acts, as records and locks name them: ``user@controller``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def new_run_id() -> str:
    """An id for a run that takes the lock and writes a record: ``20261203T072040-3f2a9c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def ledger_vars(
    app: str, run_id: str, *, force_unlock: bool = False, who: str | None = None
) -> dict[str, Any]:
    """The variables ``roles/app_ledger`` needs from mason for ``app`` in one run."""
    return {
        "app_ledger_app": check_name("app", app),
        "app_ledger_who": who or actor(),
        "app_ledger_run_id": run_id,
        "app_ledger_force_unlock": force_unlock,
    }


def _files(data: Mapping[str, Any], app: str, playbook: str) -> tuple[str, list[Mapping[str, Any]]]:
    found = data.get("mason_releases")
    if not isinstance(found, Mapping) or found.get("app") != app:
        raise RunFailed(f"{playbook}: the run handed back no records of app {app}")
    files = found.get("files")
    if not isinstance(files, list) or not all(isinstance(f, Mapping) for f in files):
        raise RunFailed(f"{playbook}: the run handed back records of app {app} mason cannot read")
    return str(found.get("manager", "")), files


def handed_back(result: RunResult, app: str) -> tuple[str, str, list[Mapping[str, Any]]]:
    """The ledger files of ``app`` a run handed back (releases.yml, or survey.yml given
    ``mason_survey_app``): the manager, the ledger's directory there, the files."""
    manager, files = _files(stats_data(result), app, result.playbook)
    return manager, f"{manager}:{RELEASES_DIR}/{app}", files


def _read_files(
    session: Session, pod_name: str, app: str, provider_name: str | None
) -> tuple[str, str, list[Mapping[str, Any]]]:
    """Run releases.yml: the manager, the ledger's directory there, the files read."""
    hosts_of(session.project_dir, pod_name, provider_name)  # NotFound for an unknown pod
    result = run(
        session,
        PLAYBOOK,
        title=f"releases of {app} on {pod_name}",
        pods=[pod_name],
        extravars={"mason_releases_app": app},
    )
    return handed_back(result, app)


def read_ledger(
    session: Session, pod_name: str, app: str, provider_name: str | None = None
) -> Ledger:
    """Every record of ``app`` on ``pod_name`` and every problem: files that are not
    records, files others may read, edits, a broken chain, gaps."""
    check_name("app", app)
    manager, where, files = _read_files(session, pod_name, app, provider_name)
    records, problems = release.audit(files, where)
    return Ledger(pod_name, app, manager, records, problems)


def read(
    session: Session, pod_name: str, app: str, provider_name: str | None = None
) -> list[release.Release]:
    """The records of ``app`` on ``pod_name``, oldest first; a file that is not a record
    is one :class:`InvalidInput` line naming it (check the chain with :func:`verify`)."""
    check_name("app", app)
    _, where, files = _read_files(session, pod_name, app, provider_name)
    return loaded(where, files)


def loaded(where: str, files: list[Mapping[str, Any]]) -> list[release.Release]:
    """The records in ledger ``files`` read at ``where``, oldest first (strict: a file
    that is not a record is an :class:`InvalidInput` naming it)."""
    records, _ = release.load(files, where, strict=True)
    return sorted(records, key=lambda r: r.number)


verify = release.verify


def posture_against(
    session: Session, pod_name: str, app: App, provider_name: str | None = None
) -> tuple[int | None, list[posture.Change]]:
    """What ``app`` (a manifest) changes in the security posture of what runs on the pod:
    the newest release's number and the changes; (None, []) when no release recorded one."""
    return posture_since(release.latest(read(session, pod_name, app.name, provider_name)), app)


def posture_since(
    newest: release.Release | None, app: App
) -> tuple[int | None, list[posture.Change]]:
    """:func:`posture_against` once the ledger is read: ``newest`` is its newest release."""
    if newest is None or not newest.posture:
        return None, []
    return newest.number, posture.diff(newest.posture, posture.of_app(app))


def refuse_weaker(newest: release.Release | None, app: App, pod_name: str) -> None:
    """`deploy --deny-weaker`: one :class:`PolicyRefused` line (exit 11) when ``app``
    weakens the posture of ``newest`` (the newest release on the pod); nothing has
    changed yet."""
    against, changes = posture_since(newest, app)
    weaker = posture.weakenings(changes)
    if weaker:
        more = f" (+{len(weaker) - 1} more: `mason app plan {app.name} --pod {pod_name}`)"
        raise PolicyRefused(
            f"--deny-weaker: app {app.name} would weaken its security posture on pod "
            f"{pod_name} against release {against}: {weaker[0].describe()}"
            f"{more if len(weaker) > 1 else ''}; nothing was changed"
        )
