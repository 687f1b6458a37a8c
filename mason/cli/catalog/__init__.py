"""``mason catalog``: ready-made services (postgresql, mysql, redis, rabbitmq, nginx)."""

from __future__ import annotations

import click

from mason.cli.catalog.list import list_entries
from mason.cli.catalog.show import show


@click.group()
def catalog():
    """Catalog entries: service templates, image recipes and addon contracts.

    Searched in $MASON_CATALOG_PATH, then <project>/catalog, then mason's own.

    \b
    Examples:
      mason catalog list
      mason catalog show postgresql
      mason app add-service shop db --catalog postgresql
    """


catalog.add_command(list_entries)
catalog.add_command(show)
