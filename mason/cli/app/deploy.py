"""``mason app deploy APP --pod POD``: plan, show the diff, confirm, run deploy.yml."""

from __future__ import annotations

import time

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app, time_limit_option
from mason.cli.pod._common import provider_option
from mason.core import posture
from mason.core.deploy import DeployPlan
from mason.core.errors import InvalidInput
from mason.operations import deploy as deploying

ACTION_MARK = {"new": "+", "keep": " ", "update": "~", "move": "~", "remove": "-"}
DONE = {"rollback": "rolled back", "scale": "scaled", "heal": "healed"}  # by release kind
ACTION_STYLE = {
    "new": "green",
    "keep": "dim",
    "update": "yellow",
    "move": "yellow",
    "remove": "red",
}


def confirm(ctx: Ctx, question: str, yes: bool) -> None:
    """Ask on a terminal; refuse without --yes when there is none to ask on."""
    if yes:
        return
    if not click.get_text_stream("stdin").isatty():
        raise InvalidInput(f"{question} Refusing without --yes (no terminal to ask)")
    click.confirm(question, abort=True, err=True)


def render_plan(ctx: Ctx, plan: DeployPlan) -> None:
    console = ctx.console
    console.print(f"Deploy of app {plan.app} to pod {plan.pod} (release {plan.release})")
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("", "host", "service", "replica", "action", "image"):
        table.add_column(col, justify="right" if col == "replica" else "left")
    for c in plan.changes:
        action = c.action + (f" (from {c.previous_host})" if c.previous_host else "")
        image = plan.images.get(c.service, "") if c.action != "remove" else ""
        table.add_row(
            ACTION_MARK[c.action],
            c.host,
            c.service,
            str(c.replica),
            action,
            image.rsplit("/", 1)[-1][:40],
            style=ACTION_STYLE[c.action],
        )
    console.print(table)
    addons = ", ".join(f"{a} on {v['host']}" for a, v in sorted(plan.addons.items()))
    if addons:
        console.print(f"Addons: {addons}")
    if plan.edges:
        ports = ", ".join(str(p) for p in plan.edges[0]["ports"])
        console.print(f"Public ports: {ports} on every host (edge)")
    if plan.reloads:
        console.print(f"Sidecars reloaded (a peer moved; no restart): {', '.join(plan.reloads)}")
    for line in plan.to_dict()["rollout"]:
        console.print(f"Rollout {line} (drained, health-gated; all reverted if one fails)")
    counts = plan.counts()
    console.print(
        f"Plan: {counts['new']} to add, {counts['update']} to update, {counts['move']} to move, "
        f"{counts['keep']} to keep, {counts['remove']} to remove."
    )


def render_posture(ctx: Ctx, changes: list[posture.Change], against: int | None) -> None:
    """What the plan changes in the app's security posture (mason.core.posture)."""
    if against is None:
        return
    if not changes:
        ctx.console.print(f"Security posture: unchanged against release {against}")
        return
    ctx.console.print(f"Security posture against release {against}:")
    style = {posture.WEAKER: "bold red", posture.STRONGER: "green", posture.CHANGED: "yellow"}
    for c in changes:
        ctx.console.print(f"  {c.describe()}", style=style[c.verdict], markup=False)


@click.command("deploy")
@click.argument("app_name", metavar="APP")
@click.option("--pod", required=True, metavar="POD", help="The pod to deploy to.")
@provider_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the plan (and --json its extravars); stop.")
@click.option(
    "--force",
    is_flag=True,
    help="Run deploy.yml even when the plan changes nothing (re-converges every host).",
)
@click.option(
    "--allow-unhardened", is_flag=True, help="Deploy to hosts `mason harden` has not hardened."
)
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1, max=1000),
    default=1,
    show_default=True,
    help="Replicas of a service replaced at once (never a whole zone, never all of them).",
)
@click.option(
    "--force-unlock",
    is_flag=True,
    help="Take the app's deploy lock even when another run holds it (after a crashed run).",
)
@click.option(
    "--deny-weaker",
    is_flag=True,
    help="Refuse (exit 11) when the app's security posture would weaken against the newest "
    "release: a capability, a writable root, the image's user, a laxer AppArmor profile, a "
    "public port or a link added.",
)
@time_limit_option
@pass_ctx
def deploy(
    ctx: Ctx,
    app_name: str,
    pod: str,
    provider_name: str | None,
    yes: bool,
    dry_run: bool,
    force: bool,
    allow_unhardened: bool,
    force_unlock: bool,
    max_parallel: int,
    deny_weaker: bool,
    time_limit: float,
) -> None:
    """Deploy APP onto POD: build and ship its images, place it, run it behind mTLS proxies.

    APP is a name (apps/APP.yml) or a manifest path. mason reads what already runs
    on the pod (container labels), plans against it (running replicas stay where
    they are), shows the plan per host (+ add, ~ update or move, - remove) and asks;
    then runs playbooks/deploy.yml and waits until every proxy sees its backends up.
    Addons (postgresql, redis) get the app its own database and user; public ports
    answer on every host of the pod. Running it again with nothing changed changes
    nothing. The plan shows what changes in the app's security posture against the
    newest release (--deny-weaker refuses any weakening). Exit codes: 3 bad manifest,
    5 pod not hardened, 6 a host failed, 9 the app does not fit, 11 refused by
    --deny-weaker.

    \b
    Examples:
      mason app deploy guestbook --pod demo
      mason app deploy examples/guestbook/guestbook.yml --pod demo --yes
      mason app deploy shop --pod demo --dry-run
      mason app deploy shop --pod demo --yes --deny-weaker
      mason --json app deploy shop --pod demo --dry-run | jq .extravars > plan.json
    """
    started = time.monotonic()
    path = app_file(ctx, app_name)
    app = load_app(ctx, path)
    session = ctx.session()
    prepared = deploying.prepare(
        session,
        app,
        path.resolve(),
        pod,
        catalog_entries(ctx),
        provider_name=provider_name,
        allow_unhardened=allow_unhardened,
        time_limit=time_limit,
        max_parallel=max_parallel,
        deny_weaker=deny_weaker,  # refused before anything is built, shipped or run
    )
    prepared.force_unlock = force_unlock
    finish(ctx, prepared, yes=yes, dry_run=dry_run, force=force, started=started)


def finish(
    ctx: Ctx,
    prepared: deploying.Prepared,
    *,
    yes: bool,
    dry_run: bool,
    force: bool,
    started: float,
) -> None:
    """Show the plan, stop (dry run, nothing to do) or confirm and apply it."""
    session = ctx.session()
    plan = prepared.plan
    pod = prepared.pod
    changes = prepared.posture_changes()
    against = prepared.running.number if prepared.running and prepared.running.posture else None
    if not ctx.json:
        render_plan(ctx, plan)
        render_posture(ctx, changes, against)
    if dry_run:
        if ctx.json:
            ctx.emit_json(
                {
                    **plan.to_dict(),
                    "posture": [c.to_dict() for c in changes],
                    "extravars": prepared.extravars(),
                }
            )
        return
    replicas = len([c for c in plan.changes if c.action != "remove"])
    if not plan.changes_anything and not force:
        elapsed = time.monotonic() - started
        if ctx.json:
            ctx.emit_json({**plan.to_dict(), "run": None, "seconds": round(elapsed, 1)})
        else:
            ctx.console.print(
                f"app {plan.app} is up to date on pod {pod}: nothing to do "
                f"({replicas} replica(s) running release {plan.release}, {elapsed:.1f}s)"
            )
        return
    confirm(ctx, f"{prepared.kind.capitalize()} app {plan.app} on pod {pod}?", yes)
    result = deploying.apply(session, prepared)
    elapsed = time.monotonic() - started
    if ctx.json:
        ctx.emit_json({**plan.to_dict(), "run": result.to_dict(), "seconds": round(elapsed, 1)})
        return
    what = DONE.get(prepared.kind, "deployed") if result.changed else "up to date, nothing changed"
    ctx.console.print(
        f"app {plan.app} {what} on pod {pod} "
        f"(release {plan.release}, {replicas} replica(s), {result.changed} change(s), "
        f"{elapsed:.1f}s)"
    )
