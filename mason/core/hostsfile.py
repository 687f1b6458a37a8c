"""``--hosts-file``: a described pod to plan against, in YAML or JSON.

Either a list of hosts or a mapping with ``hosts:``. Each host::

    - name: h1
      zone: zone-a
      cpu: 4            # cores, or "3500m"
      memory: 8Gi
      role: worker      # optional: worker (default) or manager
      labels: {disk: ssd}
      running:          # optional: what already runs there
        - {app: shop, service: web, replica: 1}
        - {app: other, service: cache, replica: 1, cpu: 500m, memory: 1Gi, ports: [6379]}

``cpu``/``memory``/``ports`` of a running container matter for apps that are not
being planned; containers of the planned app are charged what the manifest asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mason.core.manifest import (
    ErrorList,
    ManifestError,
    check_int,
    check_keys,
    check_mapping,
    type_name,
)
from mason.core.placement.model import Allocation, HostSpec
from mason.core.units import parse_cpu, parse_memory

HOST_KEYS = ("name", "zone", "cpu", "memory", "role", "labels", "running")
RUNNING_KEYS = ("app", "service", "replica", "cpu", "memory", "ports")
ROLES = ("worker", "manager")


@dataclass(frozen=True)
class HostsFile:
    hosts: tuple[HostSpec, ...]
    current: tuple[Allocation, ...]


def _ports(errors: ErrorList, path: str, value: Any) -> tuple[tuple[int, str], ...]:
    if not isinstance(value, list):
        errors.add(path, f"expected a list of ports, got {type_name(value)}")
        return ()
    out = []
    for i, item in enumerate(value):
        text = str(item)
        port, _, proto = text.partition("/")
        proto = proto or "tcp"
        if not port.isdigit() or not 1 <= int(port) <= 65535 or proto not in ("tcp", "udp"):
            errors.add(f"{path}[{i}]", f"expected a port like 80 or '53/udp', got {item!r}")
            continue
        out.append((int(port), proto))
    return tuple(out)


def parse_hosts(data: Any, source: str) -> HostsFile:
    """Validate a loaded hosts document; raise ManifestError with every problem."""
    errors = ErrorList(source)
    if isinstance(data, dict):
        check_keys(errors, "", data, ("hosts",))
        data = data.get("hosts")
        prefix = "hosts"
    else:
        prefix = ""
    if not isinstance(data, list) or not data:
        errors.add(prefix, f"expected a non-empty list of hosts, got {type_name(data)}")
        raise ManifestError(errors.lines)
    hosts: list[HostSpec] = []
    current: list[Allocation] = []
    names: set[str] = set()
    for i, raw in enumerate(data):
        path = f"{prefix}[{i}]"
        item = check_mapping(errors, path, raw)
        if item is None:
            continue
        check_keys(errors, path, item, HOST_KEYS)
        before = len(errors.lines)
        for key in ("name", "zone", "cpu", "memory"):
            if key not in item:
                errors.add(f"{path}.{key}", "required")
        name, zone = item.get("name"), item.get("zone")
        for key, value in (("name", name), ("zone", zone)):
            if key in item and (not isinstance(value, str) or not value.strip()):
                errors.add(f"{path}.{key}", f"expected a non-empty string, got {value!r}")
        if isinstance(name, str):
            if name in names:
                errors.add(f"{path}.name", f"host {name!r} is listed twice")
            names.add(name)
        cpu = errors.check(f"{path}.cpu", parse_cpu, item["cpu"]) if "cpu" in item else None
        memory = (
            errors.check(f"{path}.memory", parse_memory, item["memory"])
            if "memory" in item
            else None
        )
        role = item.get("role", "worker")
        if role not in ROLES:
            errors.add(f"{path}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
        labels: dict[str, str] = {}
        for key, value in (
            check_mapping(errors, f"{path}.labels", item.get("labels", {})) or {}
        ).items():
            if isinstance(value, dict | list) or value is None:
                errors.add(f"{path}.labels.{key}", f"expected a scalar, got {type_name(value)}")
            else:
                labels[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
        running = item.get("running", [])
        if not isinstance(running, list):
            errors.add(f"{path}.running", f"expected a list, got {type_name(running)}")
            running = []
        for j, entry in enumerate(running):
            rpath = f"{path}.running[{j}]"
            run = check_mapping(errors, rpath, entry)
            if run is None:
                continue
            check_keys(errors, rpath, run, RUNNING_KEYS)
            missing = [k for k in ("app", "service", "replica") if k not in run]
            for key in missing:
                errors.add(f"{rpath}.{key}", "required")
            if missing:
                continue
            replica = check_int(errors, f"{rpath}.replica", run["replica"], low=1, high=10**6)
            rcpu = errors.check(f"{rpath}.cpu", parse_cpu, run["cpu"]) if "cpu" in run else 0
            rmem = (
                errors.check(f"{rpath}.memory", parse_memory, run["memory"])
                if "memory" in run
                else 0
            )
            ports = _ports(errors, f"{rpath}.ports", run["ports"]) if "ports" in run else ()
            if None not in (replica, rcpu, rmem) and isinstance(name, str):
                current.append(
                    Allocation(
                        str(run["app"]), str(run["service"]), replica, name, rcpu, rmem, ports
                    )
                )
        if len(errors.lines) == before:
            hosts.append(HostSpec(name, zone, cpu, memory, role, labels))
    if errors.lines:
        raise ManifestError(errors.lines)
    return HostsFile(tuple(hosts), tuple(current))


def load_hosts_file(path: Path, *, source: str | None = None) -> HostsFile:
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([f"{source}: no such file"]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([f"{source}: line {exc.lineno}: invalid JSON: {exc.msg}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError([f"{source}: {where}invalid YAML: {problem}"]) from None
    return parse_hosts(data, source)
