"""Images that run next to tenants' services: the mTLS proxy (HAProxy) and mason's test service.

Built like the host image (:mod:`mason.providers.docker.image`): from the Debian
base image, tagged with a hash of the recipe and the base image id, so each is
built once and rebuilt exactly when its recipe changes. Recipes live in
``sidecars/<name>/``. A local pod's hosts have their own engines: :func:`load_into_hosts`
copies an image in with ``docker save | docker load`` when a host lacks it.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from collections.abc import Iterable
from importlib import resources

import docker
import docker.errors

from mason.core.errors import ProviderError
from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as host_images

PROXY = "proxy"
TESTSVC = "testsvc"
REPOS = {PROXY: "mason-proxy", TESTSVC: "mason-testsvc"}


def recipe_files(name: str) -> dict[str, bytes]:
    root = resources.files("mason.providers.docker") / "sidecars" / name
    return {
        p.name: p.read_bytes()
        for p in sorted(root.iterdir(), key=lambda p: p.name)
        if p.is_file() and not p.name.endswith(".pyc")
    }


def recipe_hash(name: str, base_id: str) -> str:
    digest = hashlib.sha256(f"{name}\0{base_id}\0".encode())
    for fname, data in recipe_files(name).items():
        digest.update(fname.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:12]


def _context_tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for fname, data in files.items():
            info = tarfile.TarInfo(fname)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def sidecar_image(
    client: docker.DockerClient, name: str, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """Return the tag of sidecar image ``name`` for its current recipe, building it if needed."""
    if name not in REPOS:
        raise ValueError(f"unknown sidecar image {name!r}: expected one of {sorted(REPOS)}")
    base = host_images.base_image(client, progress)
    base_id = host_images._image_id(client, base) or base
    tag = f"{REPOS[name]}:{recipe_hash(name, base_id)}"
    if not rebuild and host_images._image_id(client, tag):
        return tag
    progress(f"building {tag} (once per recipe change, about a minute)")
    try:
        for chunk in client.api.build(
            fileobj=_context_tar(recipe_files(name)),
            custom_context=True,
            tag=tag,
            buildargs={"BASE": base},
            rm=True,
            forcerm=True,
            decode=True,
            labels={"mason.recipe": tag.split(":")[1]},
        ):
            if "error" in chunk:
                raise ProviderError(f"building {tag} failed: {chunk['error'].strip()}")
    except docker.errors.APIError as exc:
        raise ProviderError(f"building {tag} failed: {exc.explanation or exc}") from exc
    return tag


def host_has_image(container: str, image: str) -> bool:
    proc = subprocess.run(
        ["docker", "exec", container, "docker", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def load_into_hosts(
    containers: Iterable[str], images: Iterable[str], progress: Progress = _quiet
) -> list[tuple[str, str]]:
    """Copy each image into each host container's engine that lacks it; return what was loaded."""
    loaded = []
    for container in containers:
        for image in images:
            if host_has_image(container, image):
                continue
            progress(f"loading {image} into {container}")
            save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
            load = subprocess.run(
                ["docker", "exec", "-i", container, "docker", "load", "-q"],
                stdin=save.stdout,
                capture_output=True,
                text=True,
                check=False,
            )
            if save.stdout is not None:
                save.stdout.close()
            save.wait()
            if save.returncode != 0 or load.returncode != 0:
                raise ProviderError(
                    f"cannot load {image} into {container}: "
                    + (load.stderr.strip() or "docker save failed")
                )
            loaded.append((container, image))
    return loaded
