"""Parsers for the parts of a service: ports, volumes, healthchecks, image and build.

Each takes the :class:`~mason.core.fields.ErrorList`, the path of the value and the
value; it records every problem and returns the part, or None when it is invalid.
Every pattern is applied with ``fullmatch`` (``$`` would accept a final newline).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from mason.core.errors import InvalidInput, describe, type_name
from mason.core.fields import (
    ErrorList,
    check_int,
    check_keys,
    check_mapping,
    check_record,
    check_str_list,
)
from mason.core.manifest.model import (
    HEALTHCHECK_KEYS,
    PORT_KEYS,
    PROTOCOLS,
    VOLUME_KEYS,
    Healthcheck,
    Port,
    Volume,
)
from mason.core.units import parse_duration
from mason.core.validate import parse_port

_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)
_VOLUME_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_PORT_TEXT = re.compile(r"(?:([0-9]+):)?([0-9]+)(?:/([a-z]+))?")
_MAX_TEXT = 4096  # an image reference or a path longer than this is a mistake


def port_number(errors: ErrorList, path: str, value: Any) -> int | None:
    """1-65535, as an integer or a string of ASCII digits (``"²".isdigit()`` is True)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > 5:  # int() of thousands of digits is refused by Python itself
            errors.add(
                path, f"must be <= 65535, got {value[:12]}{'...' if len(value) > 12 else ''}"
            )
            return None
        value = int(value)
    return check_int(errors, path, value, low=1, high=65535)


def _protocol(errors: ErrorList, path: str, proto: Any, prefix: str = "") -> str | None:
    if proto in PROTOCOLS:
        return proto
    errors.add(path, f"{prefix}must be one of {', '.join(PROTOCOLS)}, got {proto!r}")
    return None


def host_port(value: Any) -> tuple[int, str]:
    """A port in use on a host: ``80``, ``"80"`` or ``"53/udp"``; raise InvalidInput."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    m = _PORT_TEXT.fullmatch(text) if isinstance(text, str) else None
    if m is None or m.group(1) is not None or (m.group(3) or "tcp") not in PROTOCOLS:
        raise InvalidInput(f"expected a port like 80 or '53/udp', got {describe(value)}")
    if len(m.group(2)) > 5:
        raise InvalidInput(f"expected a port 1-65535, got {describe(value)}")
    return parse_port(m.group(2)), m.group(3) or "tcp"


def parse_port_item(errors: ErrorList, path: str, value: Any) -> Port | None:
    """``80``, ``"8080:80"``, ``"53/udp"`` or ``{container: 80, public: 8080, protocol: tcp}``."""
    if isinstance(value, int) and not isinstance(value, bool):
        c = port_number(errors, path, value)
        return Port(c) if c else None
    if isinstance(value, str):
        return _port_text(errors, path, value)
    data = check_record(errors, path, value, PORT_KEYS, "container")
    if data is None:
        return None
    c = port_number(errors, f"{path}.container", data["container"])
    has_public = data.get("public") is not None
    pub = port_number(errors, f"{path}.public", data["public"]) if has_public else None
    proto = _protocol(errors, f"{path}.protocol", data.get("protocol", "tcp"))
    if proto is None or c is None or (has_public and pub is None):
        return None
    return Port(c, pub, proto)


def _port_text(errors: ErrorList, path: str, value: str) -> Port | None:
    text, _, proto = value.partition("/")
    if _protocol(errors, path, proto or "tcp", "protocol ") is None:
        return None
    m = _PORT_TEXT.fullmatch(text)
    if m is None:
        errors.add(path, f"expected 'CONTAINER' or 'PUBLIC:CONTAINER[/udp]', got {value!r}")
        return None
    c = port_number(errors, path, m.group(2))
    pub = port_number(errors, path, m.group(1)) if m.group(1) is not None else None
    if c is None or (m.group(1) is not None and pub is None):
        return None
    return Port(c, pub, proto or "tcp")


def parse_volume(errors: ErrorList, path: str, value: Any) -> Volume | None:
    """``"data:/var/lib/x[:ro]"`` or ``{source, target, read_only}``; named volumes only."""
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            errors.add(path, f"expected 'NAME:/PATH' or 'NAME:/PATH:ro', got {value!r}")
            return None
        data: dict[Any, Any] = {"source": parts[0], "target": parts[1]}
        data["read_only"] = len(parts) == 3 and parts[2] == "ro"
    else:
        data = check_mapping(errors, path, value) or {}
        if not data:
            return None
        check_keys(errors, path, data, VOLUME_KEYS)
    at = (lambda key: path) if isinstance(value, str) else (lambda key: f"{path}.{key}")
    source, target = data.get("source"), data.get("target")
    ok = True
    if not isinstance(source, str) or not _VOLUME_NAME.fullmatch(source):
        hint = (
            "host paths are not allowed, use a named volume"
            if isinstance(source, str) and source.startswith(("/", "."))
            else "expected a volume name (lower-case letters, digits, '_', '.', '-')"
        )
        errors.add(at("source"), f"{hint}: {source!r}")
        ok = False
    if not _absolute_path(target):
        errors.add(
            at("target"), f"target must be an absolute path in the container, got {target!r}"
        )
        ok = False
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        errors.add(f"{path}.read_only", f"expected a boolean, got {type_name(read_only)}")
        ok = False
    return Volume(source, target, read_only) if ok else None


def _absolute_path(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("/")
        and len(value) <= _MAX_TEXT
        and value.isprintable()
    )


def parse_healthcheck(errors: ErrorList, path: str, value: Any) -> Healthcheck | None:
    hint = " (a command, e.g. [pg_isready, -q])"
    data = check_record(errors, path, value, HEALTHCHECK_KEYS, "test", hint)
    if data is None:
        return None
    test = check_str_list(errors, f"{path}.test", data["test"])
    durations = {}
    for key, default in (("interval", 30_000), ("timeout", 5_000), ("start_period", 0)):
        durations[key] = (
            errors.check(f"{path}.{key}", parse_duration, data[key]) if key in data else default
        )
    retries = check_int(errors, f"{path}.retries", data.get("retries", 3), low=1, high=100)
    if test is None or retries is None or None in durations.values():
        return None
    return Healthcheck(
        tuple(test), durations["interval"], durations["timeout"], retries, durations["start_period"]
    )


def check_image(errors: ErrorList, path: str, value: Any) -> None:
    if isinstance(value, str) and (len(value) > _MAX_TEXT or not _IMAGE.fullmatch(value)):
        errors.add(path, f"not an image reference: {value[:200]!r}")


def check_build(errors: ErrorList, path: str, value: Any) -> None:
    """A directory inside the project: relative, and never climbing out of it with '..'."""
    if not isinstance(value, str):
        return
    normal = posixpath.normpath(value.replace("\\", "/"))
    if value.startswith(("/", "\\")) or posixpath.isabs(normal):
        errors.add(path, "must be a directory relative to the project")
    elif normal == ".." or normal.startswith("../") or not value.isprintable():
        errors.add(path, f"must be a directory inside the project, got {value!r}")
