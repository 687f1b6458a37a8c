"""``mason pod create``: make (or grow) a pod, then provision its new hosts."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import hosts_table, provider_option
from mason.core.errors import InvalidInput
from mason.operations.pods import PodCreated, PodRequest, create_pod


def _zones(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    zones = tuple(z.strip() for z in value.split(",") if z.strip())
    if not zones:
        raise InvalidInput("--zones: expected a comma-separated list such as zone-a,zone-b")
    return zones


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--label: expected KEY=VALUE, got {pair!r}")
        labels[key] = value
    return labels


@click.command()
@click.argument("name")
@provider_option
@click.option(
    "--hosts", "-n", "hosts", type=int, help="Number of hosts (default 3; more grows the pod)."
)
@click.option(
    "--zones", help="Comma-separated zones, assigned round-robin (default zone-a,zone-b,zone-c)."
)
@click.option(
    "--env",
    "environment",
    help="Environment of the pod: dev, staging, prod, ... (default 'default').",
)
@click.option(
    "--cpu", type=float, help="Cores per host (local hosts: the container's limit; default 1)."
)
@click.option(
    "--memory", help="Memory per host, e.g. 1Gi or 512Mi (local hosts: the container's limit)."
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Host label for placement (repeatable).",
)
@click.option(
    "--no-wait", is_flag=True, help="Create and tag the hosts only: no SSH wait, no provisioning."
)
@click.option(
    "--ssh-timeout", type=float, default=90.0, show_default=True, help="Seconds to wait for SSH."
)
@click.option("--region", help="Cloud region (aws: eu-west-1, ...; rackspace: DFW, ORD, IAD, ...).")
@click.option("--size", help="Cloud machine size (aws: instance type; rackspace: flavor).")
@click.option("--image", help="Cloud image (aws: AMI id or name pattern; rackspace: image).")
@click.option("--endpoint-url", help="aws: EC2 endpoint (default: boto3's, or AWS_ENDPOINT_URL).")
@click.option("--vpc-id", help="aws: put the pod in this existing VPC (never deleted by mason).")
@click.option(
    "--admin-network",
    "admin_networks",
    multiple=True,
    metavar="CIDR",
    help="aws: network allowed to reach SSH (repeatable; replaces options.admin_networks).",
)
@pass_ctx
def create(
    ctx: Ctx,
    name: str,
    provider_name: str | None,
    hosts: int | None,
    zones: str | None,
    environment: str | None,
    cpu: float | None,
    memory: str | None,
    labels: tuple[str, ...],
    no_wait: bool,
    ssh_timeout: float,
    region: str | None,
    size: str | None,
    image: str | None,
    endpoint_url: str | None,
    vpc_id: str | None,
    admin_networks: tuple[str, ...],
) -> None:
    """Create pod NAME, or grow it, and provision its new hosts.

    Settings come from the options, else from the pod's entry in mason.yml, else
    defaults. Re-running on an existing pod changes nothing and says so; a larger
    --hosts adds only the missing hosts. If a new host fails to come up, the hosts
    made by this run are removed again: a pod is never left half-made.

    \b
    Examples:
      mason pod create demo                      3 local hosts in zone-a/b/c
      mason pod create demo --hosts 5            grow it to 5
      mason pod create ci --env dev --hosts 2 --memory 512Mi --label disk=ssd
      mason pod create prod --provider aws --region eu-west-1 --size t3.small \\
          --admin-network 203.0.113.0/24 --hosts 3

    Cloud hosts (aws, rackspace) that do not answer SSH are kept, tagged and
    reported (exit 7): fix access and re-run to provision them, or destroy the pod.
    """
    request = PodRequest(
        name=name,
        provider=provider_name,
        hosts=hosts,
        zones=_zones(zones),
        environment=environment,
        cpu=cpu,
        memory=memory,
        labels=_labels(labels),
        options={
            "region": region,
            "size": size,
            "image": image,
            "endpoint_url": endpoint_url,
            "vpc_id": vpc_id,
            "admin_networks": list(admin_networks),
        },
        wait=not no_wait,
        ssh_timeout=ssh_timeout,
    )
    _render(ctx, create_pod(ctx.session(), request))


def _render(ctx: Ctx, done: PodCreated) -> None:
    name, result = done.spec.name, done.result
    if ctx.json:
        ctx.emit_json(
            {
                "pod": name,
                "provider": done.provider.name,
                "environment": done.spec.environment,
                "created": [h.name for h in result.created],
                "started": result.started,
                "changed": result.changed or bool(done.changes),
                "elapsed": round(done.elapsed, 2),
                "hosts": [h.to_dict() for h in done.hosts],
            }
        )
        return
    ctx.console.print(
        hosts_table(done.hosts, title=f"pod {name} ({done.spec.environment}, {done.provider.name})")
    )
    if result.created:
        summary = (
            f"pod {name}: {len(result.created)} host(s) created, "
            f"{len(done.hosts)} in all ({done.elapsed:.1f}s)"
        )
    elif result.started:
        summary = f"pod {name}: started stopped host(s) again: {', '.join(result.started)}"
    else:
        summary = (
            f"pod {name}: up to date, nothing changed "
            f"({len(done.hosts)} hosts, {done.changes} changes, {done.elapsed:.1f}s)"
        )
    ctx.console.print(summary)
