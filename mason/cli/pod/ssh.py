"""``mason pod ssh``: a shell (or one command) on a host of a pod."""

from __future__ import annotations

import os
import shlex

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pod._common import provider_option
from mason.operations.lookup import find_host, hosts_of
from mason.operations.remote import ssh_argv, ssh_binary


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@provider_option
@pass_ctx
def ssh(
    ctx: Ctx, name: str, host: str, command: tuple[str, ...], provider_name: str | None
) -> None:
    """Open SSH to HOST of pod NAME, or run COMMAND there.

    HOST is the host's name (demo-h2), its short name (h2) or its index (2).

    \b
    Examples:
      mason pod ssh demo demo-h1
      mason pod ssh demo 2 -- docker ps
    """
    _, hosts = hosts_of(ctx.project_dir, name, provider_name)
    match = find_host(name, hosts, host)
    args = ssh_argv(match)
    if command:
        # ssh joins its arguments with spaces for the remote shell; quoting each
        # keeps `mason pod ssh demo 1 -- docker info --format '{{.Driver}}'` intact.
        args.append(shlex.join(command))
    os.execv(ssh_binary(), args)  # noqa: S606 - replaces mason with ssh, argv list, no shell
