"""The ``mason`` command line: Click only. Commands parse, call core/providers/runner, render.

Expected errors (:class:`mason.core.errors.MasonError`) become one line on stderr
and the exit code of their kind (README, "Exit codes"); anything else is a bug
and shows its traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from mason import __version__
from mason.cli._context import Ctx
from mason.core.errors import ExitCode, MasonError


class MasonGroup(click.Group):
    """Root group that owns the one error path."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MasonError as exc:
            click.echo(f"mason: error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("mason: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


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
