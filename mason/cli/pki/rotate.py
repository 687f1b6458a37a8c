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
@click.option(
    "--revoke",
    is_flag=True,
    help="Then revoke the certificates replaced: every proxy refuses their keys from then on.",
)
@provider_option
@pass_ctx
def rotate(
    ctx: Ctx, pod: str, window: timedelta, force: bool, revoke: bool, provider_name: str | None
) -> None:
    """Renew the certificates of POD that expire within the window, and reload their proxies.

    Each instance gets a fresh key (made on its host) and a certificate signed on
    the manager; proxies reload seamlessly, so open connections finish and new
    ones are never refused. Runs playbooks/rotate_certs.yml, which an AWX
    schedule can run as is (hourly suits the default 24h certificates).

    A replaced certificate stays valid until it expires, but its key is gone from
    its host. When a key may have leaked (a stolen backup, a host taken), add
    --revoke: once every proxy uses its new certificate, the manager revokes the
    replaced ones and every proxy refuses them (the pod CA's CRL). Removing an
    app, or moving replicas off a host (scale, heal), revokes theirs by itself.

    \b
    Examples:
      mason pki rotate demo                  renew what expires within 8h
      mason pki rotate demo --window 12h
      mason pki rotate demo --force          renew everything now
      mason pki rotate demo --force --revoke renew everything, refuse every old key (a leak)
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
            "mason_rotate_revoke": revoke,
        },
    )
    ctx.say(f"pod {pod}: certificates checked, {result.changed} change(s)")
