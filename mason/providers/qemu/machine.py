"""One QEMU virtual machine: its command line, starting, finding and stopping it.

Each VM has two network cards:

- ``mgmt``: QEMU user networking. SSH is forwarded from a 127.0.0.1 port; the
  guest reaches out through QEMU's NAT (apt, like a cloud VM's public side).
- ``pod``: the pod's private network, QEMU socket networking on a multicast
  group of the pod's own bound to the loopback interface: every VM of the pod
  on one Ethernet segment, nothing else on it, no route out, and nothing on the
  host to make or remove (no bridge, no tap, no root needed for it).

QEMU runs detached (``setsid -f``), sandboxed (seccomp: no spawning, no
privilege changes), and writes its pid file; the pid is checked against the
VM's own name before it is ever signalled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mason.core.errors import EnvironmentProblem, ProviderError

QEMU = "qemu-system-x86_64"
QEMU_IMG = "qemu-img"
PROBE_TIMEOUT = 20.0


@dataclass(frozen=True)
class Accel:
    """Which accelerator VMs use here, and why."""

    name: str  # "kvm" or "tcg"
    reason: str

    def argv(self, cpus: int) -> list[str]:
        if self.name == "kvm":
            return ["-accel", "kvm", "-cpu", "host"]
        return ["-accel", "tcg,thread=multi" if cpus > 1 else "tcg"]


def check_tools() -> None:
    for tool in (QEMU, QEMU_IMG):
        if shutil.which(tool) is None:
            raise EnvironmentProblem(
                f"{tool} not found: VM pods need QEMU",
                hint="apt-get install qemu-system-x86 qemu-utils, or run scripts/setup.sh",
            )


def detect_accel(kernel: Path, cache: Path, forced: str = "auto") -> Accel:
    """KVM when a vCPU really boots the kernel with it, else TCG; probed once per machine.

    ``/dev/kvm`` opening is not enough: on some machines ``-cpu host`` fails at its
    first MSR write and other CPU models hang at boot. The probe boots the
    kernel with no root filesystem and waits for its panic (the end of kernel
    start-up) within a few seconds.
    """
    if forced in ("kvm", "tcg"):
        return Accel(forced, "chosen with the accel option / MASON_QEMU_ACCEL")
    key = f"{_qemu_version()} {kernel.parent.name} {_cpu_model()}"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return Accel(cached["name"], cached["reason"])
    except (OSError, ValueError, KeyError):
        pass
    accel = _probe_kvm(kernel)
    tmp = cache.with_name(f".{cache.name}.tmp")
    tmp.write_text(json.dumps({"key": key, "name": accel.name, "reason": accel.reason}) + "\n")
    os.replace(tmp, cache)
    return accel


def _probe_kvm(kernel: Path) -> Accel:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Accel("tcg", "software emulation: /dev/kvm is missing or not usable")
    argv = [
        QEMU, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config",
        "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", str(kernel),
        "-append", "console=ttyS0 panic=-1 loglevel=4",
    ]  # fmt: skip
    try:
        # stdin from /dev/null: `-serial stdio` makes QEMU set its stdin non-blocking,
        # which a shared stdin would pass on to the caller (Ansible then refuses to run).
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
        out = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        return Accel(
            "tcg", f"software emulation: a KVM vCPU did not boot within {PROBE_TIMEOUT:g}s"
        )
    if "Kernel panic" in out:
        return Accel("kvm", "KVM with the host CPU model")
    why = next((ln for ln in out.splitlines() if "error" in ln.lower()), "no kernel output")
    return Accel("tcg", f"software emulation: KVM is unusable here ({why.strip()})")


def _qemu_version() -> str:
    proc = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout.splitlines() or ["?"])[0]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def make_overlay(base: Path, disk: Path, size: int) -> None:
    """A copy-on-write qcow2 disk over the shared read-only base."""
    proc = subprocess.run(
        [QEMU_IMG, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(base), str(disk),
         str(max(size, base.stat().st_size))],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ProviderError(f"qemu-img create failed: {proc.stderr.strip()}")


def qemu_argv(
    record: dict[str, Any], pod: dict[str, Any], host_dir: Path, accel: Accel, base: Path
) -> list[str]:
    """The VM's command line, from its record and its pod's network."""
    cpus = int(record["vcpus"])
    net = pod["network"]
    cmdline = " ".join(
        [
            "console=ttyS0",
            "root=LABEL=mason-root",
            "rw",
            "quiet",
            f"systemd.hostname={record['name']}",
            f"mason.pod_address={record['private_address']}/{net['prefix']}",
            f"mason.pod_mac={record['pod_mac']}",
            f"mason.mgmt_mac={record['mgmt_mac']}",
            f"mason.key={record['key']}",
        ]
    )
    return [
        QEMU,
        "-name", f"mason-{record['name']},process=mason-{record['name']}",
        *accel.argv(cpus),
        "-smp", str(cpus),
        "-m", str(record["memory"] // 2**20),
        "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", f"file:{host_dir / 'console.log'}",
        "-pidfile", str(host_dir / "qemu.pid"),
        "-qmp", f"unix:{host_dir / 'qmp.sock'},server=on,wait=off",
        "-kernel", str(base / "vmlinuz"),
        "-initrd", str(base / "initrd.img"),
        "-append", cmdline,
        "-drive", f"file={host_dir / 'disk.qcow2'},format=qcow2,if=virtio,discard=unmap",
        "-netdev", f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{record['ssh_port']}-:22",
        "-device", f"virtio-net-pci,netdev=mgmt,mac={record['mgmt_mac']}",
        "-netdev", f"socket,id=pod,mcast={net['group']}:{net['port']},localaddr=127.0.0.1",
        "-device", f"virtio-net-pci,netdev=pod,mac={record['pod_mac']}",
        "-device", "virtio-rng-pci",
        "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]  # fmt: skip


def start(argv: list[str], host_dir: Path, name: str, timeout: float = 20.0) -> int:
    """Start QEMU detached from mason; its pid once it runs (QMP socket up)."""
    for leftover in ("qemu.pid", "qmp.sock"):
        (host_dir / leftover).unlink(missing_ok=True)
    with open(host_dir / "qemu.log", "ab") as log:
        # setsid -f: QEMU is nobody's child here, so it outlives mason and never
        # lingers as a zombie of a long-running caller.
        subprocess.run(
            ["setsid", "-f", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            check=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = running_pid(host_dir, name)
        if pid and (host_dir / "qmp.sock").exists():
            return pid
        time.sleep(0.1)
    tail = (host_dir / "qemu.log").read_text(errors="replace").strip().splitlines()[-1:]
    raise ProviderError(f"VM {name} did not start: {tail[0] if tail else 'no output from QEMU'}")


def running_pid(host_dir: Path, name: str) -> int | None:
    """The pid of this VM's QEMU if it runs (checked by its name, not just the pid file)."""
    try:
        pid = int((host_dir / "qemu.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    if status.rsplit(")", 1)[-1].split()[0] == "Z":
        return None
    return pid if f"mason-{name},process=mason-{name}".encode() in cmdline else None


def stop(host_dir: Path, name: str, timeout: float = 15.0) -> bool:
    """Stop the VM's QEMU (SIGTERM, then SIGKILL); True if one was running."""
    pid = running_pid(host_dir, name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(host_dir, name) == pid:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.1)
    return True


def console_tail(host_dir: Path, lines: int = 3) -> str:
    try:
        text = (host_dir / "console.log").read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-lines:])
