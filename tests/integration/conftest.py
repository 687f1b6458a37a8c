"""Integration fixtures: real pods on the real Docker engine, always cleaned up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import unique_pod_name

MASON = [sys.executable, "-m", "mason"]


def mason(
    *args: str, project: Path, check: bool = True, timeout: float = 600, **kw
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    proc = subprocess.run(
        [*MASON, "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"mason {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure means no engine
        pytest.fail(f"integration tests need a running Docker engine: {exc}")
    return client


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def make_pod(engine, tmp_path_factory) -> Iterator[Callable[..., dict]]:
    """make_pod(hosts=3, *extra_args) -> the pod's JSON; every pod is destroyed afterwards."""
    made: list[tuple[str, Path]] = []

    def _make(
        hosts: int = 3, *extra: str, name: str | None = None, project: Path | None = None
    ) -> dict:
        name = name or unique_pod_name()
        project = project or tmp_path_factory.mktemp("proj")
        made.append((name, project))
        proc = mason(
            "--json", "pod", "create", name, "--hosts", str(hosts), *extra, project=project
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    yield _make
    for name, project in made:
        mason("pod", "destroy", name, "--yes", project=project, check=False)
