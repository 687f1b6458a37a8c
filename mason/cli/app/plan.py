"""``mason app plan APP``: where every container would go, like a terraform/nomad plan."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, display, load_app, time_limit_option
from mason.cli.app.deploy import render_posture
from mason.cli.pod._common import provider_option
from mason.core.errors import Infeasible
from mason.core.hostsfile import load_hosts_file
from mason.core.placement import KEEP, MOVE, NEW, REMOVE, Plan
from mason.core.units import format_memory
from mason.operations import apps

ACTION_STYLE = {NEW: "green", KEEP: "dim", MOVE: "yellow", REMOVE: "red"}
ACTION_MARK = {NEW: "+", KEEP: " ", MOVE: "~", REMOVE: "-"}


@click.command("plan")
@click.argument("app_name", metavar="APP")
@click.option("--pod", metavar="POD", help="Plan against this pod's hosts.")
@click.option(
    "--hosts-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan against hosts described in a YAML or JSON file (docs/placement.md).",
)
@provider_option
@click.option("--explain", is_flag=True, help="Show every bidder's verdict for each container.")
@time_limit_option
@click.option(
    "--rebalance",
    is_flag=True,
    help="Let the repair move running containers too (by default a kept container stays).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
@pass_ctx
def plan(
    ctx: Ctx,
    app_name: str,
    pod: str | None,
    hosts_file: Path | None,
    provider_name: str | None,
    explain: bool,
    time_limit: float,
    rebalance: bool,
    as_json: bool,
) -> None:
    """Plan where every container of APP goes: service, replica, host, zone, action.

    APP is a name (apps/APP.yml in the project) or a manifest path. Actions:
    new, keep (stays where it runs), move, remove. When greedy placement leaves
    a container without a host, a repair moves other new containers of the app
    (running ones too with --rebalance) to make room, for at most --time-limit
    seconds. Exits 9 when some container still fits nowhere, after printing
    why, per bidder, and whether a layout provably does not exist. With --pod it
    also shows what the manifest changes in the app's security posture against the
    newest release on the pod (capabilities, read-only root, user, AppArmor, public
    ports, links; each weaker, stronger or changed).

    \b
    Examples:
      mason app plan shop --pod demo
      mason app plan shop --hosts-file pod.yml --explain
      mason app plan shop --hosts-file pod.yml --json | jq '.placements'
      mason app plan shop --pod demo --time-limit 10 --rebalance
    """
    if (pod is None) == (hosts_file is None):
        raise click.UsageError("give exactly one of --pod or --hosts-file")
    app = load_app(ctx, app_file(ctx, app_name))
    described = where = None
    if hosts_file is not None:
        where = display(hosts_file, ctx.project_dir)
        described = load_hosts_file(hosts_file, source=where)
    planned = apps.plan_app(
        ctx.session(),
        app,
        pod=pod,
        provider_name=provider_name,
        described=described,
        where=where or "",
        explain=explain,
        time_limit=time_limit,
        rebalance=rebalance,
    )
    result = planned.result
    if ctx.json or as_json:
        data = {"app": app.name, **result.to_dict()}
        if pod is not None:
            data["posture"] = {
                "against": planned.against,
                "changes": [c.to_dict() for c in planned.changes],
                "weaker": any(c.weaker for c in planned.changes),
            }
        ctx.emit_json(data)
    else:
        _render(ctx, app.name, planned.where, planned.hosts, result, explain)
        if pod is not None:
            ctx.console.print()
            if planned.against is None:
                ctx.console.print(
                    f"Security posture: no release of {app.name} on pod {pod} to compare with"
                )
            render_posture(ctx, planned.changes, planned.against)
    if result.unplaced:
        first = result.unplaced[0]
        more = f" (and {len(result.unplaced) - 1} more)" if len(result.unplaced) > 1 else ""
        raise Infeasible(
            f"{len(result.unplaced)} container(s) of app {app.name} fit nowhere: "
            f"{first.service} replica {first.replica}: {'; '.join(first.reasons)}{more}"
        )


def _render(ctx: Ctx, app: str, where: str, hosts, result: Plan, explain: bool) -> None:
    console = ctx.console
    capacity = sum(h.memory for h in hosts)
    console.print(f"Plan for app {app} on {where} ({len(hosts)} hosts, {format_memory(capacity)})")
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("", "service", "replica", "host", "zone", "action"):
        table.add_column(col, justify="right" if col == "replica" else "left")
    for p in result.placements:
        action = p.action if p.previous_host is None else f"{p.action} (from {p.previous_host})"
        style = ACTION_STYLE[p.action]
        table.add_row(
            ACTION_MARK[p.action],
            p.service,
            str(p.replica),
            p.host,
            p.zone or "-",
            action,
            style=style,
        )
    for u in result.unplaced:
        table.add_row("!", u.service, str(u.replica), "-", "-", "unplaced", style="bold red")
    console.print(table)
    for u in result.unplaced:
        console.print(
            f"[red]{u.service} replica {u.replica} fits nowhere:[/] {'; '.join(u.reasons)}"
        )
    _render_repair(ctx, result)
    if explain:
        console.print()
        console.print("Bidders' verdicts:")
        for e in result.explanations:
            console.print(f"  {e.service}/{e.replica} -> {e.host or 'nowhere'} ({e.action})")
            for v in e.verdicts:
                rejected = "; ".join(
                    f"{n} host{'s' if n != 1 else ''}: {r}" for r, n in v.rejected.items()
                )
                text = rejected or ("accepts every host" if not v.note else "")
                parts = [p for p in (text, v.note) if p]
                console.print(f"    {v.bidder}: {', '.join(parts)}")
    console.print()
    console.print("Survival (replicas left after the worst single loss; min_available):")
    for s in result.survival:
        host_ok = "ok" if s.survives_host_loss else "AT RISK"
        zone_ok = "ok" if s.survives_zone_loss else "AT RISK"
        need = (
            f"; {s.replicas_for_zone_loss} replicas would survive a zone loss"
            if not s.survives_zone_loss and s.replicas_for_zone_loss
            else ""
        )
        console.print(
            f"  {s.service}: {s.replicas} placed, min {s.min_available}; host loss -> "
            f"{s.after_host_loss} {host_ok}; zone loss -> {s.after_zone_loss} {zone_ok}{need}"
        )
    counts = {a: sum(1 for p in result.placements if p.action == a) for a in ACTION_MARK}
    console.print()
    console.print(
        f"Plan: {counts[NEW]} to add, {counts[MOVE]} to move, {counts[KEEP]} to keep, "
        f"{counts[REMOVE]} to remove, {len(result.unplaced)} unplaced."
    )


def _render_repair(ctx: Ctx, result: Plan) -> None:
    """One line on the repair, when greedy placement alone left containers without a host."""
    r = result.repair
    if r is None:
        return
    if r.outcome == "placed":
        ctx.console.print(
            f"Repair: greedy placement left {r.unplaced_before} container(s) without a host; "
            f"the repair placed them, moving {r.moved} container(s) greedy had placed."
        )
    elif r.verdict:
        ctx.console.print(f"[red]Repair:[/] {r.verdict}")
