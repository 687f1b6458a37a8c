"""Names users give (pods, hosts, environments, zones) become DNS labels,
container names and Ansible group names: one rule, checked in one place."""

from __future__ import annotations

import re

from mason.core.errors import InvalidInput

# RFC 1123 label, kept short so "mason-<pod>-<host>" stays a valid container
# and DNS name; lower case only because DNS and Docker disagree on case.
_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
MAX_POD_NAME = 30


def check_name(kind: str, value: str, *, max_len: int = 63, where: str = "") -> str:
    """Return ``value`` if it is a valid DNS label of at most ``max_len`` chars, else raise."""
    prefix = f"{where}: " if where else ""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{prefix}{kind} name must not be empty")
    if len(value) > max_len:
        raise InvalidInput(
            f"{prefix}invalid {kind} name {value!r}: at most {max_len} characters, got {len(value)}"
        )
    if not _LABEL.match(value):
        raise InvalidInput(
            f"{prefix}invalid {kind} name {value!r}: expected lower-case letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def check_pod_name(value: str) -> str:
    return check_name("pod", value, max_len=MAX_POD_NAME)


def group_name(prefix: str, value: str) -> str:
    """An Ansible-safe group name: Ansible warns on '-' in group names."""
    return f"{prefix}_{value}".replace("-", "_").replace(".", "_")
