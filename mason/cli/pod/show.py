"""``mason pod show``: the hosts of one pod."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import hosts_table, provider_option
from mason.operations.lookup import hosts_of


@click.command()
@click.argument("name")
@provider_option
@pass_ctx
def show(ctx: Ctx, name: str, provider_name: str | None) -> None:
    """Show pod NAME: each host's role, zone, SSH address, capacity and state.

    \b
    Examples:
      mason pod show demo
      mason --json pod show demo | jq -r '.hosts[] | "\\(.name) \\(.zone)"'
    """
    provider, hosts = hosts_of(ctx.project_dir, name, provider_name)
    if ctx.json:
        ctx.emit_json(
            {
                "name": name,
                "provider": provider.name,
                "environment": hosts[0].environment,
                "hosts": [h.to_dict() for h in hosts],
            }
        )
        return
    ctx.console.print(
        hosts_table(hosts, title=f"pod {name} ({hosts[0].environment}, {provider.name})")
    )
