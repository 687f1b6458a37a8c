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
from pathlib import Path
from typing import Any

from mason.core.errors import InvalidInput, NotFound
from mason.core.project import PROJECT_FILE, PodDefaults, load_project, parse_memory
from mason.providers.base import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_ZONES,
    ROLE_MANAGER,
    ROLE_WORKER,
    CreateResult,
    DestroyResult,
    Host,
    KeyPair,
    PodSpec,
    Progress,
    Provider,
    _quiet,
)

DEFAULT_USER = "mason"
HOST_KEYS = ("address", "port", "user", "zone", "role", "labels", "cpu", "memory", "name")
OPTION_KEYS = ("hosts", "project_dir")


def parse_hosts(pod: str, raw: Any, where: str) -> list[dict[str, Any]]:
    """Validate ``options.hosts``; every error names the entry and the field."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            f"{where}: expected a non-empty list of hosts, each with at least an address"
        )
    entries = []
    seen: dict[tuple[str, int], int] = {}
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            item = {"address": item}
        if not isinstance(item, dict):
            raise InvalidInput(f"{at}: expected a mapping such as {{address: 192.0.2.10}}")
        for key in item:
            if key not in HOST_KEYS:
                raise InvalidInput(
                    f"{at}.{key}: unknown field (expected one of: {', '.join(HOST_KEYS)})"
                )
        address = item.get("address")
        if not isinstance(address, str) or not address.strip():
            raise InvalidInput(f"{at}.address: expected a host name or IP address")
        port = item.get("port", 22)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise InvalidInput(f"{at}.port: expected a TCP port 1-65535, got {port!r}")
        if (address, port) in seen:
            raise InvalidInput(
                f"{at}: {address}:{port} is already listed as host {seen[(address, port)] + 1}"
            )
        seen[(address, port)] = i
        user = item.get("user", DEFAULT_USER)
        if not isinstance(user, str) or not user:
            raise InvalidInput(f"{at}.user: expected a login name, got {user!r}")
        role = item.get("role")
        if role is not None and role not in (ROLE_MANAGER, ROLE_WORKER):
            raise InvalidInput(f"{at}.role: expected 'manager' or 'worker', got {role!r}")
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise InvalidInput(f"{at}.labels: expected a mapping of label to value")
        entry = {
            "address": address.strip(),
            "port": port,
            "user": user,
            "zone": item.get("zone"),
            "role": role,
            "labels": {str(k): str(v) for k, v in labels.items()},
            "cpu": None,
            "memory": None,
        }
        if item.get("zone") is not None:
            from mason.core.names import check_name

            entry["zone"] = check_name("zone", str(item["zone"]), where=f"{at}.zone")
        if item.get("cpu") is not None:
            try:
                entry["cpu"] = float(item["cpu"])
            except (TypeError, ValueError):
                entry["cpu"] = -1.0
            if entry["cpu"] <= 0:
                raise InvalidInput(f"{at}.cpu: expected a number of cores > 0")
        if item.get("memory") is not None:
            entry["memory"] = parse_memory(item["memory"], f"{at}.memory")
        entries.append(entry)
    return entries


def hosts_of(
    pod: str,
    *,
    environment: str,
    zones: tuple[str, ...],
    labels: Mapping[str, str],
    cpu: float,
    memory: int,
    entries: list[dict[str, Any]],
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
                zone=entry["zone"] or spec.zone_of(index),
                role=entry["role"] or spec.role_of(index),
                index=index,
                address=entry["address"],
                ssh_port=entry["port"],
                ssh_user=entry["user"],
                cpu=entry["cpu"] or cpu,
                memory=entry["memory"] or memory,
                labels={**labels, **entry["labels"]},
                state="adopted",
                id=f"{entry['address']}:{entry['port']}",
                private_address=entry["address"],
            )
        )
    return hosts


class StaticProvider(Provider):
    """Machines that exist already: adopted from mason.yml, never created or destroyed."""

    name = "static"
    option_keys = OPTION_KEYS

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
        where = f"{self.project_dir / PROJECT_FILE}: pods.{pod.name}.options.hosts"
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
        if environment:
            hosts = [h for h in hosts if h.environment == environment]
        return sorted(hosts, key=lambda h: (h.pod, h.index))

    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        where = f"pods.{spec.name}.options.hosts (mason.yml)"
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
