"""Providers: one module per IaaS behind :class:`mason.providers.base.Provider`.

Built-in providers are listed here; third-party ones register under the
``mason.providers`` entry point group and are found the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from mason.core.errors import InvalidInput
from mason.providers.base import Provider

BUILTIN = {
    "docker": "mason.providers.docker:DockerProvider",
    "aws": "mason.providers.aws:AwsProvider",
    "rackspace": "mason.providers.rackspace:RackspaceProvider",
    "static": "mason.providers.static:StaticProvider",
}


def known() -> dict[str, str]:
    """Provider name -> "module:Class", built-ins first, then entry points."""
    found = dict(BUILTIN)
    for ep in entry_points(group="mason.providers"):
        found.setdefault(ep.name, ep.value)
    return dict(sorted(found.items()))


def provider_class(name: str) -> type[Provider]:
    table = known()
    if name not in table:
        raise InvalidInput(f"unknown provider {name!r} (known: {', '.join(table)})")
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def get_provider(name: str, options: Mapping[str, Any] | None = None) -> Provider:
    return provider_class(name)(options)
