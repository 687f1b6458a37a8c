"""``mason app validate FILE...``: every error of every manifest, or ok."""

from __future__ import annotations

from pathlib import Path

import click

from mason.cli._context import Ctx, pass_ctx
from mason.cli.app._common import catalog_entries, display
from mason.core.catalog import templates
from mason.core.errors import MasonError, NotFound
from mason.core.manifest import ManifestError, load_manifest


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def validate(ctx: Ctx, files: tuple[Path, ...]) -> None:
    """Check app manifests: keys, names, units, links, catalog entries and addons.

    Prints every problem of every file, one line each (file: path: what was
    expected), and exits 3 if there is any (4 when the only problem is missing files).

    \b
    Examples:
      mason app validate apps/shop.yml
      mason app validate apps/*.yml
    """
    entries = catalog_entries(ctx)
    catalog, addons = templates(entries), list(entries)
    results, errors, missing = [], [], 0
    for path in files:
        source = display(path, ctx.project_dir) if path.is_absolute() else str(path)
        try:
            app = load_manifest(path, source=source, catalog=catalog, addons=addons)
        except MasonError as exc:
            lines = list(getattr(exc, "lines", [str(exc)]))
            missing += isinstance(exc, NotFound)
            errors += lines
            results.append({"file": source, "valid": False, "errors": lines})
            continue
        replicas = sum(s.replicas for s in app.services.values())
        results.append(
            {
                "file": source,
                "valid": True,
                "app": app.name,
                "services": len(app.services),
                "replicas": replicas,
                "errors": [],
            }
        )
    if ctx.json:
        ctx.emit_json({"files": results})
    else:
        for r in results:
            if r["valid"]:
                ctx.console.print(
                    f"{r['file']}: ok (app {r['app']}: {r['services']} services, "
                    f"{r['replicas']} replicas)"
                )
    if errors and missing == len([r for r in results if not r["valid"]]):
        raise NotFound("\n".join(errors))  # only missing files: exit 4, as for one
    if errors:
        raise ManifestError(errors)
