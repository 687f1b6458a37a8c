"""What the pod commands share: the --provider option and the hosts table."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.table import Table

from mason.core.units import format_size
from mason.providers import known
from mason.providers.base import Host

provider_option = click.option(
    "--provider",
    "provider_name",
    metavar="NAME",
    envvar="MASON_PROVIDER",
    show_envvar=True,
    help=f"Provider that holds the pod: {', '.join(known())} "
    "(default: the pod's entry in mason.yml, else docker).",
)


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
            format_size(h.memory),
            h.state,
        )
    return table
