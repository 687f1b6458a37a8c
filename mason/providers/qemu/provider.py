"""Local pods of QEMU virtual machines: hosts with a kernel of their own.

Made from the same host recipe as the docker provider's container hosts (see
:mod:`mason.providers.qemu.disk`), so roles meet the same system; unlike
containers they have their own kernel, which lets the kernel half of the
hardening (sysctls, audit rules, module blocking) and AppArmor really apply.

State lives on this machine, which is the pods' infrastructure (see
:mod:`mason.providers.qemu.state`): a host's labels are its ``host.json``.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mason.core.errors import HostsUnreachable, InvalidInput, NotFound
from mason.core.names import ROLE_WORKER
from mason.core.project import parse_memory
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
from mason.providers.qemu import disk as disks
from mason.providers.qemu import machine
from mason.providers.qemu.state import HOST_FILE, POD_FILE, State, write_json
from mason.providers.wait import wait_for_ssh

POD_SUBNET = ipaddress.ip_network("192.168.77.0/24")
FIRST_ADDRESS = 10  # host N gets .(10 + N) on the pod network
MAX_HOSTS = POD_SUBNET.num_addresses - 2 - FIRST_ADDRESS
DEFAULT_DISK = 10 * 2**30
DEFAULT_BOOT_TIMEOUT = 300.0


class QemuProvider(Provider):
    """Local pods of QEMU VMs on this machine (KVM when it works, else TCG)."""

    name = "qemu"
    option_keys = ("accel", "boot_timeout", "disk")

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.state = State()
        self.accel_choice = str(
            self.options.get("accel") or os.environ.get("MASON_QEMU_ACCEL") or "auto"
        ).lower()
        if self.accel_choice not in ("auto", "kvm", "tcg"):
            raise InvalidInput(
                f"qemu options.accel: expected auto, kvm or tcg, got {self.accel_choice!r}"
            )
        self.boot_timeout = _seconds(self.options.get("boot_timeout", DEFAULT_BOOT_TIMEOUT))
        raw_disk = self.options.get("disk")
        self.disk_size = parse_memory(raw_disk, "qemu options.disk") if raw_disk else DEFAULT_DISK

    def check(self) -> None:
        machine.check_tools()

    # -- list -------------------------------------------------------------------
    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        return listed([self._host_of(r) for r in self.state.host_records(pod)], environment)

    def _host_of(self, record: dict[str, Any]) -> Host:
        host_dir = self.state.host_dir(record["pod"], record["name"])
        running = machine.running_pid(host_dir, record["name"]) is not None
        return Host(
            name=record["name"],
            pod=record["pod"],
            provider=self.name,
            environment=record.get("environment", DEFAULT_ENVIRONMENT),
            zone=record.get("zone", ""),
            role=record.get("role", ROLE_WORKER),
            index=int(record.get("index", 0)),
            address="127.0.0.1",
            ssh_port=int(record.get("ssh_port", 0)),
            ssh_user=ADMIN_USER,
            cpu=float(record.get("cpu", 0)),
            memory=int(record.get("memory", 0)),
            labels=dict(record.get("labels") or {}),
            state="running" if running else "stopped",
            id=record.get("id", ""),
            private_address=record.get("private_address", ""),
        )

    # -- create -----------------------------------------------------------------
    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        with self.state.locked():
            existing = self.list_hosts(spec.name)
            check_growth(spec, existing)
            have = {h.index for h in existing}
            wanted = [i for i in range(1, spec.hosts + 1) if i not in have]
            stopped = [h for h in existing if h.state != "running"]
            if not wanted and not stopped:
                return CreateResult(existing=existing)
            if spec.hosts > MAX_HOSTS:
                raise InvalidInput(f"--hosts: a VM pod holds at most {MAX_HOSTS} hosts")
            # Only new VMs need the current base disk (and the engine to build it);
            # stopped ones boot from the base they were made from.
            base = self._base_disk(progress) if wanted else None
            kernel = base.kernel if base else self._record_base(stopped[0]) / "vmlinuz"
            accel = machine.detect_accel(kernel, self.state.root / "accel.json", self.accel_choice)
            progress(f"VMs run with {accel.name.upper()}: {accel.reason}")
            pod = self._ensure_pod(spec)
            made: list[str] = []
            try:
                started = self._start_stopped(stopped, pod, accel, progress)
                for index in wanted:
                    name = f"{spec.name}-h{index}"
                    progress(f"creating VM {name} ({spec.zone_of(index)}, {spec.role_of(index)})")
                    made.append(name)
                    assert base is not None
                    self._create_one(spec, index, name, key, pod, accel, base)
                booting = [h for h in self.list_hosts(spec.name) if h.name in made + started]
                self._wait_booted(booting, progress)
            except BaseException:
                # Roll back what this call made; hosts that were there before stay.
                self._remove(spec.name, made)
                if not existing:
                    self._remove_pod_dir(spec.name)
                raise
            hosts = self.list_hosts(spec.name)
            return CreateResult(
                created=[h for h in hosts if h.name in made],
                existing=[h for h in hosts if h.name not in made],
                started=started,
            )

    def _base_disk(self, progress: Progress) -> disks.BaseDisk:
        from mason.providers.docker import DockerProvider  # the image builder's engine

        base = disks.base_disk(DockerProvider().client, self.state.images, progress)
        in_use = {r.get("base") for r in self.state.host_records()} | {base.key}
        for gone in disks.prune(self.state.images, {k for k in in_use if k}):
            progress(f"removed the unused VM base disk {gone}")
        return base

    def _ensure_pod(self, spec: PodSpec) -> dict[str, Any]:
        found = self.state.pod_record(spec.name)
        if found:
            return found
        taken = {
            (r["network"]["group"], r["network"]["port"])
            for name in self.state.pod_names()
            if (r := self.state.pod_record(name))
        }
        while True:  # a multicast group and port no other pod of this machine uses
            group = f"239.255.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
            port = 20000 + secrets.randbelow(30000)
            if (group, port) not in taken:
                break
        record = {
            "pod": spec.name,
            "environment": spec.environment,
            "network": {
                "group": group,
                "port": port,
                "subnet": str(POD_SUBNET),
                "prefix": POD_SUBNET.prefixlen,
            },
        }
        directory = self.state.pod_dir(spec.name)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json(directory / POD_FILE, record)
        return record

    def _create_one(
        self,
        spec: PodSpec,
        index: int,
        name: str,
        key: KeyPair,
        pod: dict[str, Any],
        accel: machine.Accel,
        base: disks.BaseDisk,
    ) -> None:
        host_dir = self.state.host_dir(spec.name, name)
        host_dir.mkdir(mode=0o700)
        record = {
            "name": name,
            "pod": spec.name,
            "provider": self.name,
            "environment": spec.environment,
            "zone": spec.zone_of(index),
            "role": spec.role_of(index),
            "index": index,
            "cpu": spec.cpu,
            "vcpus": max(1, math.ceil(spec.cpu)),
            "memory": spec.memory,
            "labels": dict(spec.labels),
            "id": secrets.token_hex(6),
            "ssh_port": machine.free_port(),
            "private_address": str(POD_SUBNET.network_address + FIRST_ADDRESS + index),
            "mgmt_mac": _mac(),
            "pod_mac": _mac(),
            # The pod's public key reaches the VM on its kernel command line and is
            # written before sshd first starts: no window without it.
            "key": base64.b64encode(key.public_openssh.strip().encode()).decode(),
            "base": base.key,
            "created": time.time(),
        }
        machine.make_overlay(base.root, host_dir / "disk.qcow2", self.disk_size)
        write_json(host_dir / HOST_FILE, record)
        machine.start(
            machine.qemu_argv(record, pod, host_dir, accel, base.directory), host_dir, name
        )

    def _start_stopped(
        self,
        stopped: list[Host],
        pod: dict[str, Any],
        accel: machine.Accel,
        progress: Progress,
    ) -> list[str]:
        """Start VMs found stopped (a machine restart): same disk, same port if free."""
        started = []
        for host in stopped:
            progress(f"starting stopped VM {host.name}")
            host_dir = self.state.host_dir(host.pod, host.name)
            record = self._record(host)
            if not machine.port_free(int(record["ssh_port"])):
                record["ssh_port"] = machine.free_port()
                write_json(host_dir / HOST_FILE, record)
            argv = machine.qemu_argv(record, pod, host_dir, accel, self._record_base(host))
            machine.start(argv, host_dir, host.name)
            started.append(host.name)
        return started

    def _record(self, host: Host) -> dict[str, Any]:
        return next(r for r in self.state.host_records(host.pod) if r["name"] == host.name)

    def _record_base(self, host: Host) -> Path:
        return self.state.images / str(self._record(host).get("base", ""))

    def _wait_booted(self, hosts: list[Host], progress: Progress) -> None:
        """A VM counts as up once it has booted to sshd (a container is up once it runs)."""
        if not hosts or self.boot_timeout <= 0:
            return
        progress(f"waiting for {len(hosts)} VM(s) to boot (up to {self.boot_timeout:g}s)")
        started = time.monotonic()
        late = wait_for_ssh(hosts, timeout=self.boot_timeout)
        if late:
            tails = {h.name: machine.console_tail(self.state.host_dir(h.pod, h.name)) for h in late}
            why = "; ".join(f"{n}: {t or 'no console output'}" for n, t in tails.items())
            raise HostsUnreachable(
                f"VM(s) did not boot to SSH within {self.boot_timeout:g}s: {why}"
            )
        progress(f"{len(hosts)} VM(s) booted in {time.monotonic() - started:.0f}s")

    # -- destroy ----------------------------------------------------------------
    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        with self.state.locked():
            self._remove(pod, list(names))

    def _remove(self, pod: str, names: list[str]) -> list[str]:
        removed = []
        for name in names:
            host_dir = self.state.host_dir(pod, name)
            if machine.stop(host_dir, name):
                removed.append(f"vm {name}")
            if (host_dir / "disk.qcow2").exists():
                removed.append(f"disk {host_dir / 'disk.qcow2'}")
            if host_dir.exists():
                shutil.rmtree(host_dir)
        return removed

    def _remove_pod_dir(self, pod: str) -> bool:
        directory = self.state.pod_dir(pod)
        if not directory.exists():
            return False
        shutil.rmtree(directory)
        return True

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        with self.state.locked():
            if not self.state.pod_dir(pod).is_dir():
                raise NotFound(f"pod {pod!r} does not exist (see `mason pod list --provider qemu`)")
            result = DestroyResult()
            names = [r["name"] for r in self.state.host_records(pod)]
            for name in names:
                progress(f"removing VM {name}")
            result.removed += self._remove(pod, names)
            # Host directories without a readable record (an interrupted create).
            for leftover in sorted(p for p in self.state.pod_dir(pod).iterdir() if p.is_dir()):
                result.removed += self._remove(pod, [leftover.name])
            if self._remove_pod_dir(pod):
                result.removed.append(f"state {self.state.pod_dir(pod)}")
            return result


def _mac() -> str:
    # 52:54:00 is QEMU's locally administered prefix.
    return "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"qemu options.boot_timeout: expected seconds, got {value!r}") from None
    if seconds < 0:
        raise InvalidInput(f"qemu options.boot_timeout: expected seconds >= 0, got {value!r}")
    return seconds
