"""``mason app scale APP SERVICE N --pod POD``: one service's replica count, nothing else."""

from __future__ import annotations

import time

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app, time_limit_option
from mason.cli.app.deploy import finish
from mason.cli.pod._common import provider_option
from mason.operations import scale as scaling


# ignore_unknown_options: `scale guestbook web -1` reaches the count's own check (one line)
# rather than Click's "no such option".
@click.command("scale", context_settings={"ignore_unknown_options": True})
@click.argument("app_name", metavar="APP")
@click.argument("service", metavar="SERVICE")
@click.argument("replicas", metavar="N")
@click.option("--pod", required=True, metavar="POD", help="The pod the app runs on.")
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the plan (and --json its extravars); stop.")
@time_limit_option
@pass_ctx
def scale(
    ctx: Ctx,
    app_name: str,
    service: str,
    replicas: str,
    pod: str,
    provider_name: str | None,
    yes: bool,
    dry_run: bool,
    time_limit: float,
) -> None:
    """Run N replicas of SERVICE of APP on POD; no other container restarts.

    Runs the app's newest recorded release again (images by digest, no build) with
    SERVICE at N replicas (1 to 1000) and every other service as that release placed
    it. Replicas that run stay where they are: scaling up starts new ones
    (health-gated), scaling down removes them where the service is most crowded
    (zone, then host), so none that stays moves; sidecars and edges
    reload. The scale is recorded in the app's ledger (kind scale). The manifest
    must be the one the newest release was made from, and the next `mason app
    deploy` applies the manifest's `replicas` again.
    Exit codes: 3 a bad N or a changed manifest, 4 no such service or no release,
    9 N replicas do not fit (anti-affinity, room), 6 a host failed.

    \b
    Examples:
      mason app scale guestbook web 3 --pod demo
      mason app scale guestbook web 2 --pod demo --dry-run
      mason --json app scale guestbook web 3 --pod demo --yes | jq .counts
    """
    started = time.monotonic()
    path = app_file(ctx, app_name)
    app = load_app(ctx, path)
    prepared = scaling.prepare(
        ctx.session(),
        app,
        path.resolve(),
        pod,
        service,
        replicas,
        catalog_entries(ctx),
        provider_name=provider_name,
        time_limit=time_limit,
    )
    finish(ctx, prepared, yes=yes, dry_run=dry_run, force=False, started=started)
