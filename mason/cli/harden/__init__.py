"""``mason harden``: harden a pod's hosts, check them for drift, list the controls.

``mason harden POD`` is short for ``mason harden run POD``: a group whose
first argument is not one of its commands runs ``run`` with it.
"""

from __future__ import annotations

import click

from mason.cli.harden.controls import controls
from mason.cli.harden.report import report
from mason.cli.harden.run import run

DEFAULT_COMMAND = "run"


class HardenGroup(click.Group):
    """A group that treats ``harden POD ...`` as ``harden run POD ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        wants_help = any(a in ("-h", "--help") for a in args) and first is None
        if first is not None and first not in self.commands and not wants_help:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


@click.group(cls=HardenGroup)
def harden() -> None:
    """Harden the hosts of a pod, or check them for drift.

    \b
    mason harden POD [OPTIONS]       apply the hardening roles (= mason harden run POD)
    mason harden POD --check         change nothing; report each control on each host
    mason harden controls            the controls mason enforces, with benchmark references
    mason harden report EVENTS       the verdict of a harden job run in AWX or ansible-runner

    \b
    Examples:
      mason harden demo
      mason harden demo --check --report junit harden.xml     nightly drift check (exit 8 on drift)
      mason harden demo --only ssh --only firewall --limit demo-h2
    """


harden.add_command(run)
harden.add_command(controls)
harden.add_command(report)
