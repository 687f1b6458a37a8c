"""The ``mason`` command line: Click only. Commands parse, call core/providers/runner, render.

Expected errors (:class:`mason.core.errors.MasonError`) become one line on stderr
and the exit code of their kind (README, "Exit codes"); anything else is a bug
and shows its traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NoReturn

import click

from mason import __version__
from mason.cli._context import Ctx
from mason.core import files
from mason.core.errors import ExitCode, MasonError, NotFound, error_json


class MasonGroup(click.Group):
    """Root group that owns the one error path.

    Every error leaves as one line on stderr and its exit code (README, "Exit codes"):
    mason's own errors, Click's usage errors (a root option's too), Ctrl-C. With
    ``--json`` the error is also one JSON object on stdout, ``{"error": {"message",
    "exit_code", "kind"}}``, unless the command already printed its result there: stdout
    stays valid JSON on every exit. A bug keeps its traceback (and its JSON object).
    """

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, list(args), parent=parent, **extra)
        except click.UsageError as exc:  # a root option, before there is a context to invoke
            _fail(exc.format_message(), ExitCode.USAGE, _json_asked(args), hint=_help_hint(exc))

    def invoke(self, ctx: click.Context):
        as_json = bool(ctx.params.get("as_json"))
        try:
            return super().invoke(ctx)
        except MasonError as exc:
            _fail(str(exc), exc.exit_code, as_json and not _emitted(ctx))
        except click.UsageError as exc:
            _fail(exc.format_message(), ExitCode.USAGE, as_json, hint=_help_hint(exc))
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code, as_json and not _emitted(ctx))
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERRUPTED, as_json and not _emitted(ctx))
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if as_json and not _emitted(ctx):
                _emit_error(f"{type(exc).__name__}: {exc}", ExitCode.UNEXPECTED)
            raise


def _fail(message: str, code: int, as_json: bool, *, hint: str = "") -> NoReturn:
    click.echo(f"mason: error: {message}{hint}", err=True)
    if as_json:
        _emit_error(message, code)
    raise click.exceptions.Exit(int(code))


def _emit_error(message: str, code: int) -> None:
    click.echo(json.dumps(error_json(message, code)))


def _emitted(ctx: click.Context) -> bool:
    return bool(getattr(ctx.obj, "emitted", False))


def _help_hint(exc: click.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx is not None else "mason"
    return f" (see '{path} --help')"


def _json_asked(args) -> bool:
    return "--json" in args or os.environ.get("MASON_JSON", "").lower() in ("1", "true", "yes")


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=MasonGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="mason")
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    envvar="MASON_PROJECT_DIR",
    show_envvar=True,
    help="Project directory (holds mason.yml, apps/ and .mason/runs/).",
)
@click.option(
    "-v",
    "--verbose",
    "verbosity",
    count=True,
    envvar="MASON_VERBOSITY",
    show_envvar=True,
    help="More detail: -v shows every task result, -vv passes -vv to Ansible.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="MASON_JSON",
    show_envvar=True,
    help="Machine-readable output: JSON on stdout (one object per event for runs).",
)
@click.option(
    "--no-color",
    is_flag=True,
    envvar=["MASON_NO_COLOR", "NO_COLOR"],
    show_envvar=True,
    help="Plain output without colours.",
)
@click.pass_context
def main(ctx: click.Context, project_dir: Path, verbosity: int, as_json: bool, no_color: bool):
    """mason builds pods of hardened Docker hosts and lays out apps over them.

    \b
    Start here:
      mason init                 scaffold a project (mason.yml, apps/, inventory/)
      mason pod create demo      a local 3-host pod on this machine's Docker engine
      mason pod list             every pod mason can see
      mason pod ssh demo demo-h1 a shell on one host

    Every command takes --help. Exit codes are listed in the README.
    """
    # A missing project directory is an error, not an empty project; `init` makes one.
    if not files.exists(project_dir, source=f"--project-dir {project_dir}"):
        if ctx.invoked_subcommand != "init":
            raise NotFound(f"--project-dir {project_dir}: no such directory")
    elif not project_dir.is_dir():
        raise NotFound(f"--project-dir {project_dir}: not a directory")
    ctx.obj = Ctx(
        project_dir=project_dir.resolve(), verbosity=verbosity, json=as_json, color=not no_color
    )


from mason.cli.image import image  # noqa: E402
from mason.cli.init import init  # noqa: E402
from mason.cli.pod import pod  # noqa: E402

main.add_command(init)
main.add_command(pod)
main.add_command(image)

# --- command groups of other areas register below (one import + add_command each) ---
from mason.cli.app import app  # noqa: E402
from mason.cli.catalog import catalog  # noqa: E402

main.add_command(app)
main.add_command(catalog)
from mason.cli.harden import harden  # noqa: E402

main.add_command(harden)
from mason.cli.pki import pki  # noqa: E402

main.add_command(pki)
from mason.cli.up import down, up  # noqa: E402

main.add_command(up)
main.add_command(down)
