"""``-e/--extra-vars`` as ansible-playbook takes them: ``KEY=VALUE``, a JSON/YAML mapping,
or ``@FILE``; checked before any host is touched.

``VALUE`` is read as YAML (``ports=[8443]`` is a list, ``on=true`` a boolean), files
through the guarded reader (:mod:`mason.core.files`), text through the guarded parser
(:mod:`mason.core.documents`). Keys must be variable names; NaN and infinity are refused
(Ansible would write them where JSON does not allow them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mason.core import documents
from mason.core.errors import InvalidInput, describe, type_name
from mason.core.names import is_variable_name

OPTION = "--extra-vars"


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    """Every ``-e`` value merged in order (later ones win, as in ansible-playbook)."""
    out: dict[str, Any] = {}
    for value in values:
        out.update(parse_one(value))
    return out


def parse_one(value: str) -> dict[str, Any]:
    if value.startswith("@"):
        source = f"{OPTION} {value}"
        data = documents.load(Path(value[1:]), source=source)
    elif value.lstrip().startswith(("{", "[")):
        source = OPTION
        data = documents.parse_yaml(value, source)
    else:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"{OPTION}: expected KEY=VALUE, @FILE or a JSON mapping, got {describe(value)}"
            )
        source = f"{OPTION} {key}"
        data = {key: documents.parse_yaml(raw, source) if raw else ""}
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: expected a mapping of variables, got {type_name(data)}")
    for key in data:
        if not is_variable_name(key):
            raise InvalidInput(
                f"{source}: {describe(key)} is not a variable name "
                "(letters, digits and '_', not starting with a digit)"
            )
    bad = documents.non_finite(data)
    if bad is not None:
        raise InvalidInput(f"{source}: {bad}: NaN and infinity are not allowed")
    return data
