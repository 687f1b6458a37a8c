"""``mason app``: validate app manifests, plan where their containers go, add catalog services."""

from __future__ import annotations

import click

from mason.cli.app.add_service import add_service
from mason.cli.app.deploy import deploy
from mason.cli.app.operate import list_, logs, remove, status
from mason.cli.app.plan import plan
from mason.cli.app.releases import releases
from mason.cli.app.rollback import rollback
from mason.cli.app.scale import scale
from mason.cli.app.validate import validate


@click.group()
def app():
    """Apps: manifests in apps/<name>.yml, their plans, and catalog services.

    \b
    Examples:
      mason app validate apps/*.yml
      mason app plan shop --pod demo
      mason app plan shop --hosts-file pod.yml --explain
      mason app add-service shop db --catalog postgresql
      mason app deploy shop --pod demo
    """


app.add_command(validate)
app.add_command(plan)
app.add_command(add_service)
app.add_command(deploy)
app.add_command(status)
app.add_command(list_)
app.add_command(remove)
app.add_command(logs)
app.add_command(rollback)
app.add_command(releases)
app.add_command(scale)
