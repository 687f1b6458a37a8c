"""``mason pod list``: every pod the providers hold."""

from __future__ import annotations

import click
from rich.table import Table

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import provider_options
from mason.core.errors import MasonError
from mason.core.project import load_project
from mason.providers import get_provider


@click.command("list")
@click.option("--env", "environment", help="Only pods of this environment.")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    metavar="NAME",
    help="Providers to ask (repeatable; default: docker and those named in mason.yml).",
)
@pass_ctx
def list_pods(ctx: Ctx, environment: str | None, providers: tuple[str, ...]) -> None:
    """List pods: name, environment, provider, hosts, zones and state.

    \b
    Examples:
      mason pod list
      mason pod list --env prod
      mason --json pod list | jq '.[].name'
    """
    project = load_project(ctx.project_dir)
    if not providers:
        providers = tuple(dict.fromkeys(["docker", *(p.provider for p in project.pods.values())]))
    rows = []
    for name in providers:
        # settings (region, endpoint) of the first pod mason.yml puts on this provider
        pod_options = next((p.options for p in project.pods.values() if p.provider == name), {})
        provider = get_provider(name, provider_options(ctx, name, pod_options))
        try:
            provider.check()
        except MasonError:
            if len(providers) == 1:
                raise
            ctx.say(f"skipping provider {name}: not reachable")
            continue
        for pod, hosts in sorted(provider.list_pods(environment=environment).items()):
            states = sorted({h.state for h in hosts})
            rows.append(
                {
                    "name": pod,
                    "environment": hosts[0].environment,
                    "provider": name,
                    "hosts": len(hosts),
                    "zones": sorted({h.zone for h in hosts}),
                    "managers": [h.name for h in hosts if h.role == "manager"],
                    "state": states[0] if len(states) == 1 else "mixed: " + ",".join(states),
                }
            )
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.console.print("no pods" + (f" in environment {environment}" if environment else ""))
        return
    table = Table()
    for col in ("pod", "environment", "provider", "hosts", "zones", "state"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["environment"],
            r["provider"],
            str(r["hosts"]),
            ",".join(r["zones"]),
            r["state"],
        )
    ctx.console.print(table)
