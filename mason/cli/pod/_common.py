"""Helpers shared by the pod commands: find a pod's provider, render hosts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table

from mason.cli._context import Ctx
from mason.core.errors import NotFound
from mason.core.names import check_pod_name
from mason.core.project import load_project
from mason.providers import get_provider, known, provider_class
from mason.providers.base import Host, Provider

provider_option = click.option(
    "--provider",
    "provider_name",
    metavar="NAME",
    envvar="MASON_PROVIDER",
    show_envvar=True,
    help="Provider that holds the pod (default: the pod's entry in mason.yml, else docker).",
)


def provider_options(ctx: Ctx, provider_name: str, pod_options: dict[str, Any]) -> dict[str, Any]:
    """A pod's provider options from mason.yml, plus what the provider needs to know of the
    project (static pods are defined in mason.yml itself)."""
    options = dict(pod_options)
    if "project_dir" in getattr(provider_class(provider_name), "option_keys", ()):
        options.setdefault("project_dir", str(ctx.project_dir))
    return options


def provider_for(ctx: Ctx, pod: str, provider_name: str | None) -> Provider:
    """The provider of ``pod``: explicit option, else mason.yml, else the local engine."""
    defaults = load_project(ctx.project_dir).pod(pod)
    name = provider_name or defaults.provider
    provider = get_provider(name, provider_options(ctx, name, defaults.options))
    provider.check()
    return provider


def inventory_of(ctx: Ctx, pods: Sequence[str]) -> dict[str, Any]:
    """Runner arguments that make the inventory plugin ask each pod's own provider."""
    project = load_project(ctx.project_dir)
    options: dict[str, dict[str, Any]] = {}
    for pod in pods:
        defaults = project.pod(pod)
        options.setdefault(
            defaults.provider, provider_options(ctx, defaults.provider, defaults.options)
        )
    return {"providers": list(options), "provider_options": {k: v for k, v in options.items() if v}}


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
