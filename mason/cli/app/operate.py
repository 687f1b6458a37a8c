"""``mason app status / list / remove``: what runs of an app on a pod, and removing it."""

from __future__ import annotations

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app.deploy import confirm
from mason.cli.pod._common import provider_option
from mason.core.errors import HostsUnreachable
from mason.operations import apps as app_ops

HEALTH_STYLE = {"healthy": "green", "unhealthy": "red", "starting": "yellow"}


@click.command("status")
@click.argument("app_name", metavar="APP")
@click.option("--pod", required=True, metavar="POD", help="The pod the app runs on.")
@provider_option
@pass_ctx
def status(ctx: Ctx, app_name: str, pod: str, provider_name: str | None) -> None:
    """Every replica of APP on POD: host, zone, state, health, release, image, uptime.

    Read from the hosts themselves (container labels), so it shows what runs, not
    what was asked. Exit 4 when the app does not run on the pod.

    \b
    Examples:
      mason app status guestbook --pod demo
      mason --json app status guestbook --pod demo | jq '.replicas[] | select(.health != "healthy")'
    """
    found, rows = app_ops.app_status(ctx.session(), pod, app_name, provider_name)
    if ctx.json:
        ctx.emit_json(
            {
                "app": app_name,
                "pod": pod,
                "replicas": [r.to_dict() for r in rows],
                "unreachable": found.unreachable,
            }
        )
        return
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("service", "replica", "host", "zone", "state", "health", "release", "image", "up"):
        table.add_column(col, justify="right" if col in ("replica", "release") else "left")
    for r in rows:
        table.add_row(
            r.service,
            str(r.replica),
            r.host,
            r.zone,
            r.state,
            f"[{HEALTH_STYLE.get(r.health, 'dim')}]{r.health}[/]",
            str(r.release),
            r.image.rsplit("/", 1)[-1][:48],
            r.uptime,
        )
    ctx.console.print(table)
    ok = sum(1 for r in rows if app_ops.healthy(r))
    ctx.console.print(f"app {app_name} on pod {pod}: {ok}/{len(rows)} replica(s) healthy")
    for host in found.unreachable:
        ctx.console.print(f"[red]{host} is unreachable: its replicas are not shown[/]")


@click.command("list")
@click.option("--pod", required=True, metavar="POD", help="The pod to look at.")
@provider_option
@pass_ctx
def list_(ctx: Ctx, pod: str, provider_name: str | None) -> None:
    """The apps running on POD, with their replicas, release and public ports.

    \b
    Examples:
      mason app list --pod demo
      mason --json app list --pod demo | jq -r '.[].app'
    """
    apps = app_ops.list_apps(ctx.session(), pod, provider_name)
    if ctx.json:
        ctx.emit_json(apps)
        return
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("app", "services", "replicas", "release", "public", "addons"):
        table.add_column(col)
    for a in apps:
        table.add_row(
            a["app"],
            ", ".join(a["services"]),
            f"{a['healthy']}/{a['replicas']} healthy",
            str(a["release"]),
            ", ".join(str(p) for p in a["public"]) or "-",
            ", ".join(a["addons"]) or "-",
        )
    ctx.console.print(table if apps else f"no app runs on pod {pod}")


@click.command("remove")
@click.argument("app_name", metavar="APP")
@click.option("--pod", required=True, metavar="POD", help="The pod to remove it from.")
@click.option("--purge", is_flag=True, help="Also drop its databases, users, volumes, passwords.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@provider_option
@pass_ctx
def remove(
    ctx: Ctx, app_name: str, pod: str, purge: bool, yes: bool, provider_name: str | None
) -> None:
    """Remove APP from POD: its containers, sidecars, edges, networks and certificates.

    Its data stays (its database and user on each addon, its volumes, its
    passwords), so deploying it again finds them; --purge drops them too.

    \b
    Examples:
      mason app remove guestbook --pod demo
      mason app remove guestbook --pod demo --purge --yes
    """
    what = "and its data " if purge else ""
    confirm(ctx, f"Remove app {app_name} {what}from pod {pod}?", yes)
    result = app_ops.remove_app(
        ctx.session(), pod, app_name, purge=purge, provider_name=provider_name
    )
    if ctx.json:
        ctx.emit_json({"app": app_name, "pod": pod, "purged": purge, "run": result.to_dict()})
        return
    if result.changed:
        kept = "" if purge else " (its data is kept: --purge drops it)"
        ctx.console.print(f"app {app_name} removed from pod {pod}{kept}")
    else:
        ctx.console.print(f"app {app_name} does not run on pod {pod}: nothing to remove")


@click.command("logs")
@click.argument("app_name", metavar="APP")
@click.argument("service", required=False)
@click.option("--pod", required=True, metavar="POD", help="The pod the app runs on.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option(
    "--tail",
    type=click.IntRange(min=0, max=100_000),
    default=100,
    show_default=True,
    help="Lines from the end of each replica's log.",
)
@provider_option
@pass_ctx
def logs(
    ctx: Ctx,
    app_name: str,
    service: str | None,
    pod: str,
    follow: bool,
    tail: int,
    provider_name: str | None,
) -> None:
    """The logs of APP's replicas on POD (of SERVICE only, when given), each line
    prefixed with its replica, read over SSH from the hosts that run them.

    \b
    Examples:
      mason app logs guestbook --pod demo
      mason app logs guestbook web --pod demo --follow --tail 0
    """
    sources = app_ops.log_sources(ctx.session(), pod, app_name, service, provider_name)
    width = max(len(label) for label, _, _ in sources)

    def emit(label: str, line: str) -> None:
        if ctx.json:
            ctx.emit_json({"replica": label, "line": line})
        else:
            click.echo(f"{label:<{width}} | {line}")

    rc = app_ops.follow_logs(sources, tail=tail, follow=follow, emit=emit)
    if rc not in (0, 130, -15):
        raise HostsUnreachable(f"reading logs failed on some host (ssh exited {rc})")
