"""The app manifest's model: what a validated manifest is, and its keys and defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mason.core.placement.constraints import Constraint

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
SOURCE_KEYS = ("image", "catalog", "build")  # a service names exactly one
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
