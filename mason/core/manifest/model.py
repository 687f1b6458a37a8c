"""The app manifest's model: what a validated manifest is, and its keys and defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mason.core.placement.constraints import Constraint
from mason.core.placement.model import STRATEGIES as PLACEMENT_STRATEGIES

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
    "security",
)
SOURCE_KEYS = ("image", "catalog", "build")  # a service names exactly one
RESOURCE_KEYS = ("cpu", "memory")
PORT_KEYS = ("container", "public", "protocol")
VOLUME_KEYS = ("source", "target", "read_only")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period")
PLACEMENT_KEYS = ("strategy", "constraints")
SECURITY_KEYS = ("capabilities", "read_only", "user", "tmpfs")
# Capabilities a service may ask back after all are dropped (CIS Docker 5.3): what
# common daemons need to bind low ports or drop privileges; never SYS_ADMIN & co.
CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETGID",
    "SETUID",
)
HA_MODES = ("host", "zone")
STRATEGIES = PLACEMENT_STRATEGIES  # one home: mason.core.placement.model
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
class Security:
    """How a service's containers are confined beyond mason's fixed settings (docs/deploy.md)."""

    capabilities: tuple[str, ...] = ()  # added back after dropping ALL
    read_only: bool = True  # read-only root filesystem (CIS Docker 5.12)
    user: str = ""  # run as this user (else the image's USER)
    tmpfs: tuple[str, ...] = ()  # writable in-memory paths besides /tmp

    def to_dict(self) -> dict[str, Any]:
        return {
            "capabilities": list(self.capabilities),
            "read_only": self.read_only,
            "user": self.user,
            "tmpfs": list(self.tmpfs),
        }


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
    security: Security = Security()

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
