"""Helpers shared by the app and catalog commands: catalog search path, app files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mason.cli._context import Ctx
from mason.core import files
from mason.core.catalog import CatalogEntry, list_entries, search_path, templates
from mason.core.errors import NotFound
from mason.core.manifest import App, load_manifest
from mason.core.names import check_name
from mason.core.placement import DEFAULT_TIME_LIMIT, MAX_TIME_LIMIT

CATALOG_ENV = "MASON_CATALOG_PATH"


def catalog_dirs(ctx: Ctx) -> list[Path]:
    """``$MASON_CATALOG_PATH`` (os.pathsep-separated), then ``<project>/catalog``, then built-in."""
    extra = [Path(p) for p in os.environ.get(CATALOG_ENV, "").split(os.pathsep) if p]
    return search_path(ctx.project_dir, extra)


def catalog_entries(ctx: Ctx) -> dict[str, CatalogEntry]:
    return list_entries(catalog_dirs(ctx))


def display(path: Path, base: Path) -> str:
    """A path as users see it in messages: relative to the project when it is inside."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def app_file(ctx: Ctx, name_or_path: str) -> Path:
    """``shop`` -> ``<project>/apps/shop.yml``; an existing file path is taken as is."""
    given = Path(name_or_path)
    if given.suffix in (".yml", ".yaml") or os.sep in name_or_path:
        if files.exists(given):  # a directory or a bad symlink: the reader says which
            return given
        raise NotFound(f"no such file: {name_or_path}")
    check_name("app", name_or_path)
    for suffix in (".yml", ".yaml"):
        candidate = ctx.project_dir / "apps" / f"{name_or_path}{suffix}"
        if files.exists(candidate):
            return candidate
    raise NotFound(
        f"no app {name_or_path!r}: apps/{name_or_path}.yml not found in {ctx.project_dir}"
    )


def load_app(ctx: Ctx, path: Path) -> App:
    entries = catalog_entries(ctx)
    return load_manifest(
        path,
        source=display(path, ctx.project_dir),
        catalog=templates(entries),
        addons=list(entries),
    )


time_limit_option = click.option(
    "--time-limit",
    type=click.FloatRange(min=0, max=MAX_TIME_LIMIT),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    metavar="SECONDS",
    help="When greedy placement leaves containers without a host, how long the repair may "
    "move others to make room (0: no repair).",
)
