"""Showing a harden run's findings."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from mason.cli._context import Ctx
from mason.core.controls import (
    DRIFT,
    ERROR,
    FIXED,
    NOT_APPLICABLE,
    NOT_CHECKED,
    PASS,
    UNAVAILABLE,
    Report,
)

# --report json|junit FILE, as `mason harden` and `mason harden report` take it
report_option = click.option(
    "--report",
    "reports",
    multiple=True,
    nargs=2,
    type=(click.Choice(["json", "junit"]), click.Path(dir_okay=False, path_type=Path)),
    metavar="json|junit FILE",
    help="Also write the result as JSON or JUnit XML (repeatable).",
)

STYLE = {
    PASS: "green",
    DRIFT: "bold red",
    FIXED: "yellow",
    NOT_APPLICABLE: "dim",
    UNAVAILABLE: "magenta",
    ERROR: "bold red",
    NOT_CHECKED: "red",
}


def print_report(ctx: Ctx, report: Report, *, pod: str) -> None:
    table = Table(
        title=f"{'check' if report.check else 'harden'} {pod}: {len(report.controls)} controls "
        f"on {len(report.hosts)} host(s)",
        title_justify="left",
    )
    table.add_column("control")
    table.add_column("title", overflow="ellipsis", max_width=60, no_wrap=True)
    short = {h: h.removeprefix(f"{pod}-") for h in report.hosts}
    for h in report.hosts:
        table.add_column(short[h])
    for c in report.controls:
        cells = []
        for h in report.hosts:
            status = report.finding(h, c.id).status
            cells.append(Text(status, style=STYLE.get(status, "")))
        table.add_row(c.id, c.title, *cells)
    ctx.console.print(table)
    for f in report.findings.values():
        if f.status in (DRIFT, FIXED, ERROR, NOT_CHECKED) and f.details:
            for line in f.details:
                ctx.console.print(f"{f.host}: {f.control} {f.status}: {line}", markup=False)
        elif f.status in (DRIFT, NOT_CHECKED, ERROR):
            ctx.console.print(f"{f.host}: {f.control} {f.status}", markup=False)
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    ctx.console.print(f"{pod}: {counts}", markup=False)
