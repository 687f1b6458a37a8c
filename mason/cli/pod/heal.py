"""``mason pod heal POD``: start a lost host's replicas again on the hosts left."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app, time_limit_option
from mason.cli.pod._common import provider_option
from mason.core.errors import DriftFound
from mason.core.manifest.model import App
from mason.operations import heal as healing


@click.command("heal")
@click.argument("pod")
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what heal would do; stop.")
@click.option(
    "--move-stateful",
    is_flag=True,
    help="Start a lost replica that has volumes (a database) elsewhere, EMPTY: its data "
    "stays on the lost host.",
)
@time_limit_option
@pass_ctx
def heal(
    ctx: Ctx,
    pod: str,
    provider_name: str | None,
    yes: bool,
    dry_run: bool,
    move_stateful: bool,
    time_limit: float,
) -> None:
    """Start the replicas of POD's lost hosts again on the hosts left.

    A host is lost when its provider says it is not running or SSH cannot reach it.
    For every app on the pod, heal plans again without the lost hosts: replicas that
    run stay where they are, the lost ones go where anti-affinity and zones allow,
    from the newest recorded release (images by digest, no build), and every edge
    and sidecar is pointed at the new layout. The app's manifest must be the one
    that release was made from. A replica with volumes (a database) is not started
    empty elsewhere unless --move-stateful: its app is reported degraded instead.
    When lost hosts come back, `mason pod heal` again removes the copies they still
    run. Each heal is a release in the app's ledger (kind heal).

    Exit codes: 0 every app whole, 8 an app stays degraded (the reason is printed),
    5 the manager is lost (it holds the CA, the ledger and the registry), 6 a host failed.

    \b
    Examples:
      mason pod heal demo --dry-run
      mason pod heal demo --yes
      mason --json pod heal demo --yes | jq '.apps[] | {app, degraded}'
    """
    started = time.monotonic()

    def load(name: str) -> tuple[App, Path]:
        path = app_file(ctx, name)
        return load_app(ctx, path), path.resolve()

    session = ctx.session()
    plan = healing.plan(
        session,
        pod,
        load,
        catalog_entries(ctx),
        provider_name=provider_name,
        time_limit=time_limit,
        move_stateful=move_stateful,
    )
    if not ctx.json:
        _render(ctx, plan)
    if dry_run or not plan.needed:
        _finish(ctx, plan, [], started, dry_run=dry_run)
        return
    from mason.cli.app.deploy import confirm  # cli.app imports cli.pod: import when run

    confirm(ctx, f"Heal {len(plan.needed)} app(s) on pod {pod}?", yes)
    done = healing.apply(session, plan)
    _finish(ctx, plan, done, started, dry_run=False)


def _render(ctx: Ctx, plan: healing.HealPlan) -> None:
    from mason.cli.app.deploy import render_plan  # cli.app imports cli.pod: import when run

    console = ctx.console
    if plan.lost:
        for host, why in sorted(plan.lost.items()):
            console.print(f"lost: {host} ({why})")
    else:
        console.print(f"pod {plan.pod}: every host is reachable")
    for item in plan.apps:
        if item.degraded:
            console.print(f"[red]{item.app}: degraded: {item.degraded}[/red]")
        elif item.needed and item.prepared is not None:
            render_plan(ctx, item.prepared.plan)
        else:
            console.print(f"{item.app}: whole, nothing to do")


def _finish(ctx: Ctx, plan: healing.HealPlan, done: list, started: float, *, dry_run: bool) -> None:
    elapsed = time.monotonic() - started
    if ctx.json:
        ctx.emit_json(
            {
                **plan.to_dict(),
                "healed": [a.app for a in done],
                "dry_run": dry_run,
                "seconds": round(elapsed, 1),
            }
        )
    elif done:
        names = ", ".join(a.app for a in done)
        ctx.console.print(f"healed {names} on pod {plan.pod} ({elapsed:.1f}s)")
    if plan.degraded:
        names = ", ".join(a.app for a in plan.degraded)
        raise DriftFound(f"pod {plan.pod}: {names} degraded (see above)")
