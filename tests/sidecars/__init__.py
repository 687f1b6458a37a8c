"""mason's test service (``mason-testsvc``): a small HTTP server and client that integration
tests and benchmarks run as a tenant's service. Built like mason's sidecars
(:mod:`mason.providers.docker.sidecar`): once per recipe change, from the Debian base."""

from __future__ import annotations

from pathlib import Path

import docker

from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as host_images

TESTSVC = "testsvc"
REPO = "mason-testsvc"
RECIPE = Path(__file__).resolve().parent / TESTSVC


def recipe_files() -> dict[str, bytes]:
    """The recipe's files by name, as the content hash and the build context take them."""
    return {
        p.name: p.read_bytes()
        for p in sorted(RECIPE.iterdir(), key=lambda p: p.name)
        if p.is_file() and not p.name.endswith(".pyc")
    }


def service_image(
    client: docker.DockerClient, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """The tag of the test service image for its current recipe, building it if needed."""
    return host_images.build_recipe(
        client, REPO, recipe_files(), progress, rebuild=rebuild, what="testsvc image"
    )
