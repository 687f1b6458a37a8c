"""The one exception tree of mason, and the exit code each kind of error maps to.

The CLI prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``;
anything that is not a :class:`MasonError` is a bug and gets a traceback.
The table is documented in the README ("Exit codes"): keep the two in step.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: traceback shown
    USAGE = 2  # Click's own code for bad options
    INVALID = 3  # bad input: a file, a field, a name, a value
    NOT_FOUND = 4  # a pod, host or file that does not exist
    ENVIRONMENT = 5  # something mason needs is missing: Docker engine, credentials, a tool
    RUN_FAILED = 6  # a playbook ran and a task failed on some host
    UNREACHABLE = 7  # hosts could not be reached over SSH
    DRIFT = 8  # drift found: hosts, certificates, degraded apps, a ledger failing verification
    INFEASIBLE = 9  # a plan that cannot be satisfied (placement)
    PROVIDER = 10  # the provider (Docker, a cloud API) refused or failed
    POLICY = 11  # a policy refused the change before anything changed (deploy --deny-weaker)
    INTERRUPTED = 130  # Ctrl-C


class MasonError(Exception):
    """An expected error: one clear line for the user, a documented exit code."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(MasonError):
    exit_code = ExitCode.INVALID


class NotFound(MasonError):
    exit_code = ExitCode.NOT_FOUND


class EnvironmentProblem(MasonError):
    exit_code = ExitCode.ENVIRONMENT


class RunFailed(MasonError):
    exit_code = ExitCode.RUN_FAILED


class HostsUnreachable(MasonError):
    exit_code = ExitCode.UNREACHABLE


class DriftFound(MasonError):
    exit_code = ExitCode.DRIFT


class Infeasible(MasonError):
    exit_code = ExitCode.INFEASIBLE


class PolicyRefused(MasonError):
    exit_code = ExitCode.POLICY


class ProviderError(MasonError):
    exit_code = ExitCode.PROVIDER


_KINDS: dict[type, str] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "nothing (null)",
}


def type_name(value: object) -> str:
    """A value's type in words, as messages say it: ``a mapping``, ``an integer``."""
    return _KINDS.get(type(value), type(value).__name__)


def describe(value: object) -> str:
    """A value as messages show it: its type in words, then (for scalars) its repr,
    cut short so a message stays one readable line: ``an integer 123``."""
    if isinstance(value, dict | list) or value is None:
        return type_name(value)
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{type_name(value)} {shown}"


def suggest(value: object, known: Sequence[object], *, otherwise: str = "") -> str:
    """The hint for a name that is not known: the nearest known one, else ``otherwise``,
    else the list of known names."""
    near = difflib.get_close_matches(str(value), [str(k) for k in known], n=1, cutoff=0.6)
    if near:
        return f"did you mean {near[0]!r}?"
    if otherwise:
        return otherwise
    if known:
        return f"expected one of: {', '.join(map(str, known))}"
    return "none is allowed here"


def unknown_key_message(key: object, allowed: Sequence[object], *, none: str = "") -> str:
    """The one wording for a key that is not allowed, with :func:`suggest`'s hint; ``none``
    says why when no key at all is allowed there ("this provider takes no options")."""
    otherwise = "" if allowed else none or "no keys are allowed here"
    return f"unknown key ({suggest(key, allowed, otherwise=otherwise)})"


def key_path(parent: str, key: object) -> str:
    """How a key shows in an error's path: ``services.web``; a key that is not a plain
    printable string is shown as its repr (``services.'a\\nb'``, ``services.123``) so the
    message stays one line and says what the key really is."""
    plain = isinstance(key, str) and key and key.isprintable() and not any(c in key for c in " .[]")
    shown = key if plain else repr(key)
    return f"{parent}.{shown}" if parent else str(shown)


def unknown_field(
    path: str, key: object, allowed: Sequence[str], *, none: str = ""
) -> InvalidInput:
    """The error for a key that is not allowed; ``path`` names it (``mason.yml: pods.x.hostz``)."""
    return InvalidInput(f"{path}: {unknown_key_message(key, allowed, none=none)}")


def error_json(message: str, exit_code: int) -> dict[str, object]:
    """An error as automation reads it on stdout with ``--json``: ``kind`` is the exit
    code's name (``invalid``, ``not_found``, ``usage``, ...)."""
    code = ExitCode(exit_code)
    return {"error": {"message": message, "exit_code": int(code), "kind": code.name.lower()}}
