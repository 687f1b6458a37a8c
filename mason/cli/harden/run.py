"""``mason harden POD``: apply the hardening roles, or check for drift with --check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml

from mason.cli import _progress
from mason.cli._context import Ctx, pass_ctx
from mason.cli.harden._report import load_events, print_report
from mason.cli.pod._common import hosts_of, provider_option
from mason.core.controls import (
    DRIFT,
    Catalogue,
    evaluate,
    load_catalogue,
    render_json,
    render_junit,
)
from mason.core.errors import DriftFound, InvalidInput, NotFound
from mason.providers.base import Host

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
        if not part:
            continue
        wanted = {part, f"{pod}-{part}", f"{pod}-h{part}"}
        match = next((h for h in hosts if h.name in wanted), None)
        if match is None:
            raise NotFound(
                f"--limit: pod {pod!r} has no host {part!r} "
                f"(hosts: {', '.join(h.name for h in hosts)})"
            )
        if match not in chosen:
            chosen.append(match)
    return chosen


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    """-e KEY=VALUE, -e '{"json": ...}' / YAML mapping, or -e @file.yml, as ansible-playbook."""
    out: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            path = Path(value[1:])
            if not path.is_file():
                raise NotFound(f"--extra-vars: {path} does not exist")
            data = yaml.safe_load(path.read_text())
        elif value.lstrip().startswith("{"):
            try:
                data = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise InvalidInput(f"--extra-vars: not valid JSON/YAML: {exc}") from None
        else:
            key, sep, raw = value.partition("=")
            if not sep or not key:
                raise InvalidInput(
                    f"--extra-vars: expected KEY=VALUE, @FILE or JSON, got {value!r}"
                )
            data = {key: yaml.safe_load(raw) if raw else ""}
        if not isinstance(data, dict):
            raise InvalidInput(f"--extra-vars: {value!r} is not a mapping")
        out.update(data)
    return out


@click.command()
@click.argument("pod")
@provider_option
@click.option(
    "--limit", "-l", metavar="HOSTS", help="Only these hosts (comma-separated: demo-h2, h2 or 2)."
)
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="AREA",
    help="Only this area (repeatable): ssh, os, firewall, docker, apparmor.",
)
@click.option(
    "--skip", "skip", multiple=True, metavar="AREA", help="Leave this area out (repeatable)."
)
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; report each control as pass, drift, not-applicable or unavailable. "
    "Exit code 8 when anything drifted.",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    nargs=2,
    type=(click.Choice(["json", "junit"]), click.Path(dir_okay=False, path_type=Path)),
    metavar="json|junit FILE",
    help="Also write the result as JSON or JUnit XML (repeatable).",
)
@click.option(
    "--extra-vars",
    "-e",
    "extra_vars",
    multiple=True,
    metavar="VARS",
    help="Role variables, as ansible-playbook -e: KEY=VALUE, JSON, or @FILE (repeatable). "
    "Not for secrets: run directories keep them.",
)
@pass_ctx
def run(
    ctx: Ctx,
    pod: str,
    provider_name: str | None,
    limit: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    check: bool,
    reports: tuple[tuple[str, Path], ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Harden the hosts of POD (SSH, OS, firewall, Docker daemon, AppArmor).

    Without --check the roles change what differs, then report every control.
    With --check nothing changes and the exit code says whether anything drifted
    (0: nothing, 8: drift), which is what a nightly timer or CI job wants.

    \b
    Examples:
      mason harden demo
      mason harden demo --check --report json drift.json --report junit drift.xml
      mason harden demo --only ssh --limit h2
      mason harden demo --skip firewall -e firewall_pod_tcp_ports=[8443]
    """
    catalogue = load_catalogue()
    only_areas = check_areas(only, "--only", catalogue)
    skip_areas = check_areas(skip, "--skip", catalogue)
    areas = [a for a in (only_areas or catalogue.areas) if a not in skip_areas]
    if not areas:
        raise InvalidInput("--only/--skip: no area left to harden")
    extravars = parse_extra_vars(extra_vars)
    _, hosts = hosts_of(ctx, pod, provider_name)
    targets = resolve_limit(pod, limit, hosts)
    result = _progress.run(
        ctx,
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
        extravars=extravars,
        raise_on_failure=False,
    )
    report = evaluate(
        load_events(result.artifact_dir),
        catalogue,
        hosts=[h.name for h in targets],
        check=check,
        areas=areas,
    )
    for fmt, path in reports:
        text = (
            render_json(report)
            if fmt == "json"
            else render_junit(report, name=f"mason harden {pod}")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if ctx.json:
        ctx.emit_json({"event": "harden_report", "pod": pod, **report.to_dict()})
    else:
        print_report(ctx, report, pod=pod)
        for fmt, path in reports:
            ctx.say(f"{fmt} report: {path}")
    _progress.raise_for_failures(result, "harden")
    drifted = report.by_status(DRIFT)
    if drifted:
        where = sorted({f"{f.host} {f.control}" for f in drifted})
        raise DriftFound(
            f"drift on {len({f.host for f in drifted})} host(s): {', '.join(where[:6])}"
            + (f" (+{len(where) - 6} more)" if len(where) > 6 else "")
        )
