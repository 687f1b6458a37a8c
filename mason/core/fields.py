"""Checking the fields of a user's document while collecting every problem.

Manifests, hosts files and catalog entries are validated in one pass that reports
every error, one line each, naming the file, the path inside it and what was
expected::

    apps/shop.yml: services.web.replicas: must be >= 1, got 0

:class:`ErrorList` collects those lines; :class:`ManifestError` carries them out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mason.core.errors import InvalidInput, describe, key_path, type_name, unknown_key_message


class ManifestError(InvalidInput):
    """Every problem found in one or more documents (manifests, hosts files, catalog
    entries), one line each."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class ErrorList:
    """Collects ``source: path: message`` lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        self.lines.append(f"{where}{message}")

    def check(self, path: str, fn: Callable[[Any], Any], value: Any) -> Any:
        """Run a parser that raises InvalidInput; record its message at ``path``."""
        try:
            return fn(value)
        except InvalidInput as exc:
            self.add(path, exc.message)
            return None

    def raise_if_any(self) -> None:
        if self.lines:
            raise ManifestError(self.lines)


def check_keys(errors: ErrorList, path: str, data: Mapping[Any, Any], allowed: Sequence[str]):
    for key in data:
        if key not in allowed:
            errors.add(key_path(path, key), unknown_key_message(key, allowed))


def check_mapping(errors: ErrorList, path: str, value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    errors.add(path, f"expected a mapping, got {type_name(value)}")
    return None


def check_record(
    errors: ErrorList, path: str, value: Any, allowed: Sequence[str], required: str, hint: str = ""
) -> dict[Any, Any] | None:
    """A mapping of ``allowed`` keys that has ``required``; None (recorded) otherwise."""
    data = check_mapping(errors, path, value)
    if data is None:
        return None
    check_keys(errors, path, data, allowed)
    if required not in data:
        errors.add(f"{path}.{required}", f"required{hint}")
        return None
    return data


def check_int(errors: ErrorList, path: str, value: Any, *, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, f"expected an integer, got {describe(value)}")
        return None
    if value < low:
        errors.add(path, f"must be >= {low}, got {value}")
        return None
    if value > high:
        errors.add(path, f"must be <= {high}, got {value}")
        return None
    return value


def check_string(errors: ErrorList, path: str, value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    errors.add(path, f"expected a non-empty string, got {type_name(value)}")
    return None


def check_str_list(errors: ErrorList, path: str, value: Any) -> list[str] | None:
    """A list of strings; one string is a list of one."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        errors.add(path, f"expected a list of strings, got {type_name(value)}")
        return None
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        else:
            errors.add(f"{path}[{i}]", f"expected a string, got {type_name(item)}")
    return out


def scalar_map(errors: ErrorList, path: str, value: Any) -> dict[str, str]:
    """A mapping of string keys to scalar values, as strings (``true`` becomes ``"true"``):
    labels, environment variables."""
    out: dict[str, str] = {}
    for key, item in (check_mapping(errors, path, value) or {}).items():
        text = scalar_text(item)
        if text is None:
            errors.add(key_path(path, key), f"expected a scalar, got {type_name(item)}")
        else:
            out[str(key)] = text
    return out


def scalar_text(value: Any) -> str | None:
    """A scalar as the string a label or variable holds (``true``, not ``True``); None for
    what is not a scalar (a mapping, a list, null)."""
    if value is None or isinstance(value, dict | list | set | tuple):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)
