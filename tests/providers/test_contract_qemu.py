"""The qemu provider (local VM pods) against the provider contract, with real QEMU VMs.

The contract is about resources (VMs, disks, state, the pod network), so its
pods do not wait for the VMs to boot (``boot_timeout: 0``); booting, SSH and
hardening are proven by tests/integration/test_vm.py on a pod of its own. The
second create after a destroy is proven here: what it needs (a pod name, state,
disks, ports and a pod network free again) is the provider's, and booting it
again would only repeat test_vm.py's boot.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from mason.providers.qemu import QemuProvider
from mason.providers.qemu.state import State
from tests.providers.contract import ProviderContract

pytestmark = pytest.mark.integration


def qemu_pids(pod: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if (
            argv
            and argv[0].endswith(b"qemu-system-x86_64")
            and any(a.startswith(f"mason-{pod}-h".encode()) for a in argv)
        ):
            pids.append(int(entry.name))
    return pids


class TestQemuContract(ProviderContract):
    name = "qemu"

    @classmethod
    def options(cls) -> dict[str, Any]:
        return {"boot_timeout": 0}

    @pytest.fixture(scope="class")
    @classmethod
    def provider(cls) -> QemuProvider:
        provider = QemuProvider(cls.options())
        provider.check()
        return provider

    def leftovers(self, provider: QemuProvider, pod: str) -> list[str]:
        state = State()
        found = [f"qemu process {pid}" for pid in qemu_pids(pod)]
        directory = state.pod_dir(pod)
        if directory.exists():
            found.append(f"state directory {directory}")
            found += [f"disk {d}" for d in directory.glob("*/disk.qcow2")]
        return found

    def test_destroy_leaves_nothing(self, provider: QemuProvider, cycle: dict[str, Any]) -> None:
        """First (the pod still exists): what a machine restart leaves, a stopped VM, comes
        back on the next create with its disk; then the contract's destroy check."""
        self.check_a_stopped_vm_is_started_again(provider, cycle)
        super().test_destroy_leaves_nothing(provider, cycle)
        self.check_a_second_create_after_destroy_works(provider, cycle)

    def check_a_second_create_after_destroy_works(
        self, provider: QemuProvider, cycle: dict[str, Any]
    ) -> None:
        pod, key = cycle["pod"], cycle["key"]
        old = {h.id for h in cycle["rerun"].hosts}
        again = provider.create_hosts(self.spec(pod, 1), key)
        assert [(h.name, h.state) for h in again.created] == [(f"{pod}-h1", "running")]
        assert again.created[0].id not in old and again.existing == []
        assert len(qemu_pids(pod)) == 1 and self.leftovers(provider, pod)
        provider.destroy_pod(pod)
        assert self.leftovers(provider, pod) == []

    def check_a_stopped_vm_is_started_again(
        self, provider: QemuProvider, cycle: dict[str, Any]
    ) -> None:
        pod, key = cycle["pod"], cycle["key"]
        h1 = provider.list_hosts(pod)[0]
        pid = next(
            p
            for p in qemu_pids(pod)
            if f"mason-{h1.name}".encode() in Path(f"/proc/{p}/cmdline").read_bytes()
        )
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if provider.list_hosts(pod)[0].state == "stopped":
                break
            time.sleep(0.1)
        assert provider.list_hosts(pod)[0].state == "stopped"
        result = provider.create_hosts(self.spec(pod, 2), key)
        assert result.started == [h1.name] and result.created == []
        again = provider.list_hosts(pod)[0]
        assert (again.state, again.id, again.ssh_port) == ("running", h1.id, h1.ssh_port)
