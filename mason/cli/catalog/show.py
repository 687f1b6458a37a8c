"""``mason catalog show NAME``: an entry's template, recipe and addon contract."""

from __future__ import annotations

import click
import yaml

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import catalog_dirs
from mason.core.catalog import get_entry


@click.command("show")
@click.argument("name")
@pass_ctx
def show(ctx: Ctx, name: str) -> None:
    """Show entry NAME: service template, addon environment variables, image recipe.

    \b
    Examples:
      mason catalog show postgresql
      mason --json catalog show redis | jq .addon.env
    """
    entry = get_entry(catalog_dirs(ctx), name)
    if ctx.json:
        ctx.emit_json(
            {
                "name": entry.name,
                "description": entry.description,
                "path": str(entry.path),
                "service": dict(entry.template),
                "addon": {
                    "description": entry.addon.description,
                    "defaults": dict(entry.addon.defaults),
                    "env": dict(entry.addon.env),
                },
                "recipe": str(entry.recipe),
            }
        )
        return
    out = ctx.console
    out.print(f"{entry.name}: {entry.description}")
    out.print(f"from {entry.path}")
    out.print()
    out.print("Service template (use: mason app add-service APP SERVICE --catalog NAME):")
    out.print(yaml.safe_dump(dict(entry.template), sort_keys=False).rstrip(), markup=False)
    out.print()
    out.print(
        f"Addon (apps with `addons: [{entry.name}]` receive): {entry.addon.description}",
        markup=False,
    )
    for var, template in entry.addon.env.items():
        out.print(f"  {var}={template}", markup=False)
    out.print()
    out.print(f"Image recipe: {entry.recipe}")
