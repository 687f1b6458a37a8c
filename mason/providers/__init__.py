"""Providers: one module per IaaS behind :class:`mason.providers.base.Provider`.

Built-in providers are listed here; third-party ones register under the
``mason.providers`` entry point group and are found the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from mason.core.errors import InvalidInput, key_path, unknown_field
from mason.providers.base import Provider

BUILTIN = {
    "docker": "mason.providers.docker:DockerProvider",
    "aws": "mason.providers.aws:AwsProvider",
    "rackspace": "mason.providers.rackspace:RackspaceProvider",
    "static": "mason.providers.static:StaticProvider",
    "qemu": "mason.providers.qemu:QemuProvider",
}


def known() -> dict[str, str]:
    """Provider name -> "module:Class", built-ins first, then entry points."""
    found = dict(BUILTIN)
    for ep in entry_points(group="mason.providers"):
        found.setdefault(ep.name, ep.value)
    return dict(sorted(found.items()))


def provider_class(name: str, *, where: str = "") -> type[Provider]:
    """The class of provider ``name``; ``where`` names the option or the mason.yml field
    the name came from, for the error."""
    table = known()
    if name not in table:
        prefix = f"{where}: " if where else ""
        raise InvalidInput(f"{prefix}unknown provider {name!r} (known: {', '.join(table)})")
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def check_options(name: str, options: Mapping[str, Any] | None, *, where: str = "") -> None:
    """Refuse an unknown provider, or an option it does not take, naming ``where`` (the
    mason.yml entry, ``mason.yml: pods.demo``) and its ``provider``/``options`` field."""
    cls = provider_class(name, where=f"{where}.provider" if where else "")
    for key in options or {}:
        if key not in cls.option_keys:
            raise unknown_field(
                key_path(f"{where}.options" if where else f"{name} options", key),
                key,
                cls.option_keys,
                none=f"provider {name!r} takes no options",
            )


def get_provider(
    name: str, options: Mapping[str, Any] | None = None, *, where: str = ""
) -> Provider:
    """Provider ``name`` with ``options``; ``where`` as for :func:`check_options`.

    Providers name their options ``<name> options.<key>`` in errors; with ``where`` that
    becomes the file and field the options were written in.
    """
    check_options(name, options, where=where)
    try:
        return provider_class(name)(options)
    except InvalidInput as exc:
        own = f"{name} options"
        if not where or not exc.message.startswith(own):
            raise
        raise InvalidInput(f"{where}.options{exc.message[len(own) :]}", hint=exc.hint) from None
