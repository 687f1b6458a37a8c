"""Build the host image: systemd + sshd + dockerd on Debian 12.

The base is ``debian:bookworm`` when it is present or can be pulled; otherwise
(offline machines, such as these) a ``debootstrap --variant=minbase`` rootfs
imported as ``mason-base:bookworm``. The host image is tagged with a hash of
its recipe and base image id, so it is built once, reused, and rebuilt exactly
when the recipe (or the base) changes.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
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


def recipe_files(*parts: str) -> dict[str, bytes]:
    """The files of a recipe directory in the package (``recipe``, ``sidecars/proxy``, ...)."""
    root = resources.files("mason.providers.docker").joinpath(*parts)
    return {
        p.name: p.read_bytes()
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.is_file() and not p.name.endswith(".pyc")
    }


def recipe_hash(files: dict[str, bytes], base_id: str, salt: str = "") -> str:
    digest = hashlib.sha256(f"{salt}\0{base_id}\0".encode())
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:12]


def _context_tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            # A script (shebang) stays executable: build contexts run theirs directly.
            info.size, info.mode = len(data), 0o755 if data.startswith(b"#!") else 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build_recipe(
    client: docker.DockerClient,
    repo: str,
    files: dict[str, bytes] | Callable[[], dict[str, bytes]],
    progress: Progress = _quiet,
    *,
    rebuild: bool = False,
    what: str = "image",
    base: str | None = None,
    key: dict[str, bytes] | None = None,
    base_arg: str = "BASE",
) -> str:
    """Build ``repo:<hash of recipe and base>`` FROM the base image unless it exists; its tag.

    ``base`` builds on another image (the VM layer is built on the host image).
    ``files`` may be a function that makes the build context, called only when the image
    must be built; ``key`` (the sources it is made from) then stands for it in the hash.
    The base image reaches the Dockerfile as the build argument ``base_arg``.
    """
    if callable(files) and key is None:
        raise ValueError("build_recipe: a context made on demand needs a key")
    base = base or base_image(client, progress)
    base_id = _image_id(client, base) or base
    digest = key if key is not None else files
    tag = f"{repo}:{recipe_hash(digest, base_id, salt=repo)}"  # type: ignore[arg-type]
    if not rebuild and _image_id(client, tag):
        return tag
    progress(f"building {what} {tag} (once per recipe change)")
    step = ""  # the Dockerfile step running, named in a failure
    context = files() if callable(files) else files
    try:
        for chunk in client.api.build(
            fileobj=_context_tar(context),
            custom_context=True,
            tag=tag,
            buildargs={base_arg: base},
            rm=True,
            forcerm=True,
            decode=True,
            labels={"mason.recipe": tag.split(":")[1]},
        ):
            if "error" in chunk:
                at = f" at {step}" if step else ""
                raise ProviderError(f"building {tag} failed{at}: {chunk['error'].strip()}")
            line = chunk.get("stream", "").strip()
            if line.startswith("Step "):
                step = line if len(line) <= 160 else line[:157] + "..."
                progress(line)
    except docker.errors.APIError as exc:
        raise ProviderError(f"building {tag} failed: {exc.explanation or exc}") from exc
    return tag


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
    tag = build_recipe(
        client, HOST_REPO, recipe_files("recipe"), progress, rebuild=rebuild, what="host image"
    )
    client.images.get(tag).tag(HOST_REPO, "latest")
    return tag
