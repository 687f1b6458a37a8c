"""``mason harden report``: the verdict of a harden job run elsewhere (AWX, ansible-runner)."""

from __future__ import annotations

from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.harden._report import print_report, report_option
from mason.core.controls import render_json, render_junit
from mason.core.files import check_output_path, write_text
from mason.operations.harden import MODES, raise_for_drift, report_from_events


@click.command()
@click.argument("events", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="Whether the job was a check (AWX job type Check) or applied the roles; "
    "by default what the play's own report in the events says.",
)
@click.option("--only", "only", multiple=True, metavar="AREA", help="Only this area (repeatable).")
@click.option("--skip", "skip", multiple=True, metavar="AREA", help="Leave this area out.")
@report_option
@pass_ctx
def report(
    ctx: Ctx,
    events: tuple[Path, ...],
    mode: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    reports: tuple[tuple[str, Path], ...],
) -> None:
    """Judge every control from a harden job's EVENTS, as `mason harden` judges its runs.

    EVENTS: an ansible-runner private data or artifact directory (its job_events/),
    or a file of job events: AWX's /api/v2/jobs/ID/job_events/ page (JSON with
    "results"), a JSON list, or one event per line. The same table, JSON and JUnit
    as `mason harden`; exit 8 when a check found drift.

    \b
    Examples:
      mason harden report /runner/artifacts/7f3c... --report junit drift.xml
      curl -su admin "$AWX/api/v2/jobs/42/job_events/?page_size=200" > events.json
      mason harden report events.json --report json drift.json
    """
    for _fmt, path in reports:
        check_output_path(path, where="--report")
    result = report_from_events(list(events), mode=mode, only=only, skip=skip)
    for fmt, path in reports:
        text = render_json(result) if fmt == "json" else render_junit(result, name="mason harden")
        write_text(path, text)
    if ctx.json:
        ctx.emit_json({"event": "harden_report", **result.to_dict()})
    else:
        print_report(ctx, result, pod="job")
        for fmt, path in reports:
            ctx.say(f"{fmt} report: {path}")
    raise_for_drift(result)
