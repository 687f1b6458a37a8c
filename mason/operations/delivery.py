"""The images a deploy needs, built on the controller (mason.operations.images pushes them).

Built from mason's Debian base image (no other registry is reachable): catalog
entries from their recipe, an app's ``build:`` directories, the proxy sidecar.
Each is tagged with a hash of its recipe, so an unchanged recipe is not rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mason.core.catalog import CatalogEntry
from mason.core.errors import InvalidInput, NotFound
from mason.core.manifest.model import App
from mason.core.proxy import ADDONS_APP
from mason.operations.session import Session
from mason.providers.docker import image as host_images
from mason.providers.docker.provider import DockerProvider
from mason.providers.docker.sidecar import PROXY, sidecar_image

PROXY_KEY = "mason/proxy"  # the sidecar image's key beside the services'
MAX_CONTEXT_FILES = 2000


def recipe_dir_files(directory: Path, where: str) -> dict[str, bytes]:
    """Every file under ``directory`` (the build context), by relative path."""
    if not directory.is_dir():
        raise NotFound(f"{where}: no such directory: {directory}")
    if not (directory / "Dockerfile").is_file():
        raise InvalidInput(f"{where}: {directory} has no Dockerfile")
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[str(path.relative_to(directory))] = path.read_bytes()
            if len(files) > MAX_CONTEXT_FILES:
                raise InvalidInput(f"{where}: more than {MAX_CONTEXT_FILES} files in {directory}")
    return files


def build_images(
    session: Session, app: App, manifest: Path, entries: Mapping[str, CatalogEntry]
) -> dict[str, str]:
    """Local tags of every image ``app`` needs: its services, its addons, the proxy."""
    client = DockerProvider().client
    tags: dict[str, str] = {}

    def build(key: str, repo: str, directory: Path, where: str) -> None:
        tags[key] = host_images.build_recipe(
            client,
            repo,
            recipe_dir_files(directory, where),
            session.say,
            what=f"image of {key}",
        )

    for svc in app.services.values():
        where = f"{app.source or manifest}: services.{svc.name}"
        if svc.build:
            build(svc.name, f"mason-app-{app.name}-{svc.name}", manifest.parent / svc.build, where)
        elif svc.catalog:
            build(svc.name, f"mason-catalog-{svc.catalog}", entries[svc.catalog].path, where)
        elif svc.image:
            try:
                client.images.get(svc.image)
            except Exception as exc:
                raise NotFound(
                    f"{where}.image: {svc.image} is not on this machine's engine and no registry "
                    "but the pod's is reachable (build it, or use build:)"
                ) from exc
            tags[svc.name] = svc.image
    for name in app.addons:
        build(f"{ADDONS_APP}/{name}", f"mason-catalog-{name}", entries[name].path, f"addon {name}")
    tags[PROXY_KEY] = sidecar_image(client, PROXY, session.say)
    return tags
