"""``mason up`` / ``mason down``: the whole main job on the local embedded default."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import app_file, catalog_entries, load_app
from mason.cli.app.deploy import confirm, render_plan
from mason.core.names import check_pod_name
from mason.operations.lookup import provider_for
from mason.operations.pods import PodRequest, destroy_pod
from mason.operations.up import DEFAULT_POD, sample_app
from mason.operations.up import up as run_up


@click.command()
@click.option("--pod", default=DEFAULT_POD, show_default=True, help="The pod to make or use.")
@click.option("--hosts", type=int, default=None, help="Hosts of a new pod (default 3).")
@click.option(
    "--app",
    "app_ref",
    default=None,
    metavar="APP",
    help="The app to deploy (a name in apps/ or a manifest path); default: the sample guestbook.",
)
@pass_ctx
def up(ctx: Ctx, pod: str, hosts: int | None, app_ref: str | None) -> None:
    """Create a local pod, harden it, deploy an app, and print the curl that calls it.

    The pod gets 3 hosts over 3 zones (the embedded default: containers on this
    machine's Docker engine). The app is examples/guestbook unless --app names
    another: a web service with 2 replicas in different zones that stores
    messages in PostgreSQL and counts visits in Redis, both addons it gets its
    own account on, every connection through mTLS proxies. Running it again
    changes nothing and says so; `mason down` removes it all.

    \b
    Examples:
      mason up
      mason up --pod staging --app apps/shop.yml
      mason --json up | jq -r '.endpoints[0]'
    """
    started = time.monotonic()
    path = app_file(ctx, app_ref) if app_ref else sample_app()
    app = load_app(ctx, path)
    result = run_up(
        ctx.session(),
        PodRequest(name=pod, hosts=hosts),
        app,
        Path(path).resolve(),
        catalog_entries(ctx),
    )
    elapsed = time.monotonic() - started
    plan = result.prepared.plan
    if ctx.json:
        ctx.emit_json(
            {
                "pod": pod,
                "app": plan.app,
                "hosts": [h.to_dict() for h in result.created.hosts],
                "hardened_now": result.hardened,
                "deployed": result.deployed is not None,
                "plan": plan.to_dict(),
                "endpoints": result.endpoints,
                "seconds": round(elapsed, 1),
            }
        )
        return
    render_plan(ctx, plan)
    steps = [
        f"{len(result.created.result.created)} host(s) created"
        if result.created.result.created
        else "pod already there",
        "hardened" if result.hardened else "already hardened",
        f"release {plan.release} deployed" if result.deployed else "app already up to date",
    ]
    ctx.console.print(f"mason up: pod {pod}: {', '.join(steps)} ({elapsed:.1f}s)")
    for url in result.endpoints[:1]:
        ctx.console.print(f"try it:  curl {url}")
    if len(result.endpoints) > 1:
        ctx.console.print(f"(every host answers: {', '.join(result.endpoints[1:])})")


@click.command()
@click.option("--pod", default=DEFAULT_POD, show_default=True, help="The pod to remove.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def down(ctx: Ctx, pod: str, yes: bool) -> None:
    """Remove what `mason up` made: the pod, its apps and their data.

    \b
    Examples:
      mason down --yes
    """
    check_pod_name(pod)
    provider = provider_for(ctx.project_dir, pod)
    confirm(ctx, f"Destroy pod {pod!r}, its apps and their data?", yes)
    result = destroy_pod(ctx.session(), provider, pod)
    if ctx.json:
        ctx.emit_json({"pod": pod, "removed": result.removed})
        return
    ctx.console.print(f"pod {pod} removed ({len(result.removed)} resources)")
