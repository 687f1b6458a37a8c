"""A whole manifest: its name, services, links between them and addons; and reading one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mason.core import documents
from mason.core.errors import key_path, suggest, type_name
from mason.core.fields import ErrorList, ManifestError, check_keys, check_str_list
from mason.core.manifest.model import APP_KEYS, App, Service
from mason.core.manifest.service import Templates, parse_service
from mason.core.names import check_name


def parse_manifest(
    data: Any,
    source: str,
    *,
    default_name: str | None = None,
    catalog: Templates | None = None,
    addons: Sequence[str] | None = None,
) -> App:
    """Validate ``data`` (a loaded YAML document) and return the :class:`App`.

    ``catalog`` maps catalog entry names to their service templates (services with
    ``catalog: NAME`` take their defaults from it); ``addons`` lists the addon names
    an app may ask for. Either may be None to skip that check.
    Raises :class:`ManifestError` with every problem found.
    """
    errors = ErrorList(source)
    if not isinstance(data, dict):
        errors.add("", f"expected a mapping with 'services', got {type_name(data)}")
        raise ManifestError(errors.lines)
    check_keys(errors, "", data, APP_KEYS)
    name = data.get("name", default_name)
    if name is None:
        errors.add("name", "required")
    else:
        errors.check("name", lambda v: check_name("app", v), name)
    services = _services(errors, data.get("services"), catalog)
    app_addons = _addons(errors, data["addons"], addons) if "addons" in data else []
    if "description" in data and not isinstance(data["description"], str):
        errors.add("description", f"expected a string, got {type_name(data['description'])}")
    errors.raise_if_any()
    return App(
        name=name,
        services=dict(sorted(services.items())),
        addons=tuple(dict.fromkeys(app_addons)),
        description=data.get("description", ""),
        source=source,
    )


def _services(errors: ErrorList, raw: Any, catalog: Templates | None) -> dict[str, Service]:
    services: dict[str, Service] = {}
    if raw is None:
        errors.add("services", "required: a mapping of service name to service")
        return services
    if not isinstance(raw, dict):
        errors.add("services", f"expected a mapping, got {type_name(raw)}")
        return services
    if not raw:
        errors.add("services", "must define at least one service")
        return services
    for sname, body in raw.items():
        if not isinstance(sname, str):
            errors.add(key_path("services", sname), "service names must be strings")
            continue
        svc = parse_service(errors, sname, body, catalog)
        if svc:
            services[sname] = svc
    _links(errors, raw)
    return services


def _links(errors: ErrorList, raw: Mapping[Any, Any]) -> None:
    """Every link names another service of this app."""
    defined = [s for s in raw if isinstance(s, str)]
    for sname, body in raw.items():
        links = body.get("links") if isinstance(body, dict) else None
        items = [links] if isinstance(links, str) else links if isinstance(links, list) else []
        for i, link in enumerate(items):
            if not isinstance(link, str):
                continue
            at = f"{key_path('services', sname)}.links[{i}]"
            if link == sname:
                errors.add(at, "a service cannot link to itself")
            elif link not in defined:
                errors.add(at, f"no service {link!r} in this app ({suggest(link, defined)})")


def _addons(errors: ErrorList, raw: Any, known: Sequence[str] | None) -> list[str]:
    found: list[str] = []
    for i, addon in enumerate(check_str_list(errors, "addons", raw) or []):
        if known is not None and addon not in known:
            errors.add(f"addons[{i}]", f"unknown addon {addon!r} ({suggest(addon, list(known))})")
        else:
            found.append(addon)
    return found


def load_manifest(
    path: Path,
    *,
    source: str | None = None,
    catalog: Templates | None = None,
    addons: Sequence[str] | None = None,
) -> App:
    """Read (guarded, :mod:`mason.core.documents`) and validate one manifest file.
    The app name defaults to the file's stem."""
    source = source or str(path)
    data = documents.load(path, source=source)
    return parse_manifest(data, source, default_name=path.stem, catalog=catalog, addons=addons)
