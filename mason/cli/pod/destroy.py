"""``mason pod destroy``: remove a pod and everything mason made for it."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import provider_for, provider_option
from mason.core.errors import InvalidInput
from mason.core.names import check_pod_name
from mason.providers.keys import forget_pod


@click.command()
@click.argument("name")
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def destroy(ctx: Ctx, name: str, provider_name: str | None, yes: bool) -> None:
    """Destroy pod NAME: its hosts, their volumes, its network and its SSH key.

    Only what mason made for this pod is removed (found by its labels or tags).
    """
    check_pod_name(name)
    provider = provider_for(ctx, name, provider_name)
    hosts = provider.list_hosts(name)
    if not yes:
        if not click.get_text_stream("stdin").isatty():
            raise InvalidInput(
                f"refusing to destroy pod {name!r} without --yes (no terminal to ask)"
            )
        click.confirm(f"Destroy pod {name!r} and its {len(hosts)} host(s)?", abort=True, err=True)
    result = provider.destroy_pod(name, progress=ctx.say)
    forget_pod(provider.name, name)
    if ctx.json:
        ctx.emit_json({"pod": name, "provider": provider.name, "removed": result.removed})
        return
    ctx.console.print(f"pod {name} destroyed ({len(result.removed)} resources removed)")
