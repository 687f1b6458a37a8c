"""What runs on a pod, read back from its hosts (playbooks/survey.yml), and, when asked,
one app's release records in the same run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mason.core.deploy import Running, parse_survey
from mason.core.release import Release
from mason.operations import releases
from mason.operations.runs import raise_for_failures, run, task_results
from mason.operations.session import Session
from mason.providers.base import Host

PLAYBOOK = "survey"
HOST_TASK = "Survey | mason containers, sidecar configurations, hardened"
HARDENED = "hardened: yes"


@dataclass
class Survey:
    pod: str
    hosts: list[Host]
    running: list[Running]
    hardened: dict[str, bool]
    unreachable: list[str] = field(default_factory=list)
    # (host, instance) -> sha256 of its sidecar's haproxy.cfg
    proxy_configs: dict[tuple[str, str], str] = field(default_factory=dict)
    # the records of the app named to survey(), oldest first (None: none asked for)
    ledger: list[Release] | None = None

    def of_app(self, app: str) -> list[Running]:
        return [r for r in self.running if r.app == app]

    def apps(self) -> list[str]:
        return sorted({r.app for r in self.running})

    @property
    def reachable_hosts(self) -> list[Host]:
        return [h for h in self.hosts if h.name not in self.unreachable]


def _rows(res: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for line in res.get("stdout_lines") or []:
        if not line.startswith("{"):
            continue  # a sidecar's digest, the hardened line
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line docker added (a warning): not a container
    return rows


def _proxy_configs(per_host: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    found = {}
    for host, res in per_host.items():
        for line in res.get("stdout_lines") or []:
            digest, _, path = line.partition("  ")
            name = path.removesuffix("/haproxy.cfg")
            if len(digest) == 64 and name and "/" not in name and not line.startswith("{"):
                found[(host, name)] = digest
    return found


def _hardened(per_host: Mapping[str, Mapping[str, Any]]) -> dict[str, bool]:
    """Per host: did `mason harden` finish there (/etc/mason/hardened.json)."""
    return {h: HARDENED in (res.get("stdout_lines") or []) for h, res in per_host.items()}


def survey(
    session: Session,
    pod: str,
    hosts: Sequence[Host],
    *,
    allow_unreachable: bool = False,
    skip: Sequence[str] = (),
    ledger_of: str | None = None,
) -> Survey:
    """Run survey.yml on ``pod``; an unreachable host raises unless ``allow_unreachable``.

    Hosts in ``skip`` (the provider says they are down) are not tried and count as
    unreachable. ``ledger_of`` names an app whose release records the same run reads
    (:attr:`Survey.ledger`; a deploy needs both, and a playbook run costs seconds)."""
    limit = ",".join(h.name for h in hosts if h.name not in skip) if skip else None
    result = run(
        session,
        PLAYBOOK,
        title=f"survey {pod}",
        pods=[pod],
        raise_on_failure=False,
        limit=limit,
        extravars={"mason_survey_app": ledger_of} if ledger_of else None,
    )
    unreachable = sorted({f.host for f in result.failures if f.unreachable} | set(skip))
    if not allow_unreachable or any(not f.unreachable for f in result.failures):
        raise_for_failures(result, PLAYBOOK)
    per_host = task_results(result, HOST_TASK)
    ledger = None
    if ledger_of:
        _, where, files = releases.handed_back(result, ledger_of)
        ledger = releases.loaded(where, files)
    return Survey(
        pod=pod,
        hosts=list(hosts),
        running=parse_survey({h: _rows(res) for h, res in per_host.items()}),
        hardened=_hardened(per_host),
        unreachable=unreachable,
        proxy_configs=_proxy_configs(per_host),
        ledger=ledger,
    )
