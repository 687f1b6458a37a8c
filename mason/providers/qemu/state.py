"""Where VM pods live on this machine: one state directory per pod, one per host.

This machine is the infrastructure of a VM pod, so its state lives here, not
in a project: a fresh checkout (or another project) lists, shows and destroys
the same pods. The root is ``MASON_QEMU_DIR``, else ``/var/lib/mason/qemu``
(as root) or ``~/.local/share/mason/qemu``::

    images/<hash>/            cached base disks (kernel, initramfs, ext4 image)
    accel.json                which accelerator works here (KVM or TCG), probed once
    lock                      serialises changes (create, start, destroy)
    pods/<pod>/pod.json       environment and the pod network (multicast group, subnet)
    pods/<pod>/<host>/        host.json (the host's labels), disk.qcow2 (overlay),
                              qemu.pid, qmp.sock, console.log, qemu.log

Files are written to a temporary name and renamed, so a reader never sees half.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HOST_FILE = "host.json"
POD_FILE = "pod.json"


def state_root() -> Path:
    override = os.environ.get("MASON_QEMU_DIR")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/lib/mason/qemu")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "mason" / "qemu"


class State:
    """The state directory tree (see the module doc)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or state_root()

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def pods(self) -> Path:
        return self.root / "pods"

    def pod_dir(self, pod: str) -> Path:
        return self.pods / pod

    def host_dir(self, pod: str, host: str) -> Path:
        return self.pods / pod / host

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the machine-wide lock of mason's VM state (one change at a time)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.root / "lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- records ----------------------------------------------------------------
    def pod_record(self, pod: str) -> dict[str, Any] | None:
        return read_json(self.pod_dir(pod) / POD_FILE)

    def host_records(self, pod: str | None = None) -> list[dict[str, Any]]:
        """Every host record (of one pod or all), skipping unreadable ones."""
        if not self.pods.is_dir():
            return []
        pods = [self.pods / pod] if pod else sorted(p for p in self.pods.iterdir() if p.is_dir())
        out = []
        for pod_dir in pods:
            if not pod_dir.is_dir():
                continue
            for host_dir in sorted(pod_dir.iterdir()):
                record = read_json(host_dir / HOST_FILE) if host_dir.is_dir() else None
                if record:
                    out.append(record)
        return out

    def pod_names(self) -> list[str]:
        if not self.pods.is_dir():
            return []
        return sorted(p.name for p in self.pods.iterdir() if p.is_dir())


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
