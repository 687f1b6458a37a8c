"""Build the host image: systemd + sshd + dockerd on Debian 12.

The base is ``debian:bookworm`` when it is present or can be pulled; otherwise
(offline machines, such as these) a ``debootstrap --variant=minbase`` rootfs
imported as ``mason-base:bookworm``. The host image is tagged with a hash of
its recipe and base image id, so it is built once, reused, and rebuilt exactly
when the recipe (or the base) changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import docker
import docker.errors

from mason.core.errors import EnvironmentProblem, ProviderError
from mason.providers.base import Progress, _quiet

BASE_REPO, BASE_TAG = "mason-base", "bookworm"
HOST_REPO = "mason-host"
UPSTREAM = "debian:bookworm"
DEBIAN_MIRROR = os.environ.get("MASON_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def _recipe_files() -> dict[str, bytes]:
    root = resources.files("mason.providers.docker") / "recipe"
    return {p.name: p.read_bytes() for p in sorted(root.iterdir(), key=lambda p: p.name)}


def recipe_hash(base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for name, data in _recipe_files().items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:12]


def _image_id(client: docker.DockerClient, ref: str) -> str | None:
    try:
        return client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


def base_image(client: docker.DockerClient, progress: Progress = _quiet) -> str:
    """Return a reference to a Debian 12 base image, making one if needed."""
    ours = f"{BASE_REPO}:{BASE_TAG}"
    if _image_id(client, ours):
        return ours
    if _image_id(client, UPSTREAM):
        return UPSTREAM
    if os.environ.get("MASON_OFFLINE") != "1":
        try:
            progress(f"pulling {UPSTREAM}")
            client.images.pull(UPSTREAM)
            return UPSTREAM
        except docker.errors.APIError as exc:
            progress(f"cannot pull {UPSTREAM} ({exc.explanation or exc}); using debootstrap")
    _debootstrap_import(client, ours, progress)
    return ours


def _debootstrap_import(client: docker.DockerClient, ref: str, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise EnvironmentProblem(
            f"cannot make the base image: {UPSTREAM} cannot be pulled and debootstrap is missing",
            hint="apt-get install debootstrap, or run scripts/setup.sh",
        )
    if os.geteuid() != 0:
        raise EnvironmentProblem("cannot make the base image: debootstrap needs root")
    with tempfile.TemporaryDirectory(prefix="mason-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap bookworm (minbase) from {DEBIAN_MIRROR}, about a minute")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EnvironmentProblem(f"debootstrap failed: {tail[0]}")
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        progress(f"importing the rootfs as {ref}")
        repo, _, tag = ref.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repo, tag=tag)


def host_image(
    client: docker.DockerClient, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """Return the tag of the host image for the current recipe, building it if needed."""
    base = base_image(client, progress)
    base_id = _image_id(client, base) or base
    tag = f"{HOST_REPO}:{recipe_hash(base_id)}"
    if not rebuild and _image_id(client, tag):
        return tag
    progress(f"building host image {tag} (once per recipe change, a few minutes)")
    with tempfile.TemporaryDirectory(prefix="mason-recipe-") as tmp:
        for name, data in _recipe_files().items():
            (Path(tmp) / name).write_bytes(data)
        try:
            for chunk in client.api.build(
                path=tmp,
                tag=tag,
                buildargs={"BASE": base},
                rm=True,
                forcerm=True,
                decode=True,
                labels={"mason.recipe": tag.split(":")[1]},
            ):
                if "error" in chunk:
                    raise ProviderError(f"building {tag} failed: {chunk['error'].strip()}")
                line = chunk.get("stream", "").strip()
                if line.startswith("Step "):
                    progress(line)
        except docker.errors.APIError as exc:
            raise ProviderError(f"building {tag} failed: {exc.explanation or exc}") from exc
    client.images.get(tag).tag(HOST_REPO, "latest")
    return tag
