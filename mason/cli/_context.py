"""What every command receives: global options, consoles, and JSON output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from mason.operations.session import Session


@dataclass
class Ctx:
    project_dir: Path
    verbosity: int = 0
    json: bool = False
    color: bool = True
    console: Console = field(init=False)
    err: Console = field(init=False)
    #: something was written to stdout as JSON (the error path then adds no error object)
    emitted: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        no_color = not self.color
        self.console = Console(no_color=no_color, highlight=False)
        self.err = Console(stderr=True, no_color=no_color, highlight=False)
        # Off a terminal rich assumes 80 columns and truncates tables; logs and
        # pipes are read by people with wide screens and by grep.
        for console in (self.console, self.err):
            if not console.is_terminal:
                console.width = 160

    @property
    def interactive(self) -> bool:
        """Live progress only on a terminal, and never when output is JSON."""
        return not self.json and self.err.is_terminal

    def emit_json(self, obj: Any) -> None:
        self.emitted = True
        sys.stdout.write(json.dumps(obj, default=str, sort_keys=False) + "\n")
        sys.stdout.flush()

    def say(self, message: str) -> None:
        """Human progress on stderr (keeps stdout clean for pipes); silent with --json."""
        if not self.json:
            self.err.print(message, markup=False)

    def session(self) -> Session:
        """The operations layer's view of this command: progress and run rendering."""
        from mason.cli._progress import RunView, report

        return Session(
            project_dir=self.project_dir,
            verbosity=self.verbosity,
            say=self.say,
            watch=lambda title: RunView(self, title),
            finished=lambda result: report(self, result),
        )


pass_ctx = click.make_pass_decorator(Ctx)
