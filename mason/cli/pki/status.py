"""``mason pki status POD``: every certificate of a pod, its identity, host and expiry."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta

import click
from rich.table import Table
from rich.text import Text

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pki._common import window_option
from mason.cli.pod._common import provider_option
from mason.core import pki
from mason.core.errors import ExitCode
from mason.core.units import format_span
from mason.operations.lookup import hosts_of
from mason.operations.runs import run

_STYLE = {
    pki.OK: "green",
    pki.ROTATE: "yellow",
    pki.EXPIRED: "red",
    pki.NOT_YET_VALID: "red",
    pki.UNPLANNED: "red",
}


def _left(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return format_span(seconds) if seconds > 0 else "expired"


@click.command()
@click.argument("pod")
@window_option
@provider_option
@pass_ctx
def status(ctx: Ctx, pod: str, window: timedelta, provider_name: str | None) -> None:
    """Show every certificate of POD: identity, instance, host, expiry and state.

    Warns about certificates that expire within the rotation window (renew them
    with `mason pki rotate POD`); exits with the drift code (8) when any has expired
    or a host holds an identity no release in the pod's ledger places there (unplanned),
    or a certificate the pod CA has revoked (every proxy refuses it).

    \b
    Examples:
      mason pki status demo
      mason pki status demo --window 12h
      mason --json pki status demo | jq '.certificates[] | select(.state != "ok")'
    """
    hosts_of(ctx.project_dir, pod, provider_name)  # a clear error for an unknown pod
    runs = ctx.project_dir / ".mason"
    runs.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="pki-status-", suffix=".json", dir=runs)
    os.close(fd)
    try:
        run(
            ctx.session(),
            "pki_status.yml",
            title=f"pki status {pod}",
            pods=[pod],
            # The CLI renders the records and judges them itself (exit 8 below).
            extravars={"mason_pki_status_file": name, "mason_pki_status_report_only": True},
        )
        with open(name, encoding="utf-8") as fh:
            found = json.load(fh)
    finally:
        os.unlink(name)
    report = pki.pod_status(
        pod,
        found["records"],
        window=window,
        planned=found["planned"],
        revoked=found.get("revoked", []),
    )
    if ctx.json:
        ctx.emit_json(report.to_dict())
    else:
        table = Table(title=f"certificates of pod {pod}", title_justify="left")
        for col in ("identity", "instance", "host", "serial", "not after (UTC)", "left", "state"):
            table.add_column(col)
        for c in report.certs:
            table.add_row(
                c.identity if c.kind == "leaf" else f"{c.identity} (CA)",
                c.instance or "-",
                c.host,
                f"{int(c.serial):x}"[:16] if c.serial.isdigit() else c.serial[:16],
                f"{c.not_after:%Y-%m-%d %H:%M}",
                _left(c.remaining(report.now)),
                Text(c.state, style=_STYLE.get(c.state, "")),
            )
        ctx.console.print(table)
        for line in report.warnings:
            ctx.err.print(f"warning: {line}", style="yellow", markup=False)
        if report.warnings:
            ctx.err.print(f"renew now with: mason pki rotate {pod}", markup=False)
    if report.worst in pki.PROBLEMS:
        click.get_current_context().exit(int(ExitCode.DRIFT))
