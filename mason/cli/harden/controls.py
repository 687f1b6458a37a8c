"""``mason harden controls``: the catalogue of hardening controls."""

from __future__ import annotations

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.core.controls import control_tasks, load_catalogue, render_markdown
from mason.core.errors import InvalidInput
from mason.operations.harden import check_areas
from mason.paths import content_root


@click.command()
@click.option("--area", "areas", multiple=True, help="Only controls of this area (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (also the global --json).")
@click.option(
    "--markdown",
    is_flag=True,
    help="Print docs/controls.md: every control with the tasks that enforce it.",
)
@pass_ctx
def controls(ctx: Ctx, areas: tuple[str, ...], as_json: bool, markdown: bool) -> None:
    """List the hardening controls: ID, area, title and benchmark references.

    The same list, with the tasks that enforce each control, is docs/controls.md.

    \b
    Examples:
      mason harden controls
      mason harden controls --area ssh --area docker
      mason harden controls --markdown > docs/controls.md
      mason harden controls --json | jq -r '.[] | select(.refs.cis_docker) | .id'
    """
    catalogue = load_catalogue()
    if markdown:
        if areas or as_json or ctx.json:
            raise InvalidInput("--markdown prints the whole catalogue: drop --area and --json")
        roles = content_root() / "roles"
        click.echo(render_markdown(catalogue, control_tasks(roles, catalogue)), nl=False)
        return
    selected = catalogue.in_areas(check_areas(areas, "--area", catalogue) or None)
    if as_json or ctx.json:
        ctx.emit_json(
            [
                {
                    "id": c.id,
                    "area": c.area,
                    "title": c.title,
                    "refs": {k: list(v) for k, v in c.refs.items()},
                    **({"note": c.note} if c.note else {}),
                }
                for c in selected
            ]
        )
        return
    table = Table(title=f"{len(selected)} hardening controls", title_justify="left")
    for col in ("id", "area", "control", "benchmarks"):
        table.add_column(col, overflow="fold")
    for c in selected:
        table.add_row(c.id, c.area, c.title, c.refs_text() or "-")
    ctx.console.print(table)
