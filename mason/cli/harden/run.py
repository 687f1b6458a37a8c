"""``mason harden POD``: apply the hardening roles, or check for drift with --check."""

from __future__ import annotations

from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.harden._report import print_report, report_option
from mason.cli.pod._common import provider_option
from mason.core.controls import render_json, render_junit
from mason.core.extravars import parse_extra_vars
from mason.core.files import check_output_path, write_text
from mason.operations.harden import harden


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
@report_option
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
    # Every input, output paths included, is checked before any host is touched.
    extravars = parse_extra_vars(extra_vars)
    for _fmt, path in reports:
        check_output_path(path, where="--report")
    outcome = harden(
        ctx.session(),
        pod,
        provider_name=provider_name,
        limit=limit,
        only=only,
        skip=skip,
        check=check,
        extravars=extravars,
    )
    report = outcome.report
    for fmt, path in reports:
        text = (
            render_json(report)
            if fmt == "json"
            else render_junit(report, name=f"mason harden {pod}")
        )
        write_text(path, text)
    if ctx.json:
        ctx.emit_json({"event": "harden_report", "pod": pod, **report.to_dict()})
    else:
        print_report(ctx, report, pod=pod)
        for fmt, path in reports:
            ctx.say(f"{fmt} report: {path}")
    outcome.raise_for_verdict()
