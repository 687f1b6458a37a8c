"""Names users give (pods, hosts, environments, zones, apps, services) become DNS labels,
container names and Ansible group names: one rule, checked in one place.

Every pattern here is applied with ``fullmatch``: ``re.match`` with ``$`` would let a
name ending in a newline through (``$`` matches before a final ``\\n``).
"""

from __future__ import annotations

import re

from mason.core.errors import InvalidInput, describe

# RFC 1123 label, kept short so "mason-<pod>-<host>" stays a valid container
# and DNS name; lower case only because DNS and Docker disagree on case.
_LABEL = re.compile(r"[a-z]([a-z0-9-]*[a-z0-9])?")
# Environment and Ansible variable names.
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Login names portable across Unix systems (POSIX, at most 32 characters as useradd allows).
_LOGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
MAX_POD_NAME = 30
# A host's role in its pod: the manager (or managers) hold the CA and the registry.
ROLE_MANAGER = "manager"
ROLE_WORKER = "worker"
ROLES = (ROLE_WORKER, ROLE_MANAGER)


def check_name(kind: str, value: object, *, max_len: int = 63, where: str = "") -> str:
    """Return ``value`` if it is a valid DNS label of at most ``max_len`` chars, else raise."""
    prefix = f"{where}: " if where else ""
    if not isinstance(value, str):
        raise InvalidInput(f"{prefix}{kind} name: expected a string, got {describe(value)}")
    if not value:
        raise InvalidInput(f"{prefix}{kind} name must not be empty")
    if len(value) > max_len:
        raise InvalidInput(
            f"{prefix}invalid {kind} name {value[: max_len + 10]!r}: at most {max_len} characters, "
            f"got {len(value)}"
        )
    if not _LABEL.fullmatch(value):
        raise InvalidInput(
            f"{prefix}invalid {kind} name {value!r}: expected lower-case letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def check_pod_name(value: object) -> str:
    return check_name("pod", value, max_len=MAX_POD_NAME)


def is_variable_name(value: object) -> bool:
    """An environment or Ansible variable name: letters, digits, '_', not starting with a digit."""
    return isinstance(value, str) and _VARIABLE.fullmatch(value) is not None


def is_login_name(value: object) -> bool:
    """A user name SSH and Ansible can use as is: no spaces, no '@', no newline."""
    return isinstance(value, str) and _LOGIN.fullmatch(value) is not None


def group_name(prefix: str, value: str) -> str:
    """An Ansible-safe group name: Ansible warns on '-' in group names."""
    return f"{prefix}_{value}".replace("-", "_").replace(".", "_")
