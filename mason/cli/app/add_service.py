"""``mason app add-service APP SERVICE --catalog NAME``: one catalog service in one command."""

from __future__ import annotations

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import catalog_entries, display
from mason.core import documents, files
from mason.core.catalog import templates
from mason.core.errors import NotFound
from mason.core.manifest import add_service_text, parse_manifest
from mason.core.names import check_name
from mason.core.validate import MAX_REPLICAS


@click.command("add-service")
@click.argument("app_name", metavar="APP")
@click.argument("service")
@click.option("--catalog", "entry", required=True, metavar="NAME", help="Catalog entry to use.")
@click.option(
    "--replicas",
    type=click.IntRange(min=1, max=MAX_REPLICAS),
    default=1,
    show_default=True,
    help="Containers of the service.",
)
@pass_ctx
def add_service(ctx: Ctx, app_name: str, service: str, entry: str, replicas: int) -> None:
    """Add SERVICE, built from a catalog entry, to apps/APP.yml (created if missing).

    The service gets `catalog: NAME` and takes ports, healthcheck, volumes and
    resources from the entry's template; override any of them in the file.
    Comments and layout of an existing file are kept; nothing is written if the
    result would not validate.

    \b
    Examples:
      mason app add-service shop db --catalog postgresql
      mason app add-service shop cache --catalog redis --replicas 2
    """
    check_name("app", app_name)
    check_name("service", service)
    entries = catalog_entries(ctx)
    if entry not in entries:
        raise NotFound(f"no catalog entry {entry!r}", hint=f"known: {', '.join(entries)}")
    apps = ctx.project_dir / "apps"
    path = next(
        (p for p in (apps / f"{app_name}.yml", apps / f"{app_name}.yaml") if files.exists(p)),
        apps / f"{app_name}.yml",
    )
    source = display(path, ctx.project_dir)
    files.check_output_path(path)
    text = files.read_text(path, source=source) if files.exists(path, source=source) else None
    # refuses a file that is not a manifest (a YAML list, say) rather than rewriting it
    new_text = add_service_text(
        text, app_name, service, {"catalog": entry, "replicas": replicas}, source=source
    )
    parse_manifest(
        documents.parse_yaml(new_text, source),
        source,
        default_name=app_name,
        catalog=templates(entries),
        addons=list(entries),
    )
    files.write_text(path, new_text)
    if ctx.json:
        ctx.emit_json({"file": source, "app": app_name, "service": service, "catalog": entry})
    else:
        ctx.console.print(
            f"{source}: added service {service} (catalog {entry}, {replicas} replica"
            f"{'s' if replicas != 1 else ''})"
        )
