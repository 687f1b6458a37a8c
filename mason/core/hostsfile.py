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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mason.core import documents
from mason.core.errors import type_name
from mason.core.fields import (
    ErrorList,
    ManifestError,
    check_int,
    check_keys,
    check_mapping,
    scalar_map,
)
from mason.core.manifest.parts import host_port
from mason.core.names import ROLE_WORKER, ROLES
from mason.core.placement.model import Allocation, HostSpec
from mason.core.units import parse_cpu, parse_memory
from mason.core.validate import MAX_REPLICAS

HOST_KEYS = ("name", "zone", "cpu", "memory", "role", "labels", "running")
RUNNING_KEYS = ("app", "service", "replica", "cpu", "memory", "ports")


@dataclass(frozen=True)
class HostsFile:
    hosts: tuple[HostSpec, ...]
    current: tuple[Allocation, ...]


def _ports(errors: ErrorList, path: str, value: Any) -> tuple[tuple[int, str], ...]:
    if not isinstance(value, list):
        errors.add(path, f"expected a list of ports, got {type_name(value)}")
        return ()
    ports = (errors.check(f"{path}[{i}]", host_port, item) for i, item in enumerate(value))
    return tuple(p for p in ports if p is not None)


def _text(errors: ErrorList, path: str, item: dict[Any, Any], key: str) -> str | None:
    value = item.get(key)
    if key not in item:
        errors.add(f"{path}.{key}", "required")
    elif not isinstance(value, str) or not value.strip() or not value.isprintable():
        errors.add(f"{path}.{key}", f"expected a non-empty string, got {value!r}")
    else:
        return value
    return None


def _running(errors: ErrorList, path: str, host: str | None, value: Any) -> list[Allocation]:
    """What already runs on a host: containers of other apps take their room."""
    if not isinstance(value, list):
        errors.add(path, f"expected a list, got {type_name(value)}")
        return []
    out = []
    for j, entry in enumerate(value):
        rpath = f"{path}[{j}]"
        run = check_mapping(errors, rpath, entry)
        if run is None:
            continue
        check_keys(errors, rpath, run, RUNNING_KEYS)
        missing = [k for k in ("app", "service", "replica") if k not in run]
        for key in missing:
            errors.add(f"{rpath}.{key}", "required")
        if missing:
            continue
        replica = check_int(errors, f"{rpath}.replica", run["replica"], low=1, high=MAX_REPLICAS)
        cpu = errors.check(f"{rpath}.cpu", parse_cpu, run["cpu"]) if "cpu" in run else 0
        mem = errors.check(f"{rpath}.memory", parse_memory, run["memory"]) if "memory" in run else 0
        ports = _ports(errors, f"{rpath}.ports", run["ports"]) if "ports" in run else ()
        if None not in (replica, cpu, mem) and host is not None:
            out.append(
                Allocation(str(run["app"]), str(run["service"]), replica, host, cpu, mem, ports)
            )
    return out


def _host(
    errors: ErrorList, path: str, item: dict[Any, Any], names: set[str]
) -> tuple[HostSpec | None, list[Allocation]]:
    check_keys(errors, path, item, HOST_KEYS)
    before = len(errors.lines)
    name, zone = _text(errors, path, item, "name"), _text(errors, path, item, "zone")
    if name is not None:
        if name in names:
            errors.add(f"{path}.name", f"host {name!r} is listed twice")
        names.add(name)
    for key in ("cpu", "memory"):
        if key not in item:
            errors.add(f"{path}.{key}", "required")
    cpu = errors.check(f"{path}.cpu", parse_cpu, item["cpu"]) if "cpu" in item else None
    memory = (
        errors.check(f"{path}.memory", parse_memory, item["memory"]) if "memory" in item else None
    )
    role = item.get("role", ROLE_WORKER)
    if role not in ROLES:
        errors.add(f"{path}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    labels = scalar_map(errors, f"{path}.labels", item.get("labels", {}))
    running = _running(errors, f"{path}.running", name, item.get("running", []))
    if len(errors.lines) != before:
        return None, running
    return HostSpec(name, zone, cpu, memory, role, labels), running


def parse_hosts(data: Any, source: str) -> HostsFile:
    """Validate a loaded hosts document; raise ManifestError with every problem."""
    errors = ErrorList(source)
    prefix = ""
    if isinstance(data, dict):
        check_keys(errors, "", data, ("hosts",))
        data, prefix = data.get("hosts"), "hosts"
    if not isinstance(data, list) or not data:
        errors.add(prefix, f"expected a non-empty list of hosts, got {type_name(data)}")
        raise ManifestError(errors.lines)
    hosts: list[HostSpec] = []
    current: list[Allocation] = []
    names: set[str] = set()
    for i, raw in enumerate(data):
        item = check_mapping(errors, f"{prefix}[{i}]", raw)
        if item is None:
            continue
        host, running = _host(errors, f"{prefix}[{i}]", item, names)
        current += running
        if host is not None:
            hosts.append(host)
    errors.raise_if_any()
    return HostsFile(tuple(hosts), tuple(current))


def load_hosts_file(path: Path, *, source: str | None = None) -> HostsFile:
    """Read (guarded: :mod:`mason.core.documents`; JSON when named ``*.json``) and validate."""
    source = source or str(path)
    return parse_hosts(documents.load(path, source=source), source)
