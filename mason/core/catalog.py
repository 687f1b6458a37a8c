"""The catalog: ready-made services (postgresql, mysql, redis, rabbitmq, nginx, ...).

Each entry is a directory ``<name>/`` holding:

- ``service.yml``: the service template (image, ports, healthcheck, volumes,
  resources); a manifest service with ``catalog: NAME`` starts from it;
- ``Dockerfile``: the recipe for its image, ``FROM`` the build-arg ``BASE``
  (mason's Debian 12 base image) with Debian's own packages;
- ``addon.yml``: the addon contract, the environment variables an app that
  lists the entry under ``addons:`` receives (``MASON_POSTGRESQL_URL``, ...).

Where entries are found (first match of a name wins), see :func:`search_path`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core import documents, files
from mason.core.errors import InvalidInput, MasonError, NotFound, describe, key_path
from mason.core.fields import ErrorList, ManifestError, check_keys
from mason.core.manifest import Service, parse_service
from mason.core.names import check_name

SERVICE_FILE, ADDON_FILE, RECIPE_FILE = "service.yml", "addon.yml", "Dockerfile"
ADDON_KEYS = ("description", "defaults", "env")
#: Placeholders an addon's env templates may use; deployment fills host and password.
PLACEHOLDERS = ("app", "host", "port", "user", "password", "database", "vhost")
_ENV = re.compile(r"MASON_[A-Z0-9_]+")  # with fullmatch: "$" would accept a final newline


def builtin_dir() -> Path:
    """The catalog shipped with mason.

    Installed from a wheel it is package data (``mason/catalog_data``); from a
    source checkout or an editable install it is ``catalog/`` at the repo root.
    """
    package = Path(__file__).resolve().parent.parent
    shipped = package / "catalog_data"
    return shipped if shipped.is_dir() else package.parent / "catalog"


def search_path(project_dir: Path | None = None, extra: Iterable[Path] = ()) -> list[Path]:
    """Directories searched for entries, in order: ``extra`` (``MASON_CATALOG_PATH``),
    the project's own ``catalog/``, then the built-in catalog."""
    dirs = [Path(p) for p in extra]
    if project_dir is not None:
        dirs.append(project_dir / "catalog")
    dirs.append(builtin_dir())
    return dirs


@dataclass(frozen=True)
class Addon:
    description: str
    defaults: Mapping[str, str]
    env: Mapping[str, str]  # variable -> template with {placeholders}

    def render(self, values: Mapping[str, str]) -> dict[str, str]:
        """The variables an app receives, given at least ``app``, ``host`` and ``password``."""
        known = dict(values)
        for key, template in self.defaults.items():
            known.setdefault(key, template.format_map(values) if "{" in template else template)
        missing = sorted({name for t in self.env.values() for name in _fields(t)} - set(known))
        if missing:
            raise InvalidInput(f"addon needs values for: {', '.join(missing)}")
        return {var: template.format_map(known) for var, template in self.env.items()}


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    path: Path
    template: Mapping[str, Any]  # service.yml as written
    service: Service  # the template validated as a service
    addon: Addon
    recipe: Path = field(compare=False)

    @property
    def description(self) -> str:
        return self.service.description


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _addon(errors: ErrorList, data: Any) -> Addon | None:
    if not isinstance(data, dict):
        errors.add("", "expected a mapping with 'env'")
        return None
    check_keys(errors, "", data, ADDON_KEYS)
    env = data.get("env")
    if not isinstance(env, dict) or not env:
        errors.add("env", "required: a mapping of MASON_* variable to template")
        return None
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        errors.add("defaults", "expected a mapping")
        return None
    for path, var, template in [
        *((key_path("env", k), k, v) for k, v in env.items()),
        *((key_path("defaults", k), None, v) for k, v in defaults.items()),
    ]:
        _template(errors, path, template)
        if var is not None and not (isinstance(var, str) and _ENV.fullmatch(var)):
            errors.add(path, "variable names must look like MASON_NAME_...")
    if errors.lines:
        return None
    return Addon(str(data.get("description", "")), dict(defaults), dict(env))


def _template(errors: ErrorList, path: str, template: Any) -> None:
    """A value template: a string whose {placeholders} are all known, and that renders."""
    if not isinstance(template, str):
        errors.add(path, f"expected a string, got {describe(template)}")
        return
    try:
        unknown = _fields(template) - set(PLACEHOLDERS)
        if not unknown:
            template.format_map(dict.fromkeys(PLACEHOLDERS, "x"))
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        errors.add(path, f"bad template: {exc}")
        return
    if unknown:
        errors.add(
            path, f"unknown placeholder {sorted(unknown)[0]!r} (known: {', '.join(PLACEHOLDERS)})"
        )


def load_entry(directory: Path) -> CatalogEntry:
    """Read and validate one entry directory; raise ManifestError with every problem."""
    name = directory.name
    check_name("catalog entry", name)
    lines: list[str] = []
    template: Any = None
    service = addon = None
    try:
        template = documents.load(directory / SERVICE_FILE)
    except MasonError as exc:
        lines += _lines(exc)
    if template is not None:
        errors = ErrorList(str(directory / SERVICE_FILE))
        if not isinstance(template, dict) or "image" not in template:
            errors.add("image", "required: the image the recipe builds")
        else:
            service = parse_service(errors, name, template, None)
        # the error paths read "services.<name>.x"; in a template they are just "x"
        lines += [line.replace(f": services.{name}.", ": ", 1) for line in errors.lines]
    try:
        addon_data = documents.load(directory / ADDON_FILE)
        errors = ErrorList(str(directory / ADDON_FILE))
        addon = _addon(errors, addon_data)
        lines += errors.lines
    except MasonError as exc:
        lines += _lines(exc)
    recipe = directory / RECIPE_FILE
    try:
        if "ARG BASE" not in files.read_text(recipe):
            lines.append(f"{recipe}: must build FROM the build-arg BASE (mason's base image)")
    except NotFound:
        lines.append(f"{recipe}: no such file (the recipe that builds {name}'s image)")
    except MasonError as exc:
        lines += _lines(exc)
    if lines or service is None or addon is None:
        raise ManifestError(lines)
    return CatalogEntry(name, directory, dict(template), service, addon, recipe)


def _lines(exc: MasonError) -> list[str]:
    return list(getattr(exc, "lines", [str(exc)]))


def list_entries(dirs: Sequence[Path]) -> dict[str, CatalogEntry]:
    """Every entry found on the search path, by name (earlier directories win)."""
    found: dict[str, CatalogEntry] = {}
    for base in dirs:
        if not base.is_dir():
            continue
        for directory in sorted(p for p in base.iterdir() if p.is_dir()):
            if directory.name in found or not (directory / SERVICE_FILE).is_file():
                continue
            found[directory.name] = load_entry(directory)
    return dict(sorted(found.items()))


def get_entry(dirs: Sequence[Path], name: str) -> CatalogEntry:
    entries = list_entries(dirs)
    if name not in entries:
        raise NotFound(f"no catalog entry {name!r}", hint=f"known: {', '.join(entries) or 'none'}")
    return entries[name]


def templates(entries: Mapping[str, CatalogEntry]) -> dict[str, dict[str, Any]]:
    """Name -> service template, the shape :func:`mason.core.manifest.parse_manifest` takes."""
    return {name: dict(entry.template) for name, entry in entries.items()}
