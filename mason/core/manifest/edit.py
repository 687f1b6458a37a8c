"""Editing a manifest's text: one more service, with the user's comments and layout kept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from mason.core import documents
from mason.core.errors import InvalidInput, key_path, type_name

_SERVICES_LINE = re.compile(r"services:[ \t]*(#.*)?")


def add_service_text(
    text: str | None, app: str, service: str, fields: Mapping[str, Any], *, source: str = "app"
) -> str:
    """``text`` (a manifest, or None for a new one) with one more service appended.

    Edits the text rather than re-dumping the YAML, so the user's comments and
    layout survive; falls back to a re-dump only when the file's shape (flow style,
    odd indentation) makes a textual insert unsafe. A text that is not a manifest
    (not YAML, not a mapping, ``services`` not a mapping) is refused, never rewritten:
    the caller writes nothing.
    """
    block = yaml.safe_dump({service: dict(fields)}, sort_keys=False, default_flow_style=False)
    if text is None or not text.strip():
        return f"---\nname: {app}\nservices:\n" + _indent(block, "  ")
    data = _current(text, service, source)
    old = dict(data.get("services") or {})
    expected = {**data, "services": {**old, service: dict(fields)}}
    new = _insert(text, data, block)
    try:
        parsed = documents.parse_yaml(new, source) if new else None
    except InvalidInput:
        parsed = None
    if parsed != expected:
        new = "---\n" + yaml.safe_dump(expected, sort_keys=False, default_flow_style=False)
    return new


def _current(text: str, service: str, source: str) -> dict[Any, Any]:
    """The manifest as it is; refuse to touch a file that is not one."""
    data = documents.parse_yaml(text, source)
    if data is None:  # only comments
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{source}: expected a mapping with 'services' at the top level, got "
            f"{type_name(data)} (the file is left as it is)"
        )
    services = data.get("services")
    if services is not None and not isinstance(services, dict):
        raise InvalidInput(
            f"{source}: services: expected a mapping, got {type_name(services)} "
            "(the file is left as it is)"
        )
    if services and service in services:
        raise InvalidInput(f"{source}: {key_path('services', service)}: already defined")
    return data


def _insert(text: str, data: Mapping[Any, Any], block: str) -> str:
    """The service's block inserted at the end of the ``services:`` block, or "" when
    the text has no block-style ``services:`` line to insert under."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next(
        (i for i, ln in enumerate(lines) if _SERVICES_LINE.fullmatch(ln.rstrip("\r\n"))), None
    )
    if start is None:
        return (
            "".join(lines) + "services:\n" + _indent(block, "  ") if "services" not in data else ""
        )
    end, child_indent = len(lines), None
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            end = j
            break
        if child_indent is None:
            child_indent = line[: len(line) - len(line.lstrip())]
    k = end
    while k > start + 1 and not lines[k - 1].strip():
        k -= 1
    lines.insert(k, _indent(block, child_indent or "  "))
    return "".join(lines)


def _indent(block: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in block.splitlines(True))
