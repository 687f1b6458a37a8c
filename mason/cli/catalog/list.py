"""``mason catalog list``: every catalog entry, one line each."""

from __future__ import annotations

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import catalog_entries
from mason.core.units import format_cpu, format_memory


@click.command("list")
@pass_ctx
def list_entries(ctx: Ctx) -> None:
    """List catalog entries: name, ports, resources, description.

    \b
    Examples:
      mason catalog list
      mason --json catalog list | jq '.[].name'
      MASON_CATALOG_PATH=~/my-catalog mason catalog list
    """
    entries = catalog_entries(ctx)
    rows = [
        {
            "name": e.name,
            "description": e.description,
            "image": e.service.image,
            "ports": [p.container for p in e.service.ports],
            "cpu": format_cpu(e.service.cpu),
            "memory": format_memory(e.service.memory),
            "env": list(e.addon.env),
            "path": str(e.path),
        }
        for e in entries.values()
    ]
    if ctx.json:
        ctx.emit_json(rows)
        return
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("name", "ports", "cpu", "memory", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"], ",".join(map(str, r["ports"])), r["cpu"], r["memory"], r["description"]
        )
    ctx.console.print(table)
