"""The project file ``mason.yml``: pods and their defaults, git-friendly YAML.

    version: 1
    pods:
      local:
        provider: docker
        environment: dev
        hosts: 3
        zones: [zone-a, zone-b, zone-c]
        cpu: 1
        memory: 1Gi
        labels: {tier: general}
        options: {}          # provider-specific (region, size, ...)

Every error names the file, the field and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mason.core import units
from mason.core.errors import InvalidInput, unknown_field
from mason.core.names import check_name

PROJECT_FILE = "mason.yml"
POD_KEYS = ("provider", "environment", "hosts", "zones", "cpu", "memory", "labels", "options")


def parse_memory(value: Any, where: str) -> int:
    """Bytes from ``1Gi``, ``512Mi``, ``2G`` or a plain number of bytes; errors name ``where``."""
    try:
        size = units.parse_memory(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    if size <= 0:
        raise InvalidInput(f"{where}: expected a memory size > 0, got {value!r}")
    return size


@dataclass
class PodDefaults:
    """A pod as mason.yml describes it; CLI options override each field."""

    name: str
    provider: str = "docker"
    environment: str | None = None
    hosts: int | None = None
    zones: tuple[str, ...] | None = None
    cpu: float | None = None
    memory: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Project:
    path: Path  # the project directory
    exists: bool
    pods: dict[str, PodDefaults] = field(default_factory=dict)
    environment: str = "default"

    def pod(self, name: str) -> PodDefaults:
        return self.pods.get(name) or PodDefaults(name=name)


def _pod(name: str, raw: Any, where: str) -> PodDefaults:
    check_name("pod", name, max_len=30, where=where)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: expected a mapping of pod settings, got {type(raw).__name__}")
    for key in raw:
        if key not in POD_KEYS:
            raise unknown_field(f"{where}.{key}", str(key), POD_KEYS)
    pod = PodDefaults(name=name, provider=str(raw.get("provider", "docker")))
    if "environment" in raw:
        pod.environment = check_name(
            "environment", str(raw["environment"]), where=f"{where}.environment"
        )
    if "hosts" in raw:
        hosts = raw["hosts"]
        if not isinstance(hosts, int) or isinstance(hosts, bool) or hosts < 1:
            raise InvalidInput(f"{where}.hosts: must be an integer >= 1, got {hosts!r}")
        pod.hosts = hosts
    if "zones" in raw:
        zones = raw["zones"]
        if not isinstance(zones, list) or not zones:
            raise InvalidInput(f"{where}.zones: expected a non-empty list of zone names")
        pod.zones = tuple(
            check_name("zone", str(z), where=f"{where}.zones[{i}]") for i, z in enumerate(zones)
        )
    if "cpu" in raw:
        try:
            pod.cpu = float(raw["cpu"])
        except (TypeError, ValueError):
            pod.cpu = -1
        if pod.cpu <= 0:
            raise InvalidInput(f"{where}.cpu: expected a number of cores > 0, got {raw['cpu']!r}")
    if "memory" in raw:
        pod.memory = parse_memory(raw["memory"], f"{where}.memory")
    for key in ("labels", "options"):
        value = raw.get(key) or {}
        if not isinstance(value, dict):
            raise InvalidInput(f"{where}.{key}: expected a mapping")
        setattr(pod, key, {str(k): v for k, v in value.items()})
    pod.labels = {k: str(v) for k, v in pod.labels.items()}
    return pod


def load_project(directory: Path) -> Project:
    """Read ``mason.yml`` in ``directory``; a missing file is an empty project."""
    path = directory / PROJECT_FILE
    if not path.exists():
        return Project(path=directory, exists=False)
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise InvalidInput(
            f"{where}:{at}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: expected a mapping at the top level")
    allowed = ("version", "environment", "pods")
    for key in raw:
        if key not in allowed:
            raise unknown_field(f"{where}: {key}", str(key), allowed)
    project = Project(path=directory, exists=True)
    if "environment" in raw:
        project.environment = check_name(
            "environment", str(raw["environment"]), where=f"{where}: environment"
        )
    pods = raw.get("pods") or {}
    if not isinstance(pods, dict):
        raise InvalidInput(f"{where}: pods: expected a mapping of pod name to settings")
    for name, body in pods.items():
        project.pods[str(name)] = _pod(str(name), body, f"{where}: pods.{name}")
    return project
