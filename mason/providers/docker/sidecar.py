"""Images mason runs beside tenants' services: the mTLS proxy (HAProxy) and the pod registry
(the test service tests run as a tenant lives in ``tests/sidecars``).

Built like the host image (:mod:`mason.providers.docker.image`): from the Debian
base image, tagged with a hash of the recipe and the base image id, so each is
built once and rebuilt exactly when its recipe changes. Recipes live in
``sidecars/<name>/``. Pods get them from the pod registry (:mod:`mason.operations.images`).
"""

from __future__ import annotations

import docker
import docker.errors

from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as host_images

PROXY = "proxy"
REGISTRY = "registry"  # the pod registry, run on each pod's manager
REPOS = {PROXY: "mason-proxy", REGISTRY: "mason-registry"}


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
