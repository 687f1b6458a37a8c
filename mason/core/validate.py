"""Numbers, ports and URLs users give, from options or files: one check each, with bounds.

Every number that comes in is checked for its type (``true`` is not 1), for being
finite (``nan`` and ``inf`` compare false with everything, so ``<= 0`` lets them
through) and against a sane upper bound, before anything is made from it:
``--hosts 100000`` must not reach a provider, ``--cpu nan`` must not leave a
network and a volume behind. Each check raises :class:`InvalidInput` naming
``where`` (an option such as ``--cpu`` or a file and field).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mason.core.errors import InvalidInput, describe

MAX_HOSTS = 1000  # hosts in one pod
MAX_REPLICAS = 1000  # containers of one service
MAX_CORES = 1024  # cores of one host (the largest machines today have fewer)
MAX_SSH_TIMEOUT = 24 * 3600.0  # seconds
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: "²".isdigit() is True and int("²") fails


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def check_count(value: object, where: str, *, low: int = 1, high: int = MAX_HOSTS) -> int:
    """An integer in ``[low, high]``; booleans and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{_prefix(where)}expected an integer, got {describe(value)}")
    if value < low:
        raise InvalidInput(f"{_prefix(where)}must be >= {low}, got {value}")
    if value > high:
        raise InvalidInput(f"{_prefix(where)}must be <= {high}, got {value}")
    return value


def parse_cores(value: object, where: str) -> float:
    """Cores of a host: a finite number > 0 and at most :data:`MAX_CORES` (``2``, ``0.5``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{_prefix(where)}expected a number of cores > 0, got {describe(value)}")
    try:
        cores = float(value)
    except ValueError:
        raise InvalidInput(
            f"{_prefix(where)}expected a number of cores > 0, got {describe(value)}"
        ) from None
    if not math.isfinite(cores) or cores <= 0:
        raise InvalidInput(f"{_prefix(where)}expected a number of cores > 0, got {value!r}")
    if cores > MAX_CORES:
        raise InvalidInput(f"{_prefix(where)}must be at most {MAX_CORES} cores, got {value!r}")
    return cores


def check_seconds(value: object, where: str, *, high: float = MAX_SSH_TIMEOUT) -> float:
    """A finite number of seconds > 0 and at most ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{_prefix(where)}expected a number of seconds, got {describe(value)}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{_prefix(where)}expected a number of seconds > 0, got {value!r}")
    if value > high:
        raise InvalidInput(f"{_prefix(where)}must be at most {high:g} seconds, got {value!r}")
    return float(value)


def parse_port(value: object, where: str = "") -> int:
    """A TCP/UDP port 1-65535, as an integer or a string of ASCII digits."""
    if isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 5:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{_prefix(where)}expected a port 1-65535, got {describe(value)}")
    if not 1 <= value <= 65535:
        raise InvalidInput(f"{_prefix(where)}expected a port 1-65535, got {value}")
    return value


def check_url(value: object, where: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL with one of ``schemes`` and a host (``https://ec2.example:4566``)."""
    expected = f"expected a URL such as {schemes[-1]}://host:port"
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{_prefix(where)}{expected}, got {describe(value)}")
    text = value
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when not a number 0-65535
        host = parts.hostname
    except ValueError:
        raise InvalidInput(f"{_prefix(where)}{expected}, got {value!r}") from None
    if parts.scheme.lower() not in schemes:
        got = f"scheme {parts.scheme!r} in {value!r}" if parts.scheme else repr(value)
        raise InvalidInput(f"{_prefix(where)}{expected} ({'/'.join(schemes)} only), got {got}")
    if not host or not text.isprintable() or any(c.isspace() for c in text) or port == 0:
        raise InvalidInput(f"{_prefix(where)}{expected}, got {value!r}")
    return text


def check_cidr(value: object, where: str) -> str:
    """A network such as ``203.0.113.0/24`` (host bits allowed, and cleared)."""
    if not isinstance(value, str):
        raise InvalidInput(
            f"{_prefix(where)}expected a CIDR such as 203.0.113.0/24, got {describe(value)}"
        )
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise InvalidInput(
            f"{_prefix(where)}expected a CIDR such as 203.0.113.0/24, got {value!r}"
        ) from None


def check_cloud_flags(options: Mapping[str, Any], flags: Mapping[str, str]) -> None:
    """Cloud options given as flags (``--endpoint-url``, ``--admin-network``, ``--region``...):
    URLs and networks checked as such, the rest as one-line strings; ``flags`` maps each
    option to its flag for the message."""
    for key, value in options.items():
        if not value:
            continue
        flag = flags.get(key, key)
        if key == "endpoint_url":
            check_url(value, flag)
        elif key == "admin_networks":
            for net in value:
                check_cidr(net, flag)
        elif not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise InvalidInput(f"{flag}: expected a non-empty value, got {describe(value)}")
