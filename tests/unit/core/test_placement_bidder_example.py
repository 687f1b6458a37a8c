"""The example bidder package, pip-installed on its own, is picked up by the engine.

Offline: ``--no-index --no-deps --no-build-isolation`` builds with the venv's own
setuptools and wheel. Installed into a ``--target`` directory that only the
subprocesses below see, so the rest of the suite keeps its default bidders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "bidder-example"

PROBE = """
import json
from mason.core.placement import HostSpec, ServiceRequest, installed_bidders, plan
hosts = [
    HostSpec("h1", "a", 1000, 2**30, labels={"drain": "true"}),
    HostSpec("h2", "a", 1000, 2**30),
]
result = plan(hosts, [ServiceRequest("app", "web", 2, 100, 2**20)], explain=True)
print(json.dumps({
    "installed": installed_bidders(),
    "hosts": sorted({p.host for p in result.placements}),
    "verdicts": [v.bidder for v in result.explanations[0].verdicts],
}))
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bidder")
    source = work / "src"
    # build from a copy: setuptools leaves build/ and *.egg-info beside the sources
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return target


def _env(target: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(REPO)])}


def test_engine_loads_the_installed_bidder(target: Path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=_env(target),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert data["installed"] == {"drain": "mason_bidder_drain:Drain"}
    assert data["hosts"] == ["h2"]  # the drained host got nothing
    assert "drain" in data["verdicts"]


def test_not_installed_means_not_loaded():
    from mason.core.placement import installed_bidders

    assert "drain" not in installed_bidders()


def test_example_package_own_tests_pass(target: Path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(EXAMPLE),
            str(EXAMPLE / "tests"),
        ],
        env=_env(target),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLE,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed" in out.stdout
