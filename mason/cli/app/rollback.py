"""``mason app rollback APP --pod POD [--to RELEASE]``: run a recorded release's images again."""

from __future__ import annotations

import time

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app
from mason.cli.app.deploy import finish
from mason.cli.pod._common import provider_option
from mason.operations import deploy as deploying


@click.command("rollback")
@click.argument("app_name", metavar="APP")
@click.option("--pod", required=True, metavar="POD", help="The pod the app runs on.")
@click.option(
    "--to",
    "target",
    default="previous",
    show_default=True,
    metavar="RELEASE",
    help="A release number, 'previous', or a hash prefix (see `mason app releases`).",
)
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the plan; stop.")
@pass_ctx
def rollback(
    ctx: Ctx,
    app_name: str,
    pod: str,
    target: str,
    provider_name: str | None,
    yes: bool,
    dry_run: bool,
) -> None:
    """Roll APP on POD back to a recorded release: its images, by digest, with no build.

    The release comes from the app's ledger on the pod (`mason app releases`). The
    rollback is itself recorded (kind rollback, "back to release N"), so rolling
    forward again is another rollback. The manifest's other settings are today's.

    \b
    Examples:
      mason app rollback guestbook --pod demo
      mason app rollback guestbook --pod demo --to 3 --yes
    """
    started = time.monotonic()
    path = app_file(ctx, app_name)
    app = load_app(ctx, path)
    prepared = deploying.prepare(
        ctx.session(),
        app,
        path.resolve(),
        pod,
        catalog_entries(ctx),
        provider_name=provider_name,
        rollback_to=target,
    )
    finish(ctx, prepared, yes=yes, dry_run=dry_run, force=False, started=started)
