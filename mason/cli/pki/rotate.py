"""``mason pki rotate POD``: renew certificates before they expire, without dropping connections."""

from __future__ import annotations

from datetime import timedelta

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.pki._common import window_option
from mason.cli.pod._common import provider_option
from mason.operations.lookup import hosts_of
from mason.operations.runs import run


@click.command()
@click.argument("pod")
@window_option
@click.option("--force", is_flag=True, help="Renew every certificate now, whatever its expiry.")
@provider_option
@pass_ctx
def rotate(ctx: Ctx, pod: str, window: timedelta, force: bool, provider_name: str | None) -> None:
    """Renew the certificates of POD that expire within the window, and reload their proxies.

    Each instance gets a fresh key (made on its host) and a certificate signed on
    the manager; proxies reload seamlessly, so open connections finish and new
    ones are never refused. Runs playbooks/rotate_certs.yml, which an AWX
    schedule can run as is (hourly suits the default 24h certificates).

    \b
    Examples:
      mason pki rotate demo                  renew what expires within 8h
      mason pki rotate demo --window 12h
      mason pki rotate demo --force          renew everything now (a suspected key leak)
    """
    hosts_of(ctx.project_dir, pod, provider_name)
    result = run(
        ctx.session(),
        "rotate_certs.yml",
        title=f"pki rotate {pod}",
        pods=[pod],
        extravars={
            "mason_rotate_force": force,
            "mason_rotate_window_seconds": int(window.total_seconds()),
        },
    )
    ctx.say(f"pod {pod}: certificates checked, {result.changed} change(s)")
