"""Sidecar images loaded straight into a local pod's host engines (``docker save | docker
load``), for tests that run sidecars without the pod registry."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from mason.core.errors import ProviderError
from mason.providers.base import Progress, _quiet


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
