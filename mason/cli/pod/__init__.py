"""``mason pod``: create, list, show, destroy pods and open a shell on their hosts."""

import click

from mason.cli.pod.create import create
from mason.cli.pod.destroy import destroy
from mason.cli.pod.heal import heal
from mason.cli.pod.list import list_pods
from mason.cli.pod.show import show
from mason.cli.pod.ssh import ssh


@click.group()
def pod():
    """Pods: groups of Docker hosts on one provider, spread over zones.

    \b
    Examples:
      mason pod create demo                 a local 3-host pod on this machine's engine
      mason pod list
      mason pod show demo
      mason pod ssh demo demo-h1
      mason pod destroy demo --yes
    """


for command in (create, list_pods, show, destroy, heal, ssh):
    pod.add_command(command)
