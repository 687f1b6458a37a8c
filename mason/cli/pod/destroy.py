"""``mason pod destroy``: remove a pod and everything mason made for it."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import provider_option
from mason.core.errors import InvalidInput
from mason.core.names import check_pod_name
from mason.operations.lookup import provider_for
from mason.operations.pods import destroy_pod


@click.command()
@click.argument("name")
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def destroy(ctx: Ctx, name: str, provider_name: str | None, yes: bool) -> None:
    """Destroy pod NAME: its hosts, their volumes, its network and its SSH key.

    Only what mason made for this pod is removed (found by its labels or tags).

    \b
    Examples:
      mason pod destroy demo             asks first (on a terminal)
      mason pod destroy demo --yes       scripts, CI and AWX
      mason --json pod destroy demo -y | jq '.removed'
    """
    check_pod_name(name)
    # Not hosts_of: a pod whose hosts are gone may still hold a network or volumes.
    provider = provider_for(ctx.project_dir, name, provider_name)
    hosts = provider.list_hosts(name)
    if not yes:
        if not click.get_text_stream("stdin").isatty():
            raise InvalidInput(
                f"refusing to destroy pod {name!r} without --yes (no terminal to ask)"
            )
        click.confirm(f"Destroy pod {name!r} and its {len(hosts)} host(s)?", abort=True, err=True)
    result = destroy_pod(ctx.session(), provider, name)
    if ctx.json:
        ctx.emit_json({"pod": name, "provider": provider.name, "removed": result.removed})
        return
    ctx.console.print(f"pod {name} destroyed ({len(result.removed)} resources removed)")
