"""The one interface every provider implements: create, list and destroy the hosts of a pod.

State lives on the infrastructure (container labels, cloud tags, server metadata),
never on the controller: ``list_hosts`` must rebuild a pod from the provider alone,
so a fresh checkout (or an AWX job) sees the same pod. The only local state is
the pod's SSH key pair (see :mod:`mason.providers.keys`).

Label / tag keys every provider records on each host (cloud providers may spell
the separator ``:`` where ``.`` is not allowed):

    mason.pod, mason.environment, mason.zone, mason.role, mason.host, mason.index
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mason.core.errors import InvalidInput, key_path, unknown_field
from mason.core.names import ROLE_MANAGER, ROLE_WORKER

DEFAULT_ZONES = ("zone-a", "zone-b", "zone-c")
DEFAULT_ENVIRONMENT = "default"
DEFAULT_HOSTS = 3
ADMIN_USER = "mason"  # the unprivileged admin user mason logs in as (sudo); root has no key
REGISTRY_PORT = 5443  # the pod registry on the manager (role pod_registry: pod_registry_port)

Progress = Callable[[str], None]


def check_growth(spec: PodSpec, existing: Sequence[Host]) -> None:
    """Refuse a create that would move an existing pod to another environment or shrink it."""
    if existing and existing[0].environment != spec.environment:
        raise InvalidInput(
            f"pod {spec.name!r} exists in environment {existing[0].environment!r}, "
            f"not {spec.environment!r}"
        )
    if len(existing) > spec.hosts:
        raise InvalidInput(
            f"pod {spec.name!r} has {len(existing)} hosts; --hosts {spec.hosts} would shrink "
            "it (shrinking is not supported: destroy and re-create, or keep the count)"
        )


def listed(hosts: Iterable[Host], environment: str | None = None) -> list[Host]:
    """What ``list_hosts`` returns: the hosts of ``environment`` (all when None), by pod, index."""
    return sorted(
        (h for h in hosts if not environment or h.environment == environment),
        key=lambda h: (h.pod, h.index),
    )


def _quiet(_: str) -> None:
    """Default progress callback: say nothing."""


@dataclass(frozen=True)
class Host:
    """One machine of a pod, as every provider reports it."""

    name: str  # unique across pods: "<pod>-h<index>"
    pod: str
    provider: str
    environment: str
    zone: str
    role: str  # ROLE_MANAGER or ROLE_WORKER
    index: int  # 1-based, stable: growing a pod adds the next indexes
    address: str  # where the controller reaches SSH
    ssh_port: int
    ssh_user: str
    cpu: float  # cores the host offers to placement
    memory: int  # bytes the host offers to placement
    labels: Mapping[str, str] = field(default_factory=dict)  # user labels, for constraints
    state: str = "running"  # provider's word: running, stopped, pending, ...
    id: str = ""  # provider's id (container id, instance id, server id)
    private_address: str = ""  # address on the pod's own network

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = dict(self.labels)
        return data


@dataclass(frozen=True)
class PodSpec:
    """What a pod should look like: the same shape whatever the provider."""

    name: str
    provider: str = "docker"
    environment: str = DEFAULT_ENVIRONMENT
    hosts: int = DEFAULT_HOSTS
    zones: tuple[str, ...] = DEFAULT_ZONES
    cpu: float = 1.0  # per host; a size for clouds decides it instead
    memory: int = 1024**3  # per host, bytes
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  # provider-specific

    def zone_of(self, index: int) -> str:
        """Zones are assigned round-robin by host index (1-based)."""
        return self.zones[(index - 1) % len(self.zones)]

    @staticmethod
    def role_of(index: int) -> str:
        """Host 1 carries the manager role (CA, registry); the rest are workers."""
        return ROLE_MANAGER if index == 1 else ROLE_WORKER


@dataclass
class CreateResult:
    created: list[Host] = field(default_factory=list)
    existing: list[Host] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # existing hosts that were stopped

    @property
    def hosts(self) -> list[Host]:
        return sorted(self.existing + self.created, key=lambda h: h.index)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.started)


@dataclass
class DestroyResult:
    removed: list[str] = field(default_factory=list)  # human-readable "kind name" items


@dataclass(frozen=True)
class KeyPair:
    private_path: Path  # mode 0600, never copied anywhere else
    public_openssh: str  # "ssh-ed25519 AAAA... mason-<pod>"


class Provider(abc.ABC):
    """Base class of providers. Subclasses set ``name`` and implement the five abstract
    methods: check, list_hosts, create_hosts, remove_hosts, destroy_pod."""

    name: ClassVar[str]
    #: keep hosts that never answered SSH instead of rolling them back (cloud machines
    #: are slow and costly to re-make, and mostly an admin network is missing)
    keep_unreachable: ClassVar[bool] = False
    #: the ``options:`` a pod of this provider may set in mason.yml (region, size, ...)
    option_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        for key in self.options:
            if key not in self.option_keys:
                raise unknown_field(
                    key_path(f"{self.name} options", key),
                    key,
                    self.option_keys,
                    none="this provider takes no options",
                )

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`~mason.core.errors.EnvironmentProblem` if the provider cannot be used."""

    @abc.abstractmethod
    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        """Hosts of one pod, or of every pod (optionally of one environment), sorted."""

    @abc.abstractmethod
    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        """Make the pod have ``spec.hosts`` hosts. Idempotent; growing adds only new hosts.

        On failure, hosts made by this call are removed before the error propagates:
        a pod is never silently left half-made.
        """

    @abc.abstractmethod
    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        """Remove these hosts of the pod (used to roll back a failed create or grow)."""

    @abc.abstractmethod
    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        """Remove every resource mason made for the pod, and nothing else."""

    def list_pods(self, environment: str | None = None) -> dict[str, list[Host]]:
        pods: dict[str, list[Host]] = {}
        for host in self.list_hosts(environment=environment):
            pods.setdefault(host.pod, []).append(host)
        return pods
