"""Hosts as containers on the local engine: systemd as PID 1, sshd, their own dockerd.

Each pod has its own Docker network ``mason-<pod>``; each host a container
``mason-<pod>-h<N>`` and a volume for its inner ``/var/lib/docker`` (overlay2
needs a real filesystem). Everything carries ``mason.*`` labels, which are the
pod's only state: listing and destroying need nothing but the engine.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import tarfile
import time
from collections.abc import Iterable, Mapping
from typing import Any

import docker
import docker.errors
import docker.types
from docker.models.containers import Container

from mason.core.errors import EnvironmentProblem, NotFound, ProviderError
from mason.core.names import ROLE_WORKER
from mason.providers.base import (
    ADMIN_USER,
    DEFAULT_ENVIRONMENT,
    CreateResult,
    DestroyResult,
    Host,
    KeyPair,
    PodSpec,
    Progress,
    Provider,
    _quiet,
    check_growth,
    listed,
)
from mason.providers.docker import image as host_images

# Flags measured to run systemd + an inner dockerd without --privileged, which
# many CI machines refuse (they lack CAP_SYS_RESOURCE): see docs/design.md,
# "Local hosts run without --privileged".
_HOST_RUN_ARGS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "device_cgroup_rules": ["a *:* rwm"],
    "tmpfs": {"/run": "", "/run/lock": ""},
    "cgroupns": "host",
}
SSH_UID = 1000  # the admin user of the host image (sudo)
LABEL = "mason.pod"
STARTUP_TIMEOUT = 60.0
REMOVAL_TIMEOUT = 60.0  # another client's removal of the same object, waited for


def _labels_of(spec: PodSpec, index: int, host_name: str) -> dict[str, str]:
    labels = {
        "mason.pod": spec.name,
        "mason.provider": "docker",
        "mason.environment": spec.environment,
        "mason.host": host_name,
        "mason.index": str(index),
        "mason.zone": spec.zone_of(index),
        "mason.role": spec.role_of(index),
        "mason.cpu": f"{spec.cpu:g}",
        "mason.memory": str(spec.memory),
        "mason.labels": json.dumps(dict(spec.labels), sort_keys=True),
    }
    return labels


class DockerProvider(Provider):
    """Local pods on this machine's Docker engine (the embedded default)."""

    name = "docker"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._client: docker.DockerClient | None = None

    # -- engine -----------------------------------------------------------------
    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                client = docker.from_env(timeout=120)
                client.ping()
            except Exception as exc:  # docker raises several unrelated types here
                raise EnvironmentProblem(
                    f"cannot reach the Docker engine at {_engine_address()}: {_engine_reason(exc)}",
                    hint="start it with `dockerd &` or `systemctl start docker`, "
                    "or run scripts/setup.sh; DOCKER_HOST selects another engine",
                ) from None
            self._client = client
        return self._client

    def check(self) -> None:
        _ = self.client

    # -- list -------------------------------------------------------------------
    def _containers(self, pod: str | None = None) -> list[Container]:
        filters = {"label": [f"{LABEL}={pod}" if pod else LABEL, "mason.provider=docker"]}
        return self.client.containers.list(all=True, filters=filters)

    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        return listed([_host_of(c) for c in self._containers(pod)], environment)

    # -- create -----------------------------------------------------------------
    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        existing = self.list_hosts(spec.name)
        check_growth(spec, existing)
        started = []
        for host in existing:
            if host.state != "running":
                # A restarted engine or machine leaves hosts stopped: bring them back.
                progress(f"starting stopped host {host.name}")
                container = self.client.containers.get(f"mason-{host.name}")
                container.start()
                self._wait_running(container)
                started.append(host.name)
        existing = self.list_hosts(spec.name)
        result = CreateResult(existing=existing, started=started)
        have = {h.index for h in existing}
        wanted = [i for i in range(1, spec.hosts + 1) if i not in have]
        if not wanted:
            return result
        image = host_images.host_image(self.client, progress)
        network = self._ensure_network(spec)
        try:
            containers = []
            for index in wanted:
                name = f"{spec.name}-h{index}"
                progress(f"creating host {name} ({spec.zone_of(index)}, {spec.role_of(index)})")
                containers.append(self._create_one(spec, index, name, image, network, key))
            for container in containers:
                result.created.append(self._wait_running(container))
        except BaseException:
            # Roll back what this call made; hosts that were there before stay.
            self.remove_hosts(spec.name, [f"{spec.name}-h{i}" for i in wanted])
            if not existing:
                self._remove_network(spec.name)
            raise
        return result

    def _ensure_network(self, spec: PodSpec) -> str:
        name = f"mason-{spec.name}"
        found = self.client.networks.list(names=[name])
        if not any(n.name == name for n in found):
            labels = {"mason.pod": spec.name, "mason.provider": "docker"}
            # Docker picks a free address pool; the network is then made again with that
            # pool as its own: only on a user-configured subnet may a host have a fixed
            # address, and a host restarted without one comes back with another address
            # (its peers' firewall rules and the pod's records name the old one). Other
            # containers on the network get addresses from the upper half only, so none
            # takes a stopped host's address while it is down.
            probe = self.client.networks.create(name, driver="bridge", labels=labels)
            pool = (probe.attrs.get("IPAM", {}).get("Config") or [{}])[0]
            remove(probe, f"network {name}")
            ipam = None
            if pool.get("Subnet"):
                subnet = ipaddress.ip_network(pool["Subnet"], strict=False)
                upper = str(list(subnet.subnets(prefixlen_diff=1))[1])
                ipam = docker.types.IPAMConfig(
                    pool_configs=[
                        docker.types.IPAMPool(
                            subnet=pool["Subnet"], gateway=pool.get("Gateway"), iprange=upper
                        )
                    ]
                )
            self.client.networks.create(name, driver="bridge", labels=labels, ipam=ipam)
        return name

    def _address_of(self, network: str, index: int) -> str | None:
        """Host N's fixed address: the Nth of the lower half's addresses after the gateway
        (None on a network made before mason pinned addresses: Docker picks one)."""
        net = self.client.networks.get(network)
        pool = (net.attrs.get("IPAM", {}).get("Config") or [{}])[0]
        if not pool.get("Subnet") or not pool.get("IPRange"):
            return None
        lower = next(ipaddress.ip_network(pool["Subnet"], strict=False).subnets(1))
        gateway = pool.get("Gateway", "").split("/")[0]
        for n, address in enumerate(a for a in lower.hosts() if str(a) != gateway):
            if n == index - 1:
                return str(address)
        raise ProviderError(f"network {network} has no address left for host {index}")

    def _create_one(
        self, spec: PodSpec, index: int, name: str, image: str, network: str, key: KeyPair
    ) -> Container:
        labels = _labels_of(spec, index, name)
        volume = self.client.volumes.create(
            f"mason-{name}-docker", labels={"mason.pod": spec.name, "mason.provider": "docker"}
        )
        api = self.client.api
        host_config = api.create_host_config(
            port_bindings={22: ("127.0.0.1", None)},
            binds={
                "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                volume.name: {"bind": "/var/lib/docker", "mode": "rw"},
            },
            network_mode=network,
            nano_cpus=int(spec.cpu * 1e9),
            mem_limit=spec.memory,
            restart_policy={"Name": "unless-stopped"},
            **_HOST_RUN_ARGS,
        )
        # systempaths=unconfined has no SDK keyword: it is empty masked and
        # read-only path lists in the API, which is what the docker CLI sends.
        host_config["MaskedPaths"] = []
        host_config["ReadonlyPaths"] = []
        address = self._address_of(network, index)

        def create(address: str | None) -> dict:
            return api.create_container(
                image,
                name=f"mason-{name}",
                hostname=name,
                labels=labels,
                detach=True,
                ports=[22],
                host_config=host_config,
                stop_signal="SIGRTMIN+3",
                networking_config=api.create_networking_config(
                    {network: api.create_endpoint_config(aliases=[name], ipv4_address=address)}
                ),
            )

        try:
            try:
                created = create(address)
            except docker.errors.APIError as exc:
                # A pod network made before addresses were pinned: Docker picks one.
                if address is None or "user configured subnets" not in str(exc):
                    raise
                created = create(None)
        except docker.errors.APIError as exc:
            raise ProviderError(f"cannot create host {name}: {_short(exc)}") from None
        container = self.client.containers.get(created["Id"])
        # The pod's public key goes in before first boot, so no window exists
        # where the host runs without its authorized key or with a shared one.
        container.put_archive(f"/home/{ADMIN_USER}", _authorized_keys_tar(key.public_openssh))
        container.start()
        return container

    def _wait_running(self, container: Container) -> Host:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            container.reload()
            if container.status == "running" and _ssh_port(container):
                return _host_of(container)
            if container.status in ("exited", "dead") or time.monotonic() > deadline:
                logs = container.logs(tail=3).decode(errors="replace").strip().splitlines()
                why = logs[-1] if logs else f"status {container.status}"
                raise ProviderError(f"host {container.labels['mason.host']} did not come up: {why}")
            time.sleep(0.2)

    # -- destroy ----------------------------------------------------------------
    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        for name in names:
            with contextlib.suppress(docker.errors.NotFound):
                container = self.client.containers.get(f"mason-{name}")
                remove(container, f"host {name}", force=True, v=True)
            with contextlib.suppress(docker.errors.NotFound):
                volume = self.client.volumes.get(f"mason-{name}-docker")
                remove(volume, f"volume {volume.name}", force=True)

    def _remove_network(self, pod: str) -> bool:
        removed = False
        for net in self.client.networks.list(filters={"label": f"mason.pod={pod}"}):
            remove(net, f"network {net.name}")
            removed = True
        return removed

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        containers = self._containers(pod)
        volumes = self.client.volumes.list(filters={"label": f"mason.pod={pod}"})
        networks = self.client.networks.list(filters={"label": f"mason.pod={pod}"})
        if not (containers or volumes or networks):
            raise NotFound(f"pod {pod!r} does not exist (see `mason pod list`)")
        result = DestroyResult()
        for container in containers:
            progress(f"removing host {container.labels.get('mason.host', container.name)}")
            if remove(container, f"container {container.name}", force=True, v=True):
                result.removed.append(f"container {container.name}")
        for volume in self.client.volumes.list(filters={"label": f"mason.pod={pod}"}):
            if remove(volume, f"volume {volume.name}", force=True):
                result.removed.append(f"volume {volume.name}")
        for net in networks:
            if remove(net, f"network {net.name}"):
                result.removed.append(f"network {net.name}")
        return result


def remove(resource: Any, what: str, timeout: float = REMOVAL_TIMEOUT, **options: Any) -> bool:
    """Remove one engine object (container, volume, network): True when this call or one
    already in progress removed it, False when it was gone before. A conflict (409:
    "removal already in progress" from another destroy, a volume still held by a
    container being removed) is retried until ``timeout``; then, or on any other engine
    error, one ProviderError line."""
    deadline = time.monotonic() + timeout
    waited = False
    while True:
        try:
            resource.remove(**options)
            return True
        except docker.errors.NotFound:
            return waited
        except docker.errors.APIError as exc:
            if exc.status_code != 409 or time.monotonic() > deadline:
                raise ProviderError(f"cannot remove {what}: {_short(exc)}") from None
        waited = True
        time.sleep(0.2)


def _authorized_keys_tar(public_key: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        ssh_dir = tarfile.TarInfo(".ssh")
        ssh_dir.type, ssh_dir.mode = tarfile.DIRTYPE, 0o700
        ssh_dir.uid = ssh_dir.gid = SSH_UID
        tar.addfile(ssh_dir)
        data = (public_key.strip() + "\n").encode()
        info = tarfile.TarInfo(".ssh/authorized_keys")
        info.size, info.mode = len(data), 0o600
        info.uid = info.gid = SSH_UID
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ssh_port(container: Container) -> int:
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get("22/tcp")
    return int(bindings[0]["HostPort"]) if bindings else 0


def _host_of(container: Container) -> Host:
    labels = container.labels
    networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
    pod_net = networks.get(f"mason-{labels['mason.pod']}", {})
    return Host(
        name=labels["mason.host"],
        pod=labels["mason.pod"],
        provider="docker",
        environment=labels.get("mason.environment", DEFAULT_ENVIRONMENT),
        zone=labels.get("mason.zone", ""),
        role=labels.get("mason.role", ROLE_WORKER),
        index=int(labels.get("mason.index", "0")),
        address="127.0.0.1",
        ssh_port=_ssh_port(container),
        ssh_user=ADMIN_USER,
        cpu=float(labels.get("mason.cpu", "0")),
        memory=int(labels.get("mason.memory", "0")),
        labels=json.loads(labels.get("mason.labels", "{}")),
        state=container.status,
        id=container.id[:12],
        private_address=pod_net.get("IPAddress", ""),
    )


def _engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _engine_reason(exc: BaseException) -> str:
    """docker-py nests the socket's error in a long message: name the cause plainly."""
    text = str(exc)
    for marker, reason in (
        ("FileNotFoundError", "no socket there (is dockerd running?)"),
        ("ConnectionRefused", "connection refused"),
        ("PermissionError", "permission denied (run as root or join the docker group)"),
        ("timed out", "timed out"),
    ):
        if marker in text:
            return reason
    return _short(exc)


def _short(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
