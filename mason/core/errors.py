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
    DRIFT = 8  # a check found hosts that differ from the desired state
    INFEASIBLE = 9  # a plan that cannot be satisfied (placement)
    PROVIDER = 10  # the provider (Docker, a cloud API) refused or failed
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


class ProviderError(MasonError):
    exit_code = ExitCode.PROVIDER


class Interrupted(MasonError):
    exit_code = ExitCode.INTERRUPTED


def unknown_field(where: str, key: str, allowed: Sequence[str]) -> InvalidInput:
    """The error for a key that is not allowed, suggesting the nearest allowed one."""
    near = difflib.get_close_matches(key, allowed, n=1)
    if near:
        hint = f"did you mean {near[0]!r}?"
    elif allowed:
        hint = f"expected one of: {', '.join(allowed)}"
    else:
        hint = "this provider takes no options"
    return InvalidInput(f"{where}: unknown field {key!r} ({hint})")
