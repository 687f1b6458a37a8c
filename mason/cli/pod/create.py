"""``mason pod create``: make (or grow) a pod, then provision its new hosts."""

from __future__ import annotations

import contextlib
import time

import click

from mason.cli import _progress
from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import hosts_table, provider_option, provider_options
from mason.core.errors import HostsUnreachable, InvalidInput, MasonError, NotFound
from mason.core.names import check_name, check_pod_name
from mason.core.project import load_project, parse_memory
from mason.providers import get_provider, provider_class
from mason.providers.base import DEFAULT_ENVIRONMENT, DEFAULT_ZONES, PodSpec
from mason.providers.keys import forget_pod, pod_key
from mason.providers.wait import wait_for_ssh

# Provider options that have a flag of their own (cloud providers); each feeds
# the pod's ``options`` (mason.yml) under the same key, and wins over it.
_CLOUD_FLAGS = {
    "region": "--region",
    "size": "--size",
    "image": "--image",
    "endpoint_url": "--endpoint-url",
    "vpc_id": "--vpc-id",
    "admin_networks": "--admin-network",
}


def _zones(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    zones = tuple(z.strip() for z in value.split(",") if z.strip())
    if not zones:
        raise InvalidInput("--zones: expected a comma-separated list such as zone-a,zone-b")
    return tuple(check_name("zone", z, where="--zones") for z in zones)


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
    check_pod_name(name)
    defaults = load_project(ctx.project_dir).pod(name)
    provider_name = provider_name or defaults.provider
    if hosts is not None and hosts < 1:
        raise InvalidInput(f"--hosts: must be >= 1, got {hosts}")
    if cpu is not None and cpu <= 0:
        raise InvalidInput(f"--cpu: must be > 0, got {cpu:g}")
    # Every option is checked before the provider is touched: bad input never
    # leaves anything behind.
    zone_list = _zones(zones) or defaults.zones or DEFAULT_ZONES
    memory_bytes = parse_memory(memory, "--memory") if memory else defaults.memory or 2**30
    label_map = {**defaults.labels, **_labels(labels)}
    if environment:
        check_name("environment", environment, where="--env")
    flags = {
        "region": region,
        "size": size,
        "image": image,
        "endpoint_url": endpoint_url,
        "vpc_id": vpc_id,
        "admin_networks": list(admin_networks),
    }
    options = {**defaults.options, **{k: v for k, v in flags.items() if v}}
    accepted = getattr(provider_class(provider_name), "option_keys", ())
    for key, value in flags.items():
        if value and key not in accepted:
            raise InvalidInput(f"{_CLOUD_FLAGS[key]}: not an option of provider {provider_name!r}")
    options = provider_options(ctx, provider_name, options)
    provider = get_provider(provider_name, options)
    provider.check()
    existing = provider.list_hosts(name)
    spec = PodSpec(
        name=name,
        provider=provider.name,
        environment=check_name(
            "environment",
            environment
            or defaults.environment
            or (existing[0].environment if existing else DEFAULT_ENVIRONMENT),
            where="--env",
        ),
        hosts=hosts or defaults.hosts or len(existing) or 3,
        zones=zone_list,
        cpu=cpu or defaults.cpu or 1.0,
        memory=memory_bytes,
        labels=label_map,
        options=options,
    )
    started = time.monotonic()
    key = pod_key(provider.name, name)
    try:
        result = provider.create_hosts(spec, key, progress=ctx.say)
    except BaseException:
        # The provider rolled back its own hosts; a pod this run began leaves no key.
        if not existing:
            forget_pod(provider.name, name)
        raise
    try:
        if result.created and not no_wait:
            ctx.say(f"waiting for SSH on {len(result.created)} host(s)")
            unreachable = wait_for_ssh(result.created, timeout=ssh_timeout)
            if unreachable:
                raise HostsUnreachable(
                    "not reachable over SSH after "
                    f"{ssh_timeout:g}s: {', '.join(h.name for h in unreachable)}"
                )
        run = None
        if not no_wait:
            targets = result.created or result.hosts
            run = _progress.run(
                ctx,
                "provision",
                title=f"provision {name}",
                pods=[name],
                providers=[provider.name],
                provider_options={provider.name: options},
                limit=",".join(h.name for h in targets),
            )
    except (MasonError, KeyboardInterrupt) as exc:
        if isinstance(exc, HostsUnreachable) and getattr(provider, "keep_unreachable", False):
            # Cloud hosts are slow and costly to re-make, and unreachable mostly
            # means an admin network is missing: keep them (tagged) and say how on.
            raise HostsUnreachable(
                exc.message,
                hint=f"hosts kept; allow SSH from here and re-run `mason pod create {name}` "
                f"to provision them, or `mason pod destroy {name}`",
            ) from None
        if result.created:
            ctx.say(f"rolling back: removing the {len(result.created)} host(s) made by this run")
            if result.existing:
                provider.remove_hosts(name, [h.name for h in result.created])
            else:
                with contextlib.suppress(NotFound):
                    provider.destroy_pod(name)
                forget_pod(provider.name, name)
        raise
    elapsed = time.monotonic() - started
    hosts_now = provider.list_hosts(name)
    if result.created:
        summary = (
            f"pod {name}: {len(result.created)} host(s) created, "
            f"{len(hosts_now)} in all ({elapsed:.1f}s)"
        )
    elif result.started:
        summary = f"pod {name}: started stopped host(s) again: {', '.join(result.started)}"
    else:
        changed = run.changed if run else 0
        summary = (
            f"pod {name}: up to date, nothing changed "
            f"({len(hosts_now)} hosts, {changed} changes, {elapsed:.1f}s)"
        )
    if ctx.json:
        ctx.emit_json(
            {
                "pod": name,
                "provider": provider.name,
                "environment": spec.environment,
                "created": [h.name for h in result.created],
                "started": result.started,
                "changed": result.changed or bool(run and run.changed),
                "elapsed": round(elapsed, 2),
                "hosts": [h.to_dict() for h in hosts_now],
            }
        )
        return
    ctx.console.print(
        hosts_table(hosts_now, title=f"pod {name} ({spec.environment}, {provider.name})")
    )
    ctx.console.print(summary)
