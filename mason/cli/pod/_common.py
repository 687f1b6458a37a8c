"""Helpers shared by the pod commands: find a pod's provider, render hosts."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.table import Table

from mason.cli._context import Ctx
from mason.core.errors import NotFound
from mason.core.names import check_pod_name
from mason.core.project import load_project
from mason.providers import get_provider, known
from mason.providers.base import Host, Provider

provider_option = click.option(
    "--provider",
    "provider_name",
    metavar="NAME",
    envvar="MASON_PROVIDER",
    show_envvar=True,
    help="Provider that holds the pod (default: the pod's entry in mason.yml, else docker).",
)


def provider_for(ctx: Ctx, pod: str, provider_name: str | None) -> Provider:
    """The provider of ``pod``: explicit option, else mason.yml, else the local engine."""
    project = load_project(ctx.project_dir)
    defaults = project.pod(pod)
    name = provider_name or defaults.provider
    provider = get_provider(name, defaults.options)
    provider.check()
    return provider


def hosts_of(ctx: Ctx, pod: str, provider_name: str | None) -> tuple[Provider, list[Host]]:
    check_pod_name(pod)
    provider = provider_for(ctx, pod, provider_name)
    hosts = provider.list_hosts(pod)
    if not hosts:
        raise NotFound(
            f"pod {pod!r} does not exist on provider {provider.name!r} (see `mason pod list`)"
        )
    return provider, hosts


def gib(n: int) -> str:
    return f"{n / 2**30:.1f}Gi" if n >= 2**30 else f"{n / 2**20:.0f}Mi"


def hosts_table(hosts: Sequence[Host], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("host", "role", "zone", "ssh", "private address", "cpu", "memory", "state"):
        table.add_column(col)
    for h in hosts:
        table.add_row(
            h.name,
            h.role,
            h.zone,
            f"{h.ssh_user}@{h.address}:{h.ssh_port}" if h.ssh_port else "-",
            h.private_address or "-",
            f"{h.cpu:g}",
            gib(h.memory),
            h.state,
        )
    return table


def provider_names() -> list[str]:
    return list(known())
