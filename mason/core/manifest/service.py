"""One service of a manifest (or a catalog template): its phases, each recording its errors.

:func:`parse_service` checks the service's keys, merges its catalog template, then
reads each group of fields (source, resources, ports, env, volumes, healthcheck,
links and HA, placement, availability) in a phase of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mason.core.errors import key_path, suggest, type_name
from mason.core.fields import (
    ErrorList,
    check_int,
    check_keys,
    check_mapping,
    check_str_list,
    check_string,
    scalar_map,
)
from mason.core.manifest.model import (
    CAPABILITIES,
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    HA_MODES,
    PLACEMENT_KEYS,
    RESOURCE_KEYS,
    SECURITY_KEYS,
    SERVICE_KEYS,
    SOURCE_KEYS,
    STRATEGIES,
    Healthcheck,
    Port,
    Security,
    Service,
)
from mason.core.manifest.parts import (
    check_build,
    check_image,
    parse_healthcheck,
    parse_port_item,
    parse_volume,
)
from mason.core.names import check_name, is_variable_name
from mason.core.placement.constraints import Constraint
from mason.core.units import parse_cpu, parse_memory
from mason.core.validate import MAX_REPLICAS

Templates = Mapping[str, Mapping[str, Any]]


def merge_template(template: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog template under the user's keys: mappings merge, everything else is replaced."""
    merged = dict(template)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass
class _Placement:
    strategy: str = "spread"
    constraints: list[Constraint] = field(default_factory=list)


def parse_service(
    errors: ErrorList, name: str, data: Any, catalog: Templates | None
) -> Service | None:
    """The service ``name`` of a manifest, or None after recording why it is invalid.

    ``catalog`` maps entry names to their templates (None: do not check ``catalog:``).
    """
    path = key_path("services", name)
    errors.check(path, lambda v: check_name("service", v), name)
    data = check_mapping(errors, path, data)
    if data is None:
        return None
    before = len(errors.lines)
    check_keys(errors, path, data, SERVICE_KEYS)
    data = _source(errors, path, data, catalog)
    command = (
        check_str_list(errors, f"{path}.command", data["command"]) if "command" in data else []
    )
    replicas = check_int(
        errors, f"{path}.replicas", data.get("replicas", 1), low=1, high=MAX_REPLICAS
    )
    cpu, memory = _resources(errors, path, data)
    ports = _ports(errors, path, data)
    env = _env(errors, path, data)
    volumes = _each(errors, path, data, "volumes", parse_volume)
    healthcheck = _healthcheck(errors, path, data)
    links = check_str_list(errors, f"{path}.links", data["links"]) if "links" in data else []
    ha = _ha(errors, path, data)
    placement = _placement(errors, path, data)
    min_available = _min_available(errors, path, data, replicas)
    security = _security(errors, path, data)
    if len(errors.lines) != before:
        return None
    return Service(
        name=name,
        image=data.get("image"),
        catalog=data.get("catalog"),
        build=data.get("build"),
        command=tuple(command or ()),
        description=data.get("description", ""),
        replicas=replicas,
        cpu=cpu,
        memory=memory,
        ports=tuple(ports),
        env=env,
        volumes=tuple(volumes),
        healthcheck=healthcheck,
        links=tuple(dict.fromkeys(links or ())),
        ha=frozenset(ha),
        strategy=placement.strategy,
        constraints=tuple(sorted(set(placement.constraints))),
        min_available=min_available if replicas else 1,
        security=security,
    )


def _env(errors: ErrorList, path: str, data: Mapping[str, Any]) -> dict[str, str]:
    env = scalar_map(errors, f"{path}.env", data["env"]) if "env" in data else {}
    for key in env:
        if not is_variable_name(key):
            errors.add(key_path(f"{path}.env", key), "not a valid environment variable name")
    return env


def _healthcheck(errors: ErrorList, path: str, data: Mapping[str, Any]) -> Healthcheck | None:
    if data.get("healthcheck") is None:
        return None
    return parse_healthcheck(errors, f"{path}.healthcheck", data["healthcheck"])


def _source(
    errors: ErrorList, path: str, data: dict[Any, Any], catalog: Templates | None
) -> dict[Any, Any]:
    """Exactly one of image, catalog, build; a catalog entry's template merged under the
    service's own keys."""
    sources = [k for k in SOURCE_KEYS if k in data]
    if len(sources) != 1:
        found = f"got {', '.join(sources)}" if sources else "got none"
        errors.add(path, f"needs exactly one of image, catalog, build ({found})")
    for key in (*sources, "description"):
        if key in data:
            check_string(errors, f"{path}.{key}", data[key])
    entry = data.get("catalog")
    if isinstance(entry, str) and catalog is not None:
        if entry in catalog:
            data = merge_template(catalog[entry], data)
        else:
            errors.add(
                f"{path}.catalog", f"no catalog entry {entry!r} ({suggest(entry, list(catalog))})"
            )
    check_image(errors, f"{path}.image", data.get("image"))
    check_build(errors, f"{path}.build", data.get("build"))
    return data


def _resources(errors: ErrorList, path: str, data: dict[Any, Any]) -> tuple[int, int]:
    cpu, memory = DEFAULT_CPU, DEFAULT_MEMORY
    if "resources" in data:
        res = check_mapping(errors, f"{path}.resources", data["resources"])
        if res is not None:
            check_keys(errors, f"{path}.resources", res, RESOURCE_KEYS)
            if "cpu" in res:
                cpu = errors.check(f"{path}.resources.cpu", parse_cpu, res["cpu"])
            if "memory" in res:
                memory = errors.check(f"{path}.resources.memory", parse_memory, res["memory"])
    return cpu, memory


def _each(
    errors: ErrorList, path: str, data: dict[Any, Any], key: str, parse: Callable[..., Any]
) -> list[Any]:
    """The parts a list field holds (``ports``, ``volumes``), each parsed by ``parse``."""
    if key not in data:
        return []
    if not isinstance(data[key], list):
        errors.add(f"{path}.{key}", f"expected a list, got {type_name(data[key])}")
        return []
    parsed = (parse(errors, f"{path}.{key}[{i}]", item) for i, item in enumerate(data[key]))
    return [part for part in parsed if part]


def _ports(errors: ErrorList, path: str, data: dict[Any, Any]) -> list[Port]:
    ports = _each(errors, path, data, "ports", parse_port_item)
    publics = [(p.public, p.protocol) for p in ports if p.public is not None]
    for public, _proto in sorted({x for x in publics if publics.count(x) > 1}):
        errors.add(f"{path}.ports", f"public port {public} given twice")
    return ports


def _ha(errors: ErrorList, path: str, data: dict[Any, Any]) -> set[str]:
    ha: set[str] = set()
    if "ha" in data and data["ha"] not in (None, "none", False):
        for mode in check_str_list(errors, f"{path}.ha", data["ha"]) or []:
            if mode in HA_MODES:
                ha.add(mode)
            else:
                errors.add(f"{path}.ha", f"must be one of host, zone, none, got {mode!r}")
    return ha


def _placement(errors: ErrorList, path: str, data: dict[Any, Any]) -> _Placement:
    placement = _Placement()
    if "placement" not in data:
        return placement
    pl = check_mapping(errors, f"{path}.placement", data["placement"]) or {}
    check_keys(errors, f"{path}.placement", pl, PLACEMENT_KEYS)
    strategy = pl.get("strategy", "spread")
    if strategy in STRATEGIES:
        placement.strategy = strategy
    else:
        errors.add(
            f"{path}.placement.strategy",
            f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
        )
    raw = pl.get("constraints", [])
    for i, text in enumerate(check_str_list(errors, f"{path}.placement.constraints", raw) or []):
        parsed = errors.check(f"{path}.placement.constraints[{i}]", Constraint.parse, text)
        if parsed:
            placement.constraints.append(parsed)
    return placement


def _min_available(
    errors: ErrorList, path: str, data: dict[Any, Any], replicas: int | None
) -> int | None:
    if "min_available" not in data:
        return 1
    min_available = check_int(
        errors, f"{path}.min_available", data["min_available"], low=0, high=MAX_REPLICAS
    )
    if replicas is not None and min_available is not None and min_available > replicas:
        errors.add(
            f"{path}.min_available", f"must be <= replicas ({replicas}), got {min_available}"
        )
    return min_available


def _security(errors: ErrorList, path: str, data: dict[Any, Any]) -> Security:
    if data.get("security") is None:
        return Security()
    where = f"{path}.security"
    sec = check_mapping(errors, where, data["security"]) or {}
    check_keys(errors, where, sec, SECURITY_KEYS)
    caps = []
    for cap in check_str_list(errors, f"{where}.capabilities", sec.get("capabilities", [])) or []:
        name = cap.upper().removeprefix("CAP_")
        if name in CAPABILITIES:
            caps.append(name)
        else:
            errors.add(
                f"{where}.capabilities",
                f"{cap!r} is not allowed (allowed: {', '.join(CAPABILITIES)})",
            )
    read_only = sec.get("read_only", True)
    if not isinstance(read_only, bool):
        errors.add(f"{where}.read_only", f"expected true or false, got {type_name(read_only)}")
        read_only = True
    user = sec.get("user", "")
    if user != "" and not (isinstance(user, str | int) and not isinstance(user, bool)):
        errors.add(f"{where}.user", f"expected a user name or uid, got {type_name(user)}")
        user = ""
    user = str(user).strip()
    if user in ("root", "0"):
        errors.add(f"{where}.user", "must not be root (CIS Docker 4.1)")
    tmpfs = check_str_list(errors, f"{where}.tmpfs", sec.get("tmpfs", [])) or []
    for item in tmpfs:
        if not item.startswith("/") or ".." in item.split("/") or ":" in item:
            errors.add(f"{where}.tmpfs", f"expected an absolute path, got {item!r}")
    return Security(
        capabilities=tuple(sorted(set(caps))),
        read_only=read_only,
        user=user,
        tmpfs=tuple(dict.fromkeys(tmpfs)),
    )
