"""Harden a pod, or check it for drift: run harden.yml, then judge every control."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mason.core.controls import DRIFT, Catalogue, Report, evaluate, load_catalogue
from mason.core.errors import DriftFound, InvalidInput
from mason.operations.lookup import find_host, hosts_of
from mason.operations.runs import raise_for_failures, run
from mason.operations.session import Session
from mason.providers.base import Host
from mason.runner import RunResult

PLAYBOOK = "harden"


def check_areas(values: Sequence[str], option: str, catalogue: Catalogue) -> list[str]:
    bad = [v for v in values if v not in catalogue.areas]
    if bad:
        raise InvalidInput(
            f"{option}: unknown area {bad[0]!r} (areas: {', '.join(catalogue.areas)})"
        )
    return list(dict.fromkeys(values))


def resolve_limit(pod: str, limit: str | None, hosts: Sequence[Host]) -> list[Host]:
    """Hosts named by --limit (full name, short name h2, or index 2); all when None."""
    if not limit:
        return list(hosts)
    chosen: list[Host] = []
    for part in (p.strip() for p in limit.split(",")):
        if part:
            match = find_host(pod, hosts, part, where="--limit")
            if match not in chosen:
                chosen.append(match)
    return chosen


@dataclass
class HardenOutcome:
    pod: str
    report: Report
    run: RunResult

    def raise_for_verdict(self) -> None:
        """The run's own failure first (exit 6/7), then drift (exit 8)."""
        raise_for_failures(self.run, PLAYBOOK)
        drifted = self.report.by_status(DRIFT)
        if drifted:
            where = sorted({f"{f.host} {f.control}" for f in drifted})
            raise DriftFound(
                f"drift on {len({f.host for f in drifted})} host(s): {', '.join(where[:6])}"
                + (f" (+{len(where) - 6} more)" if len(where) > 6 else "")
            )


def harden(
    session: Session,
    pod: str,
    *,
    provider_name: str | None = None,
    limit: str | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    check: bool = False,
    extravars: Mapping[str, Any] | None = None,
) -> HardenOutcome:
    """Apply the hardening roles (or, with ``check``, change nothing) and judge each control.

    Every input is checked before a host is touched; the caller renders the report,
    then calls :meth:`HardenOutcome.raise_for_verdict`.
    """
    catalogue = load_catalogue()
    only_areas = check_areas(only, "--only", catalogue)
    skip_areas = check_areas(skip, "--skip", catalogue)
    areas = [a for a in (only_areas or catalogue.areas) if a not in skip_areas]
    if not areas:
        raise InvalidInput("--only/--skip: no area left to harden")
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    targets = resolve_limit(pod, limit, hosts)
    result = run(
        session,
        PLAYBOOK,
        title=f"{'check' if check else 'harden'} {pod}",
        pods=[pod],
        limit=",".join(h.name for h in targets) if limit else None,
        tags=only_areas,
        skip_tags=skip_areas,
        check=check,
        # Diffs name what differs (check) or what was changed; only files
        # mason manages are diffed, none of which holds a secret.
        diff=True,
        extravars=dict(extravars or {}),
        raise_on_failure=False,
    )
    report = evaluate(
        result.events(), catalogue, hosts=[h.name for h in targets], check=check, areas=areas
    )
    return HardenOutcome(pod=pod, report=report, run=result)
