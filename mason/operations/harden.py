"""Harden a pod, or check it for drift: run harden.yml, then judge every control."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mason.core.controls import DRIFT, Catalogue, Report, evaluate, load_catalogue
from mason.core.documents import parse_json
from mason.core.errors import DriftFound, InvalidInput
from mason.core.files import read_text
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


class Areas(NamedTuple):
    only: list[str]  # --only, checked (the run's tags)
    skip: list[str]  # --skip, checked (the run's skip tags)
    chosen: list[str]  # what is left of the catalogue's areas


def select_areas(
    only: Sequence[str], skip: Sequence[str], catalogue: Catalogue, verb: str
) -> Areas:
    """The areas --only and --skip leave (all by default); none left is an error."""
    only_areas = check_areas(only, "--only", catalogue)
    skip_areas = check_areas(skip, "--skip", catalogue)
    chosen = [a for a in (only_areas or catalogue.areas) if a not in skip_areas]
    if not chosen:
        raise InvalidInput(f"--only/--skip: no area left to {verb}")
    return Areas(only_areas, skip_areas, chosen)


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
        raise_for_drift(self.report)


def raise_for_drift(report: Report) -> None:
    """Drift is exit 8, for a run of the CLI and for a job's events alike."""
    drifted = report.by_status(DRIFT)
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
    areas = select_areas(only, skip, catalogue, "harden")
    _, hosts = hosts_of(session.project_dir, pod, provider_name)
    targets = resolve_limit(pod, limit, hosts)
    result = run(
        session,
        PLAYBOOK,
        title=f"{'check' if check else 'harden'} {pod}",
        pods=[pod],
        limit=",".join(h.name for h in targets) if limit else None,
        tags=areas.only,
        skip_tags=areas.skip,
        check=check,
        # Diffs name what differs (check) or what was changed; only files
        # mason manages are diffed, none of which holds a secret.
        diff=True,
        # The CLI judges the run itself (below), so the play only reports.
        extravars={**dict(extravars or {}), "mason_harden_report_only": True},
        raise_on_failure=False,
    )
    report = evaluate(
        result.events(), catalogue, hosts=[h.name for h in targets], check=check, areas=areas.chosen
    )
    return HardenOutcome(pod=pod, report=report, run=result)


# A job's events can be large (every task's result on every host).
MAX_EVENTS_BYTES = 256 * 1024 * 1024
# The task whose result carries the play's own report (playbooks/harden.yml).
JUDGE_TASK = "Harden | judge every control from this run's results"
# The play's own verdict: its failure is the drift already judged, not a broken host.
VERDICT_TASK = "Harden | fail when a control drifted"
MODES = ("check", "apply")


def read_events(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """A job's events, from ansible-runner artifacts or from AWX.

    Each path is a directory (an ansible-runner private data dir or artifact dir: every
    ``job_events/*.json`` under it, in the order of their ``counter``), or a file: JSON
    (a list of events, or an AWX API page ``{"results": [...]}``), or one event per line.
    """
    events: list[dict[str, Any]] = []
    for path in paths:
        if path.is_dir():
            files = sorted(path.glob("**/job_events/*.json"))
            if not files:
                raise InvalidInput(f"{path}: no job_events/*.json under this directory")
            found = [_event_file(f) for f in files]
            events += sorted(found, key=lambda e: e.get("counter", 0))
        else:
            events += _events_file(path)
    return events


def _event_file(path: Path) -> dict[str, Any]:
    data = parse_json(read_text(path), str(path))
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: not a job event (a JSON object)")
    return data


def _events_file(path: Path) -> list[dict[str, Any]]:
    text = read_text(path, max_bytes=MAX_EVENTS_BYTES)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    data: Any
    if text.lstrip().startswith("[") or len(lines) <= 1:
        data = parse_json(text, str(path))
    else:
        try:
            data = parse_json(text, str(path))
        except InvalidInput:  # one event per line (a callback's or jq's output)
            data = [parse_json(line, f"{path} line {n}") for n, line in lines]
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise InvalidInput(
            f"{path}: expected job events (a JSON list, an AWX page with results, or JSON lines)"
        )
    return sorted(data, key=lambda e: e.get("counter", 0))


def _hosts(events: Sequence[Mapping[str, Any]]) -> list[str]:
    hosts: dict[str, None] = {}
    for event in events:
        host = (event.get("event_data") or {}).get("host")
        if str(event.get("event", "")).startswith("runner_on_") and host:
            hosts[str(host)] = None
    return list(hosts)


def _mode(events: Sequence[Mapping[str, Any]]) -> str | None:
    """check or apply, as the play's own report says (None when the events lack it)."""
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and data.get("task") == JUDGE_TASK:
            facts = (data.get("res") or {}).get("ansible_facts") or {}
            mode = (facts.get("mason_harden_report") or {}).get("mode")
            if mode in MODES:
                return mode
    return None


def report_from_events(
    paths: Sequence[Path],
    *,
    mode: str | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
) -> Report:
    """Judge every control from a harden job's events, as :func:`harden` judges a run."""
    catalogue = load_catalogue()
    areas = select_areas(only, skip, catalogue, "judge")
    events = [
        e
        for e in read_events(paths)
        if not str((e.get("event_data") or {}).get("task", "")).startswith(VERDICT_TASK)
    ]
    hosts = _hosts(events)
    if not hosts:
        raise InvalidInput("no host result in these events (is this a harden job?)")
    mode = mode or _mode(events)
    if mode is None:
        raise InvalidInput(
            "the events do not say whether the job was a check: give --mode check or --mode apply"
        )
    return evaluate(events, catalogue, hosts=hosts, check=mode == "check", areas=areas.chosen)
