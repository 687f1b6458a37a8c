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

Every error names the file, the field and what was expected. The file is read
through :mod:`mason.core.documents` (size, encoding, duplicate keys, depth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core import documents, files, units
from mason.core.errors import InvalidInput, describe, key_path, unknown_field
from mason.core.fields import scalar_text
from mason.core.names import MAX_POD_NAME, check_name
from mason.core.validate import MAX_HOSTS, check_count, parse_cores

PROJECT_FILE = "mason.yml"
VERSIONS = (1,)
PROJECT_KEYS = ("version", "environment", "pods")
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
    #: where these settings were written ("/p/mason.yml: pods.demo"); "" when not in a file
    where: str = ""


@dataclass
class Project:
    path: Path  # the project directory
    exists: bool
    pods: dict[str, PodDefaults] = field(default_factory=dict)
    environment: str = "default"

    def pod(self, name: str) -> PodDefaults:
        return self.pods.get(name) or PodDefaults(name=name)


def _mapping(value: Any, where: str, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expected {what}, got {describe(value)}")
    return value


def _pod(name: Any, raw: Any, where: str) -> PodDefaults:
    check_name("pod", name, max_len=MAX_POD_NAME, where=where)
    raw = _mapping(raw, where, "a mapping of pod settings")
    for key in raw:
        if key not in POD_KEYS:
            raise unknown_field(key_path(where, key), key, POD_KEYS)
    pod = PodDefaults(name=name, where=where)
    if "provider" in raw:
        provider = raw["provider"]
        if not isinstance(provider, str) or not provider.strip() or not provider.isprintable():
            raise InvalidInput(
                f"{where}.provider: expected a provider name, got {describe(provider)}"
            )
        pod.provider = provider
    if "environment" in raw:
        pod.environment = check_name(
            "environment", raw["environment"], where=f"{where}.environment"
        )
    if "hosts" in raw:
        pod.hosts = check_count(raw["hosts"], f"{where}.hosts", low=1, high=MAX_HOSTS)
    if "zones" in raw:
        zones = raw["zones"]
        if not isinstance(zones, list) or not zones:
            raise InvalidInput(
                f"{where}.zones: expected a non-empty list of zone names, got {describe(zones)}"
            )
        pod.zones = tuple(
            check_name("zone", z, where=f"{where}.zones[{i}]") for i, z in enumerate(zones)
        )
    if "cpu" in raw:
        pod.cpu = parse_cores(raw["cpu"], f"{where}.cpu")
    if "memory" in raw:
        pod.memory = parse_memory(raw["memory"], f"{where}.memory")
    labels = _mapping(raw.get("labels"), f"{where}.labels", "a mapping of label to value")
    for key, value in labels.items():
        text = scalar_text(value)
        if text is None:
            raise InvalidInput(
                f"{key_path(f'{where}.labels', key)}: expected a scalar, got {describe(value)}"
            )
        pod.labels[str(key)] = text
    options = _mapping(raw.get("options"), f"{where}.options", "a mapping of provider options")
    pod.options = {str(k): v for k, v in options.items()}
    return pod


def _version(value: Any, where: str) -> None:
    if isinstance(value, bool) or value not in VERSIONS:
        known = ", ".join(map(str, VERSIONS))
        raise InvalidInput(
            f"{where}: version: expected {known}, got {describe(value)} "
            "(a newer mason may read this file)"
        )


def load_project(directory: Path) -> Project:
    """Read ``mason.yml`` in ``directory``; a missing file is an empty project (a dangling
    symlink or a directory there is an error, not "missing")."""
    path = directory / PROJECT_FILE
    where = str(path)
    if not files.exists(path, source=where):
        return Project(path=directory, exists=False)
    raw = _mapping(documents.load(path, source=where), where, "a mapping at the top level")
    for key in raw:
        if key not in PROJECT_KEYS:
            raise unknown_field(f"{where}: {key_path('', key)}", key, PROJECT_KEYS)
    if "version" in raw:
        _version(raw["version"], where)
    project = Project(path=directory, exists=True)
    if "environment" in raw:
        project.environment = check_name(
            "environment", raw["environment"], where=f"{where}: environment"
        )
    pods = raw.get("pods")
    if pods is not None and not isinstance(pods, dict):
        raise InvalidInput(
            f"{where}: pods: expected a mapping of pod name to settings, got {describe(pods)}"
        )
    for name, body in (pods or {}).items():
        project.pods[name] = _pod(name, body, f"{where}: {key_path('pods', name)}")
    return project
