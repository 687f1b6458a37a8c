"""Options shared by the pki commands."""

from __future__ import annotations

import click

from mason.core.pki import DEFAULT_LIFETIME, check_window, parse_duration


def _window(_ctx, _param, value):
    try:
        window = parse_duration(value, what="rotation window")
        # mason's certificates live 24 h: a window as long renews everything every run
        check_window(DEFAULT_LIFETIME, window)
    except Exception as exc:  # InvalidInput: shown as a usage error on the option
        raise click.BadParameter(str(exc)) from None
    return window


window_option = click.option(
    "--window",
    default="8h",
    show_default=True,
    metavar="DURATION",
    envvar="MASON_PKI_WINDOW",
    show_envvar=True,
    callback=_window,
    help="Rotation window: certificates expiring within it are due (24h leaves: 8h).",
)
