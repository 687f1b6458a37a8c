"""``mason pod``: create, list, show, destroy pods and open a shell on their hosts."""

import click

from mason.cli.pod.create import create
from mason.cli.pod.destroy import destroy
from mason.cli.pod.list import list_pods
from mason.cli.pod.show import show
from mason.cli.pod.ssh import ssh


@click.group()
def pod():
    """Pods: groups of Docker hosts on one provider, spread over zones."""


for command in (create, list_pods, show, destroy, ssh):
    pod.add_command(command)
