"""Existing machines (bare metal, VMs made elsewhere) listed in the pod's definition.

mason never creates, stops or deletes these machines: it provisions and hardens
them. The pod definition in ``mason.yml`` *is* the state: a fresh checkout (or an
AWX job) reads the same list, so nothing is tagged and nothing is stored::

    pods:
      rack1:
        provider: static
        environment: prod
        zones: [room-a, room-b]
        options:
          hosts:
            - {address: 192.0.2.10, zone: room-a, labels: {disk: ssd}}
            - {address: 192.0.2.11, port: 2222, user: mason, zone: room-b}

Host ``N`` of the list is ``<pod>-h<N>``; host 1 is the manager unless an entry
says ``role: manager``/``worker``. ``zone`` defaults to the pod's zones
round-robin, ``user`` to ``mason`` (an admin user with sudo that accepts the pod
key, ``$MASON_HOME/keys/static/<pod>/id_ed25519.pub``), ``cpu``/``memory`` to the
pod's values. Growing a static pod is adding an entry; "destroying" it only
forgets mason's key and known hosts: the machines are left as they are, and the
entry stays in mason.yml until you remove it.

The project directory is ``project_dir`` (an option, for inventory sources), else
``$MASON_PROJECT_DIR``, else the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core.errors import InvalidInput, NotFound, describe, key_path, unknown_field
from mason.core.fields import scalar_text
from mason.core.names import ROLE_MANAGER, ROLE_WORKER, ROLES, check_name, is_login_name
from mason.core.project import PROJECT_FILE, PodDefaults, load_project, parse_memory
from mason.core.validate import MAX_HOSTS, parse_cores, parse_port
from mason.providers.base import (
    ADMIN_USER,
    DEFAULT_ENVIRONMENT,
    DEFAULT_ZONES,
    CreateResult,
    DestroyResult,
    Host,
    KeyPair,
    PodSpec,
    Progress,
    Provider,
    _quiet,
    listed,
)

HOST_KEYS = ("address", "port", "user", "zone", "role", "labels", "cpu", "memory", "name")
OPTION_KEYS = ("hosts", "project_dir")


@dataclass(frozen=True)
class Machine:
    """One entry of ``options.hosts``, checked; None means "the pod's value"."""

    address: str
    port: int = 22
    user: str = ADMIN_USER
    zone: str | None = None
    role: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    cpu: float | None = None
    memory: int | None = None


def _machine(item: Any, at: str) -> Machine:
    if isinstance(item, str):
        item = {"address": item}
    if not isinstance(item, dict):
        raise InvalidInput(
            f"{at}: expected a mapping such as {{address: 192.0.2.10}}, got {describe(item)}"
        )
    for key in item:
        if key not in HOST_KEYS:
            raise unknown_field(key_path(at, key), key, HOST_KEYS)
    address = item.get("address")
    if not isinstance(address, str) or not address.strip() or not address.strip().isprintable():
        raise InvalidInput(
            f"{at}.address: expected a host name or IP address, got {describe(address)}"
        )
    try:
        port = parse_port(item.get("port", 22))
    except InvalidInput:
        raise InvalidInput(
            f"{at}.port: expected a TCP port 1-65535, got {describe(item.get('port'))}"
        ) from None
    user = item.get("user", ADMIN_USER)
    if not isinstance(user, str) or not is_login_name(user):
        raise InvalidInput(f"{at}.user: expected a login name, got {describe(user)}")
    role = item.get("role")
    if role is not None and role not in ROLES:
        raise InvalidInput(
            f"{at}.role: expected {ROLE_MANAGER!r} or {ROLE_WORKER!r}, got {describe(role)}"
        )
    labels = item.get("labels") or {}
    if not isinstance(labels, dict):
        raise InvalidInput(f"{at}.labels: expected a mapping of label to value")
    texts = {str(k): scalar_text(v) for k, v in labels.items()}
    bad = next((k for k, v in texts.items() if v is None), None)
    if bad is not None:
        raise InvalidInput(f"{key_path(f'{at}.labels', bad)}: expected a scalar")
    zone = item.get("zone")
    return Machine(
        address=address.strip(),
        port=port,
        user=user,
        zone=check_name("zone", zone, where=f"{at}.zone") if zone is not None else None,
        role=role,
        labels=texts,
        cpu=parse_cores(item["cpu"], f"{at}.cpu") if item.get("cpu") is not None else None,
        memory=(
            parse_memory(item["memory"], f"{at}.memory") if item.get("memory") is not None else None
        ),
    )


def parse_hosts(pod: str, raw: Any, where: str) -> list[Machine]:
    """Validate ``options.hosts``; every error names the entry and the field."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            f"{where}: expected a non-empty list of hosts, each with at least an address"
        )
    if len(raw) > MAX_HOSTS:
        raise InvalidInput(f"{where}: at most {MAX_HOSTS} hosts in one pod, got {len(raw)}")
    machines: list[Machine] = []
    seen: dict[tuple[str, int], int] = {}
    for i, item in enumerate(raw):
        machine = _machine(item, f"{where}[{i}]")
        at = (machine.address, machine.port)
        if at in seen:
            raise InvalidInput(
                f"{where}[{i}]: {machine.address}:{machine.port} is already listed as host "
                f"{seen[at] + 1}"
            )
        seen[at] = i
        machines.append(machine)
    return machines


def hosts_of(
    pod: str,
    *,
    environment: str,
    zones: tuple[str, ...],
    labels: Mapping[str, str],
    cpu: float,
    memory: int,
    entries: list[Machine],
) -> list[Host]:
    """The pod's hosts, straight from its definition."""
    spec = PodSpec(name=pod, zones=zones)
    hosts = []
    for index, entry in enumerate(entries, start=1):
        hosts.append(
            Host(
                name=f"{pod}-h{index}",
                pod=pod,
                provider="static",
                environment=environment,
                zone=entry.zone or spec.zone_of(index),
                role=entry.role or spec.role_of(index),
                index=index,
                address=entry.address,
                ssh_port=entry.port,
                ssh_user=entry.user,
                cpu=entry.cpu or cpu,
                memory=entry.memory or memory,
                labels={**labels, **entry.labels},
                state="adopted",
                id=f"{entry.address}:{entry.port}",
                private_address=entry.address,
            )
        )
    return hosts


class StaticProvider(Provider):
    """Machines that exist already: adopted from mason.yml, never created or destroyed."""

    name = "static"
    option_keys = OPTION_KEYS

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        project_dir = self.options.get("project_dir")
        if project_dir is not None and (not isinstance(project_dir, str) or not project_dir):
            raise InvalidInput(
                f"static options.project_dir: expected a directory, got {describe(project_dir)}"
            )

    def _where(self, pod: str) -> str:
        return f"{self.project_dir / PROJECT_FILE}: pods.{pod}.options.hosts"

    @property
    def project_dir(self) -> Path:
        return Path(
            self.options.get("project_dir") or os.environ.get("MASON_PROJECT_DIR") or "."
        ).resolve()

    def check(self) -> None:
        """Nothing to reach: the definitions are checked when they are read."""

    def _pods(self) -> dict[str, PodDefaults]:
        project = load_project(self.project_dir)
        return {n: p for n, p in project.pods.items() if p.provider == self.name}

    def _hosts_of_pod(self, pod: PodDefaults, project_env: str) -> list[Host]:
        where = self._where(pod.name)
        return hosts_of(
            pod.name,
            environment=pod.environment or project_env or DEFAULT_ENVIRONMENT,
            zones=pod.zones or DEFAULT_ZONES,
            labels=pod.labels,
            cpu=pod.cpu or 1.0,
            memory=pod.memory or 2**30,
            entries=parse_hosts(pod.name, pod.options.get("hosts"), where),
        )

    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        project = load_project(self.project_dir)
        hosts: list[Host] = []
        for name, defaults in project.pods.items():
            if defaults.provider != self.name or (pod and name != pod):
                continue
            hosts += self._hosts_of_pod(defaults, project.environment)
        return listed(hosts, environment)

    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        where = self._where(spec.name)
        if "hosts" not in spec.options:
            raise InvalidInput(
                f"{where}: a static pod lists its machines in mason.yml, e.g. "
                "options: {hosts: [{address: 192.0.2.10}]}"
            )
        entries = parse_hosts(spec.name, spec.options["hosts"], where)
        if spec.hosts != len(entries):
            raise InvalidInput(
                f"--hosts {spec.hosts}: static pod {spec.name!r} lists {len(entries)} "
                f"host(s) in {where}; mason never creates machines: edit the list instead"
            )
        hosts = hosts_of(
            spec.name,
            environment=spec.environment,
            zones=spec.zones,
            labels=spec.labels,
            cpu=spec.cpu,
            memory=spec.memory,
            entries=entries,
        )
        progress(
            f"adopting {len(hosts)} existing host(s) of {spec.name}: each must let its user "
            f"log in with the pod key {key.private_path}.pub (mason never creates machines)"
        )
        return CreateResult(existing=hosts)

    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        """Static machines are never removed: nothing to do."""

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        if pod not in self._pods():
            raise NotFound(f"pod {pod!r} is not a static pod of {self.project_dir / PROJECT_FILE}")
        progress(
            f"static pod {pod}: its machines are left untouched; mason forgets its key and "
            "known hosts (remove the pod from mason.yml to forget it entirely)"
        )
        return DestroyResult()
