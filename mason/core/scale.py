"""Scaling one service of a running app, in pure Python: the app as its release ran it,
with one service's replica count changed.

`mason app scale APP SERVICE N` runs the newest recorded release again (its images by
digest) with SERVICE at N replicas and every other service at the count that release
placed; the deploy plan keeps every replica that stays where it runs, so only the
replicas added or removed change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from mason.core.errors import InvalidInput, NotFound, describe, suggest
from mason.core.manifest.model import App
from mason.core.validate import MAX_REPLICAS, check_count

_INTEGER = re.compile(r"[+-]?[0-9]+")  # ASCII only


def parse_replicas(value: Any, where: str = "N") -> int:
    """A replica count as a user types it: an integer from 1 to 1000 (to stop every
    replica of an app, remove it: `mason app remove`)."""
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text):
            raise InvalidInput(
                f"{where}: expected a whole number of replicas, got {describe(value)}"
            )
        value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise InvalidInput(
            f"{where}: must be >= 1, got {value} (to stop an app: `mason app remove`)"
        )
    return check_count(value, where, low=1, high=MAX_REPLICAS)


def as_recorded(app: App, placement: Mapping[str, Sequence[Any]]) -> App:
    """``app`` with each service at the replica count a release placed (services the
    release does not name keep the manifest's count)."""
    services = {
        name: replace(svc, replicas=len(placement[name])) if placement.get(name) else svc
        for name, svc in app.services.items()
    }
    return replace(app, services=services)


def scaled(app: App, service: str, replicas: int) -> App:
    """``app`` with ``service`` at ``replicas`` (checked as the manifest checks it)."""
    if service not in app.services:
        raise NotFound(
            f"app {app.name} has no service {service!r} ({suggest(service, list(app.services))})"
        )
    svc = app.services[service]
    replicas = parse_replicas(replicas)
    if svc.min_available > replicas:
        raise InvalidInput(
            f"N: service {service} of app {app.name} needs at least min_available "
            f"({svc.min_available}) replicas, got {replicas}"
        )
    return replace(app, services={**app.services, service: replace(svc, replicas=replicas)})
