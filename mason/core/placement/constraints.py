"""Placement constraints: ``zone in [a, b]``, ``role != manager``, ``labels.disk == ssd``.

Grammar (one constraint per string)::

    ATTRIBUTE OPERATOR VALUE
    ATTRIBUTE  zone | role | host | labels.KEY   (a bare KEY means labels.KEY)
    OPERATOR   == | != | in | not in             ('=' is read as '==')
    VALUE      word | "quoted" | [word, word, ...]

A missing label never equals anything: ``labels.gpu == "true"`` rejects a host
without a ``gpu`` label and ``labels.gpu != "true"`` accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mason.core.errors import InvalidInput

ATTRIBUTES = ("zone", "role", "host")
_WORD = r"[A-Za-z0-9_.:/@+-]+"
_VALUE = rf"(?:\"[^\"]*\"|'[^']*'|{_WORD})"
_EXPR = re.compile(
    rf"^\s*(?P<attr>{_WORD})\s*(?P<op>==|!=|=|\bnot\s+in\b|\bin\b)\s*"
    rf"(?P<value>\[\s*(?:{_VALUE}(?:\s*,\s*{_VALUE})*)?\s*,?\s*\]|{_VALUE})\s*$"
)
_ITEM = re.compile(_VALUE)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass(frozen=True, order=True)
class Constraint:
    """One parsed constraint. ``values`` is sorted so equal constraints compare equal."""

    attribute: str  # "zone", "role", "host" or "labels.KEY"
    operator: str  # "in" or "not in" ("==" and "!=" are stored as one-value sets)
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: object) -> Constraint:
        if not isinstance(text, str):
            raise InvalidInput(f"expected a constraint like 'zone in [a, b]', got {text!r}")
        m = _EXPR.match(text)
        if not m:
            raise InvalidInput(
                f"cannot read constraint {text!r}: expected 'ATTRIBUTE OP VALUE' with OP one of "
                "==, !=, in, not in (e.g. 'zone in [a, b]', 'role != manager')"
            )
        attr, op, raw = m.group("attr"), " ".join(m.group("op").split()), m.group("value")
        if attr.startswith("label."):
            attr = "labels." + attr[len("label.") :]
        if attr not in ATTRIBUTES and not attr.startswith("labels."):
            attr = "labels." + attr
        if attr == "labels.":
            raise InvalidInput(f"constraint {text!r}: empty label key")
        if raw.startswith("["):
            if op not in ("in", "not in"):
                raise InvalidInput(f"constraint {text!r}: a list needs 'in' or 'not in'")
            values = [_unquote(v) for v in _ITEM.findall(raw[1:-1])]
            if not values:
                raise InvalidInput(f"constraint {text!r}: empty list")
        else:
            values = [_unquote(raw)]
        operator = {"==": "in", "=": "in", "!=": "not in"}.get(op, op)
        return cls(attr, operator, tuple(sorted(set(values))))

    def matches(self, *, zone: str, role: str, host: str, labels: Mapping[str, str]) -> bool:
        if self.attribute == "zone":
            actual: str | None = zone
        elif self.attribute == "role":
            actual = role
        elif self.attribute == "host":
            actual = host
        else:
            actual = labels.get(self.attribute[len("labels.") :])
        inside = actual is not None and actual in self.values
        return inside if self.operator == "in" else not inside

    def __str__(self) -> str:
        if len(self.values) == 1:
            return f"{self.attribute} {'==' if self.operator == 'in' else '!='} {self.values[0]}"
        return f"{self.attribute} {self.operator} [{', '.join(self.values)}]"
