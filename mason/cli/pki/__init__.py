"""``mason pki``: the pod's certificates: their status, and rotation."""

from __future__ import annotations

import click

from mason.cli.pki.rotate import rotate
from mason.cli.pki.status import status


@click.group()
def pki() -> None:
    """The pod CA and the short-lived certificates of service instances.

    \b
      mason pki status demo        every certificate, identity, host and expiry
      mason pki rotate demo        renew what is inside the rotation window now
    """


pki.add_command(status)
pki.add_command(rotate)
