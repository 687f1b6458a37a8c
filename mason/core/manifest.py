"""The app manifest (``apps/<name>.yml``): model and validation.

Validation collects every error before giving up, each as one line naming the
file, the path inside it and what was expected::

    apps/shop.yml: services.web.replicas: must be >= 1, got 0

so a user fixes a manifest in one pass. Nothing downstream (plan, deploy) ever
sees an invalid manifest: :func:`parse_manifest` returns a model or raises
:class:`ManifestError`. Reference: docs/placement.md, "The app manifest".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mason.core.errors import InvalidInput
from mason.core.names import check_name
from mason.core.placement.constraints import Constraint
from mason.core.units import parse_cpu, parse_duration, parse_memory

APP_KEYS = ("name", "description", "services", "addons")
SERVICE_KEYS = (
    "description",
    "image",
    "catalog",
    "build",
    "command",
    "replicas",
    "resources",
    "ports",
    "env",
    "volumes",
    "healthcheck",
    "links",
    "ha",
    "placement",
    "min_available",
)
RESOURCE_KEYS = ("cpu", "memory")
PORT_KEYS = ("container", "public", "protocol")
VOLUME_KEYS = ("source", "target", "read_only")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period")
PLACEMENT_KEYS = ("strategy", "constraints")
HA_MODES = ("host", "zone")
STRATEGIES = ("spread", "binpack")
PROTOCOLS = ("tcp", "udp")
# A container with no stated resources still takes room on its host; these are
# small enough to fit anywhere and large enough that 1000 of them do not fit on one core.
DEFAULT_CPU = 100  # millicores
DEFAULT_MEMORY = 128 * 1024**2  # bytes
MAX_REPLICAS = 1000

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)
_VOLUME_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ManifestError(InvalidInput):
    """Every problem found in one or more manifests, one line each."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True)
class Port:
    container: int
    public: int | None = None  # a port on the host: two containers cannot share it
    protocol: str = "tcp"

    def to_dict(self) -> dict[str, Any]:
        return {"container": self.container, "public": self.public, "protocol": self.protocol}


@dataclass(frozen=True)
class Volume:
    source: str  # a named volume; host paths are refused (tenants must not reach the host)
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_ms: int = 30_000
    timeout_ms: int = 5_000
    retries: int = 3
    start_period_ms: int = 0


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None = None
    catalog: str | None = None
    build: str | None = None
    command: tuple[str, ...] = ()
    description: str = ""
    replicas: int = 1
    cpu: int = DEFAULT_CPU  # millicores
    memory: int = DEFAULT_MEMORY  # bytes
    ports: tuple[Port, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    healthcheck: Healthcheck | None = None
    links: tuple[str, ...] = ()
    ha: frozenset[str] = frozenset()  # subset of {"host", "zone"}
    strategy: str = "spread"
    constraints: tuple[Constraint, ...] = ()
    min_available: int = 1

    @property
    def public_ports(self) -> tuple[tuple[int, str], ...]:
        return tuple(sorted({(p.public, p.protocol) for p in self.ports if p.public is not None}))


@dataclass(frozen=True)
class App:
    name: str
    services: Mapping[str, Service]
    addons: tuple[str, ...] = ()
    description: str = ""
    source: str = ""


class ErrorList:
    """Collects ``source: path: message`` lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        self.lines.append(f"{where}{message}")

    def check(self, path: str, fn: Callable[[Any], Any], value: Any) -> Any:
        """Run a parser that raises InvalidInput; record its message at ``path``."""
        try:
            return fn(value)
        except InvalidInput as exc:
            self.add(path, exc.message)
            return None


def type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "nothing (null)",
    }.get(type(value), type(value).__name__)


def check_keys(errors: ErrorList, path: str, data: Mapping[str, Any], allowed: Sequence[str]):
    for key in data:
        if key in allowed:
            continue
        near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}?" if near else f"allowed: {', '.join(allowed)}"
        errors.add(f"{path}.{key}" if path else str(key), f"unknown key ({hint})")


def check_mapping(errors: ErrorList, path: str, value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    errors.add(path, f"expected a mapping, got {type_name(value)}")
    return None


def check_int(errors: ErrorList, path: str, value: Any, *, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, f"expected an integer, got {type_name(value)} {value!r}")
        return None
    if value < low:
        errors.add(path, f"must be >= {low}, got {value}")
        return None
    if value > high:
        errors.add(path, f"must be <= {high}, got {value}")
        return None
    return value


def _string(errors: ErrorList, path: str, value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    errors.add(path, f"expected a non-empty string, got {type_name(value)}")
    return None


def _str_list(errors: ErrorList, path: str, value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        errors.add(path, f"expected a list of strings, got {type_name(value)}")
        return None
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        else:
            errors.add(f"{path}[{i}]", f"expected a string, got {type_name(item)}")
    return out


def _port(errors: ErrorList, path: str, value: Any) -> Port | None:
    def number(p: str, v: Any) -> int | None:
        if isinstance(v, str) and v.isdigit():
            v = int(v)
        return check_int(errors, p, v, low=1, high=65535)

    if isinstance(value, int) and not isinstance(value, bool):
        c = number(path, value)
        return Port(c) if c else None
    if isinstance(value, str):
        text, _, proto = value.partition("/")
        proto = proto or "tcp"
        if proto not in PROTOCOLS:
            errors.add(path, f"protocol must be one of {', '.join(PROTOCOLS)}, got {proto!r}")
            return None
        public_text, sep, container_text = text.rpartition(":")
        if not container_text.isdigit() or (sep and not public_text.isdigit()):
            errors.add(path, f"expected 'CONTAINER' or 'PUBLIC:CONTAINER[/udp]', got {value!r}")
            return None
        c = number(path, container_text)
        pub = number(path, public_text) if sep else None
        if c is None or (sep and pub is None):
            return None
        return Port(c, pub, proto)
    data = check_mapping(errors, path, value)
    if data is None:
        return None
    check_keys(errors, path, data, PORT_KEYS)
    if "container" not in data:
        errors.add(f"{path}.container", "required")
        return None
    c = number(f"{path}.container", data["container"])
    pub = number(f"{path}.public", data["public"]) if data.get("public") is not None else None
    proto = data.get("protocol", "tcp")
    if proto not in PROTOCOLS:
        errors.add(f"{path}.protocol", f"must be one of {', '.join(PROTOCOLS)}, got {proto!r}")
        return None
    if c is None or (data.get("public") is not None and pub is None):
        return None
    return Port(c, pub, proto)


def _volume(errors: ErrorList, path: str, value: Any) -> Volume | None:
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            errors.add(path, f"expected 'NAME:/PATH' or 'NAME:/PATH:ro', got {value!r}")
            return None
        data: dict[str, Any] = {"source": parts[0], "target": parts[1]}
        data["read_only"] = len(parts) == 3 and parts[2] == "ro"
    else:
        data = check_mapping(errors, path, value) or {}
        if not data:
            return None
        check_keys(errors, path, data, VOLUME_KEYS)
    source, target = data.get("source"), data.get("target")
    ok = True
    if not isinstance(source, str) or not _VOLUME_NAME.match(source):
        hint = (
            "host paths are not allowed, use a named volume"
            if isinstance(source, str) and source.startswith(("/", "."))
            else "expected a volume name (lower-case letters, digits, '_', '.', '-')"
        )
        errors.add(f"{path}.source" if not isinstance(value, str) else path, f"{hint}: {source!r}")
        ok = False
    if not isinstance(target, str) or not target.startswith("/"):
        errors.add(
            f"{path}.target" if not isinstance(value, str) else path,
            f"target must be an absolute path in the container, got {target!r}",
        )
        ok = False
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        errors.add(f"{path}.read_only", f"expected a boolean, got {type_name(read_only)}")
        ok = False
    return Volume(source, target, read_only) if ok else None


def _healthcheck(errors: ErrorList, path: str, value: Any) -> Healthcheck | None:
    data = check_mapping(errors, path, value)
    if data is None:
        return None
    check_keys(errors, path, data, HEALTHCHECK_KEYS)
    if "test" not in data:
        errors.add(f"{path}.test", "required (a command, e.g. [pg_isready, -q])")
        return None
    test = _str_list(errors, f"{path}.test", data["test"])
    durations = {}
    for key, default in (("interval", 30_000), ("timeout", 5_000), ("start_period", 0)):
        durations[key] = (
            errors.check(f"{path}.{key}", parse_duration, data[key]) if key in data else default
        )
    retries = check_int(errors, f"{path}.retries", data.get("retries", 3), low=1, high=100)
    if test is None or retries is None or None in durations.values():
        return None
    return Healthcheck(
        tuple(test), durations["interval"], durations["timeout"], retries, durations["start_period"]
    )


def _merge_template(template: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog template under the user's keys: mappings merge, everything else is replaced."""
    merged = dict(template)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def parse_service(
    errors: ErrorList,
    name: str,
    data: Any,
    catalog: Mapping[str, Mapping[str, Any]] | None,
) -> Service | None:
    path = f"services.{name}"
    errors.check(path, lambda v: check_name("service", v), name)
    data = check_mapping(errors, path, data)
    if data is None:
        return None
    before = len(errors.lines)
    check_keys(errors, path, data, SERVICE_KEYS)
    sources = [k for k in ("image", "catalog", "build") if k in data]
    if len(sources) != 1:
        found = f"got {', '.join(sources)}" if sources else "got none"
        errors.add(path, f"needs exactly one of image, catalog, build ({found})")
    if "catalog" in data:
        entry_name = data["catalog"]
        if catalog is not None:
            if entry_name in catalog:
                data = _merge_template(catalog[entry_name], data)
            else:
                near = difflib.get_close_matches(str(entry_name), list(catalog), n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(catalog)}"
                errors.add(f"{path}.catalog", f"no catalog entry {entry_name!r} ({hint})")
    for key in ("image", "catalog", "build", "description"):
        if key in data and key in [*sources, "description"]:
            _string(errors, f"{path}.{key}", data[key])
    if isinstance(data.get("image"), str) and not _IMAGE.match(data["image"]):
        errors.add(f"{path}.image", f"not an image reference: {data['image']!r}")
    if isinstance(data.get("build"), str) and Path(data["build"]).is_absolute():
        errors.add(f"{path}.build", "must be a directory relative to the project")
    command = _str_list(errors, f"{path}.command", data["command"]) if "command" in data else []
    replicas = check_int(
        errors, f"{path}.replicas", data.get("replicas", 1), low=1, high=MAX_REPLICAS
    )

    cpu, memory = DEFAULT_CPU, DEFAULT_MEMORY
    if "resources" in data:
        res = check_mapping(errors, f"{path}.resources", data["resources"])
        if res is not None:
            check_keys(errors, f"{path}.resources", res, RESOURCE_KEYS)
            if "cpu" in res:
                cpu = errors.check(f"{path}.resources.cpu", parse_cpu, res["cpu"])
            if "memory" in res:
                memory = errors.check(f"{path}.resources.memory", parse_memory, res["memory"])

    ports: list[Port] = []
    if "ports" in data:
        if isinstance(data["ports"], list):
            for i, item in enumerate(data["ports"]):
                port = _port(errors, f"{path}.ports[{i}]", item)
                if port:
                    ports.append(port)
            publics = [(p.public, p.protocol) for p in ports if p.public is not None]
            for public, _proto in sorted({x for x in publics if publics.count(x) > 1}):
                errors.add(f"{path}.ports", f"public port {public} given twice")
        else:
            errors.add(f"{path}.ports", f"expected a list, got {type_name(data['ports'])}")

    env: dict[str, str] = {}
    if "env" in data:
        raw_env = check_mapping(errors, f"{path}.env", data["env"]) or {}
        for key, value in raw_env.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                errors.add(f"{path}.env.{key}", "not a valid environment variable name")
            elif value is None or isinstance(value, dict | list):
                errors.add(f"{path}.env.{key}", f"expected a scalar, got {type_name(value)}")
            else:
                env[key] = str(value).lower() if isinstance(value, bool) else str(value)

    volumes: list[Volume] = []
    if "volumes" in data:
        if isinstance(data["volumes"], list):
            for i, item in enumerate(data["volumes"]):
                vol = _volume(errors, f"{path}.volumes[{i}]", item)
                if vol:
                    volumes.append(vol)
        else:
            errors.add(f"{path}.volumes", f"expected a list, got {type_name(data['volumes'])}")

    healthcheck = (
        _healthcheck(errors, f"{path}.healthcheck", data["healthcheck"])
        if data.get("healthcheck") is not None
        else None
    )
    links = _str_list(errors, f"{path}.links", data["links"]) if "links" in data else []

    ha: set[str] = set()
    if "ha" in data and data["ha"] not in (None, "none", False):
        for mode in _str_list(errors, f"{path}.ha", data["ha"]) or []:
            if mode in HA_MODES:
                ha.add(mode)
            else:
                errors.add(f"{path}.ha", f"must be one of host, zone, none, got {mode!r}")

    strategy, constraints = "spread", []
    if "placement" in data:
        pl = check_mapping(errors, f"{path}.placement", data["placement"]) or {}
        check_keys(errors, f"{path}.placement", pl, PLACEMENT_KEYS)
        strategy = pl.get("strategy", "spread")
        if strategy not in STRATEGIES:
            errors.add(
                f"{path}.placement.strategy",
                f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
            )
        raw = pl.get("constraints", [])
        for i, text in enumerate(_str_list(errors, f"{path}.placement.constraints", raw) or []):
            parsed = errors.check(f"{path}.placement.constraints[{i}]", Constraint.parse, text)
            if parsed:
                constraints.append(parsed)

    min_available = 1
    if "min_available" in data:
        min_available = check_int(
            errors, f"{path}.min_available", data["min_available"], low=0, high=MAX_REPLICAS
        )
        if replicas is not None and min_available is not None and min_available > replicas:
            errors.add(
                f"{path}.min_available",
                f"must be <= replicas ({replicas}), got {min_available}",
            )

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
        strategy=strategy,
        constraints=tuple(sorted(set(constraints))),
        min_available=min_available if replicas else 1,
    )


def parse_manifest(
    data: Any,
    source: str,
    *,
    default_name: str | None = None,
    catalog: Mapping[str, Mapping[str, Any]] | None = None,
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
    services: dict[str, Service] = {}
    raw_services = data.get("services")
    if raw_services is None:
        errors.add("services", "required: a mapping of service name to service")
    elif not isinstance(raw_services, dict):
        errors.add("services", f"expected a mapping, got {type_name(raw_services)}")
    elif not raw_services:
        errors.add("services", "must define at least one service")
    else:
        for sname in raw_services:
            if not isinstance(sname, str):
                errors.add(f"services.{sname}", "service names must be strings")
                continue
            svc = parse_service(errors, sname, raw_services[sname], catalog)
            if svc:
                services[sname] = svc
        defined = list(raw_services)
        for sname, raw in raw_services.items():
            links = raw.get("links") if isinstance(raw, dict) else None
            for i, link in enumerate([links] if isinstance(links, str) else links or []):
                if not isinstance(link, str):
                    continue
                if link == sname:
                    errors.add(f"services.{sname}.links[{i}]", "a service cannot link to itself")
                elif link not in raw_services:
                    near = difflib.get_close_matches(link, defined, n=1)
                    hint = (
                        f"did you mean {near[0]!r}?" if near else f"services: {', '.join(defined)}"
                    )
                    errors.add(
                        f"services.{sname}.links[{i}]", f"no service {link!r} in this app ({hint})"
                    )
    app_addons: list[str] = []
    if "addons" in data:
        for i, addon in enumerate(_str_list(errors, "addons", data["addons"]) or []):
            if addons is not None and addon not in addons:
                near = difflib.get_close_matches(addon, list(addons), n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(addons)}"
                errors.add(f"addons[{i}]", f"unknown addon {addon!r} ({hint})")
            else:
                app_addons.append(addon)
    if "description" in data and not isinstance(data["description"], str):
        errors.add("description", f"expected a string, got {type_name(data['description'])}")
    if errors.lines:
        raise ManifestError(errors.lines)
    return App(
        name=name,
        services=dict(sorted(services.items())),
        addons=tuple(dict.fromkeys(app_addons)),
        description=data.get("description", ""),
        source=source,
    )


def read_yaml(path: Path, source: str) -> Any:
    """Load one YAML document; syntax errors become one ``source: line L, column C:`` line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([f"{source}: no such file"]) from None
    except OSError as exc:
        raise ManifestError([f"{source}: cannot read: {exc.strerror}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ManifestError([f"{source}: {where}invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([f"{source}: invalid YAML: {exc}"]) from None


def load_manifest(
    path: Path,
    *,
    source: str | None = None,
    catalog: Mapping[str, Mapping[str, Any]] | None = None,
    addons: Sequence[str] | None = None,
) -> App:
    """Read and validate one manifest file. The app name defaults to the file's stem."""
    source = source or str(path)
    data = read_yaml(path, source)
    return parse_manifest(data, source, default_name=path.stem, catalog=catalog, addons=addons)


def add_service_text(text: str | None, app: str, service: str, fields: Mapping[str, Any]) -> str:
    """``text`` (a manifest, or None for a new one) with one more service appended.

    Edits the text rather than re-dumping the YAML, so the user's comments and
    layout survive; falls back to a re-dump only when the file's shape (flow style,
    odd indentation) makes a textual insert unsafe.
    """
    block = yaml.safe_dump({service: dict(fields)}, sort_keys=False, default_flow_style=False)
    if text is None or not text.strip():
        return f"---\nname: {app}\nservices:\n" + _indent(block, "  ")
    data = yaml.safe_load(text) or {}
    old = dict(data.get("services") or {}) if isinstance(data, dict) else {}
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, ln in enumerate(lines) if re.match(r"^services:\s*(#.*)?$", ln)), None)
    if start is None and isinstance(data, dict) and "services" not in data:
        new = "".join(lines) + "services:\n" + _indent(block, "  ")
    elif start is not None:
        end, child_indent = len(lines), None
        for j in range(start + 1, len(lines)):
            line = lines[j]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line[0].isspace():
                end = j
                break
            if child_indent is None:
                child_indent = line[: len(line) - len(line.lstrip())]
        k = end
        while k > start + 1 and not lines[k - 1].strip():
            k -= 1
        lines.insert(k, _indent(block, child_indent or "  "))
        new = "".join(lines)
    else:
        new = ""
    try:
        parsed = yaml.safe_load(new) if new else None
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or parsed.get("services") != {**old, service: dict(fields)}:
        data = dict(data) if isinstance(data, dict) else {"name": app}
        data["services"] = {**old, service: dict(fields)}
        new = "---\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return new


def _indent(block: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in block.splitlines(True))
