"""The VM base disk: the host image plus the VM layer, as a kernel, an initramfs and an ext4 disk.

One recipe, two outputs: the VM image ``mason-vm:<hash>`` is built by the docker
provider's image builder FROM the host image ``mason-host:<hash>`` with the VM
layer in ``recipe/`` (Debian's cloud kernel from the Debian mirror, initramfs,
udev, networkd). Its filesystem is exported (``docker export``), the files Docker
manages inside containers are set for a machine of its own (fstab, hosts,
resolv.conf, no ``/.dockerenv``), and ``mke2fs -d`` writes an ext4 image from the
directory (no loop device, no mount).

The result is cached under ``<state>/images/<hash>/`` where ``<hash>`` is the VM
image's tag: it is made once per recipe (or base) change and never changed
afterwards (read-only), since every VM's qcow2 overlay is backed by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import docker
import docker.errors

from mason.core.errors import EnvironmentProblem, ProviderError
from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as host_images

VM_REPO = "mason-vm"
# Room left on the root filesystem beyond the files; overlays grow it on first boot.
SLACK_BYTES = 768 * 2**20

# Docker bind-mounts these into containers, so an image never holds real ones:
# a machine of its own needs them written here.
FSTAB = (
    "# mason VM: the root disk (a qcow2 overlay over the pod's shared base disk)\n"
    "LABEL=mason-root / ext4 rw,errors=remount-ro 0 1\n"
    "# AppArmor and audit tools read securityfs, which this image does not mount by itself\n"
    "securityfs /sys/kernel/security securityfs nosuid,nodev,noexec 0 0\n"
)
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
RESOLV = "# QEMU user networking's resolver\nnameserver 10.0.2.3\n"


@dataclass(frozen=True)
class BaseDisk:
    """A cached base disk: what every VM of every pod made from this recipe boots."""

    key: str  # the VM image's tag hash
    directory: Path
    kernel: Path
    initrd: Path
    root: Path  # raw ext4 image, read-only, the qcow2 overlays' backing file
    kernel_version: str


def vm_recipe_files() -> dict[str, bytes]:
    root = resources.files("mason.providers.qemu").joinpath("recipe")
    return {
        p.name: p.read_bytes()
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.is_file() and not p.name.endswith(".pyc")
    }


def vm_image(
    client: docker.DockerClient, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """The VM image's tag: the host image plus the VM layer, built when either changes."""
    host = host_images.host_image(client, progress)
    return host_images.build_recipe(
        client, VM_REPO, vm_recipe_files(), progress, rebuild=rebuild, what="VM image", base=host
    )


def base_disk(
    client: docker.DockerClient, images_dir: Path, progress: Progress = _quiet
) -> BaseDisk:
    """The base disk for the current recipes, made from the VM image if not cached."""
    tag = vm_image(client, progress)
    key = tag.split(":", 1)[1]
    directory = images_dir / key
    found = _cached(directory, key)
    if found:
        return found
    _check_tools()
    images_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    progress(f"making the VM base disk from {tag} (once per recipe change)")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=images_dir))
    try:
        rootfs = work / "rootfs"
        _export(client, tag, rootfs)
        kernel_version = _machine_files(rootfs, work)
        _make_ext4(rootfs, work / "root.img")
        shutil.rmtree(rootfs)
        meta = {"image": tag, "kernel": kernel_version, "made": time.time()}
        (work / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        for name in ("root.img", "vmlinuz", "initrd.img", "meta.json"):
            os.chmod(work / name, 0o444)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(directory)  # a half-made one from an interrupted run
        os.replace(work, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"VM base disk {key} ready ({time.monotonic() - started:.0f}s)")
    found = _cached(directory, key)
    if found is None:  # pragma: no cover - just written
        raise ProviderError(f"the VM base disk {directory} is incomplete")
    return found


def _cached(directory: Path, key: str) -> BaseDisk | None:
    try:
        meta = json.loads((directory / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    parts = {n: directory / n for n in ("vmlinuz", "initrd.img", "root.img")}
    if not all(p.is_file() for p in parts.values()):
        return None
    return BaseDisk(
        key=key,
        directory=directory,
        kernel=parts["vmlinuz"],
        initrd=parts["initrd.img"],
        root=parts["root.img"],
        kernel_version=str(meta.get("kernel", "")),
    )


def _check_tools() -> None:
    for tool, package in (("mke2fs", "e2fsprogs"), ("tar", "tar")):
        if shutil.which(tool) is None:
            raise EnvironmentProblem(
                f"cannot make the VM disk: {tool} is missing",
                hint=f"apt-get install {package}, or run scripts/setup.sh",
            )
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "cannot make the VM disk: unpacking the image keeps file owners, which needs root"
        )


def _export(client: docker.DockerClient, tag: str, rootfs: Path) -> None:
    """Unpack the image's filesystem (owners, modes, capabilities kept) into ``rootfs``."""
    rootfs.mkdir()
    container = client.containers.create(tag, command=["/bin/true"])
    try:
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "-x", "-p", "--numeric-owner", "--xattrs", "-f", "-"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert tar.stdin is not None
        try:
            for chunk in container.export(chunk_size=1 << 20):
                tar.stdin.write(chunk)
        finally:
            tar.stdin.close()
        assert tar.stderr is not None
        err = tar.stderr.read()
        tar.wait()
        if tar.returncode != 0:
            raise ProviderError(f"unpacking {tag} failed: {err.decode(errors='replace').strip()}")
    finally:
        container.remove(force=True)


def _machine_files(rootfs: Path, out: Path) -> str:
    """Write what Docker manages in containers; move the kernel and initramfs out."""
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise ProviderError("the VM image has no kernel in /boot (see the VM recipe)")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    initrd = rootfs / "boot" / f"initrd.img-{version}"
    if not initrd.is_file():
        raise ProviderError(f"the VM image has no initramfs for kernel {version}")
    shutil.copyfile(kernels[-1], out / "vmlinuz")
    shutil.copyfile(initrd, out / "initrd.img")
    (rootfs / ".dockerenv").unlink(missing_ok=True)  # systemd would think it is a container
    for name, text in (("fstab", FSTAB), ("hosts", HOSTS), ("resolv.conf", RESOLV)):
        target = rootfs / "etc" / name
        target.unlink(missing_ok=True)
        target.write_text(text)
        os.chmod(target, 0o644)
    (rootfs / "etc" / "hostname").write_text("localhost\n")
    return version


def _make_ext4(rootfs: Path, image: Path) -> None:
    used = int(
        subprocess.run(
            ["du", "-s", "-B1", "-x", str(rootfs)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )
    size_mib = (used + SLACK_BYTES) // 2**20
    proc = subprocess.run(
        [
            "mke2fs",
            "-q",
            "-F",
            "-t",
            "ext4",
            "-L",
            "mason-root",
            "-d",
            str(rootfs),
            str(image),
            f"{size_mib}M",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ProviderError(f"mke2fs failed: {(proc.stderr or proc.stdout).strip()}")


def prune(images_dir: Path, keep: set[str]) -> list[str]:
    """Remove cached base disks no VM is backed by any more (except ``keep``)."""
    removed = []
    if not images_dir.is_dir():
        return removed
    for entry in images_dir.iterdir():
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
