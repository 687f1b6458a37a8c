"""What an operation needs from its caller: where the project is, and where progress goes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from mason.runner import EventHandler, RunResult


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


@contextlib.contextmanager
def _unwatched(_: str) -> Iterator[EventHandler | None]:
    yield None


def _ignore(_: RunResult) -> None:
    """Default: a finished run needs no summary."""


@dataclass(frozen=True)
class Session:
    """The caller's side of an operation.

    ``say`` takes one-line progress messages; ``watch(title)`` is entered around each
    playbook run and yields an ansible-runner event handler (a live view, JSON
    events) or None; ``finished`` receives each run's result (a summary).
    """

    project_dir: Path
    verbosity: int = 0
    say: Callable[[str], None] = _quiet
    watch: Callable[[str], AbstractContextManager[EventHandler | None]] = _unwatched
    finished: Callable[[RunResult], None] = _ignore
