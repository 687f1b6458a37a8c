"""Images that run next to tenants' services: the mTLS proxy (HAProxy) and mason's test service.

Built like the host image (:mod:`mason.providers.docker.image`): from the Debian
base image, tagged with a hash of the recipe and the base image id, so each is
built once and rebuilt exactly when its recipe changes. Recipes live in
``sidecars/<name>/``. A local pod's hosts have their own engines: :func:`load_into_hosts`
copies an image in with ``docker save | docker load`` when a host lacks it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

import docker
import docker.errors

from mason.core.errors import ProviderError
from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as host_images

PROXY = "proxy"
TESTSVC = "testsvc"
REPOS = {PROXY: "mason-proxy", TESTSVC: "mason-testsvc"}


def sidecar_image(
    client: docker.DockerClient, name: str, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """Return the tag of sidecar image ``name`` for its current recipe, building it if needed."""
    if name not in REPOS:
        raise ValueError(f"unknown sidecar image {name!r}: expected one of {sorted(REPOS)}")
    return host_images.build_recipe(
        client,
        REPOS[name],
        host_images.recipe_files("sidecars", name),
        progress,
        rebuild=rebuild,
        what=f"{name} image",
    )


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
