"""``mason app releases``: an app's release ledger on a pod, shown and verified."""

from __future__ import annotations

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import provider_option
from mason.core.errors import DriftFound
from mason.operations import releases as release_ops


@click.command("releases")
@click.argument("app_name", metavar="APP")
@click.option("--pod", required=True, metavar="POD", help="The pod the app runs on.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (also the global --json).")
@provider_option
@pass_ctx
def releases(ctx: Ctx, app_name: str, pod: str, as_json: bool, provider_name: str | None) -> None:
    """APP's releases on POD, oldest first, and whether the ledger is intact.

    Each deploy, rollback, revert, scale or heal records a release on the pod's
    manager (/etc/mason/releases/APP/, root-only) naming the one before it by hash.
    Shows number, kind, when, who and the services whose image changed, then
    verifies every record and the chain: exit 8 when a record was edited, lost or
    is readable by others.

    \b
    Examples:
      mason app releases guestbook --pod demo
      mason app releases guestbook --pod demo --json | jq '.releases[-1].hash'
    """
    ledger = release_ops.read_ledger(ctx.session(), pod, app_name, provider_name)
    if as_json or ctx.json:
        ctx.emit_json(ledger.to_dict())
    elif not ledger.records and ledger.ok:
        ctx.console.print(f"app {app_name} has no recorded release on pod {pod}")
    else:
        table = Table(show_edge=False, pad_edge=False, box=None)
        for col in ("release", "kind", "when", "who", "images changed", "hash", "note"):
            table.add_column(col, justify="right" if col == "release" else "left")
        for row in ledger.rows():
            table.add_row(
                str(row["number"]),
                row["kind"],
                row["when"],
                row["who"],
                ", ".join(row["images_changed"]) or "-",
                row["hash"][:12],
                row["note"],
            )
        ctx.console.print(table, markup=False)
        if ledger.ok:
            ctx.console.print(
                f"ledger of {app_name} on pod {pod}: {len(ledger.records)} release(s), "
                "verified (every record intact and chained)"
            )
    if not ledger.ok:
        if not (as_json or ctx.json):
            for problem in ledger.problems[1:]:
                ctx.err.print(problem, style="red", markup=False)
        more = f" (+{len(ledger.problems) - 1} more, above)" if len(ledger.problems) > 1 else ""
        raise DriftFound(
            f"ledger of {app_name} on pod {pod} fails verification: {ledger.problems[0]}{more}"
        )
