"""``mason pod list``: every pod the providers hold."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.operations import pods as pod_ops


@click.command("list")
@click.option("--env", "environment", help="Only pods of this environment.")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    metavar="NAME",
    help="Providers to ask (repeatable; default: docker and those named in mason.yml).",
)
@pass_ctx
def list_pods(ctx: Ctx, environment: str | None, providers: tuple[str, ...]) -> None:
    """List pods: name, environment, provider, hosts, zones and state.

    \b
    Examples:
      mason pod list
      mason pod list --env prod
      mason --json pod list | jq '.[].name'
    """
    pods = pod_ops.list_pods(ctx.session(), environment, providers)
    rows = [asdict(p) for p in pods]
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.console.print("no pods" + (f" in environment {environment}" if environment else ""))
        return
    table = Table()
    for col in ("pod", "environment", "provider", "hosts", "zones", "state"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["environment"],
            r["provider"],
            str(r["hosts"]),
            ",".join(r["zones"]),
            r["state"],
        )
    ctx.console.print(table)
