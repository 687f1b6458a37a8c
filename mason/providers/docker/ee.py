"""The execution environment image for AWX / Ansible Tower, built here from mason's base.

``execution-environment.yml`` (ansible-builder, schema 3) describes it; ansible-builder
turns it into a build context, which :func:`mason.providers.docker.image.build_recipe`
builds FROM mason's Debian base like every other image of mason. No registry is
needed: the context carries wheels of mason and of every dependency (pinned to the
versions installed next to mason) and the collection tarball of this checkout.

Two layers, so that a change to mason's code or content does not rebuild everything:
``mason-ee-deps:<hash>`` is ansible-builder's image (Python, ansible-core, ansible-runner,
the `ansible` package, mason's dependencies), keyed by the definition, the collection's
metadata and the pinned versions (minutes to build); ``mason-ee:<hash>`` adds this
checkout's mason wheel and collection on top of it (seconds), keyed by their sources and
the deps image. Each is built once and rebuilt exactly when its sources change.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
import yaml

from mason.core.errors import EnvironmentProblem, NotFound, ProviderError
from mason.paths import content_root
from mason.providers.base import Progress, _quiet
from mason.providers.docker import image as images

EE_REPO = "mason-ee"
DEPS_REPO = "mason-ee-deps"
EE_FILE = "execution-environment.yml"
# What the deps image's hash covers besides the definition and the pinned versions.
DEPS_SOURCES = ("galaxy.yml", "pyproject.toml", "meta", "collections")
# What the top layer's hash covers: the collection's content and the package.
SOURCES = ("galaxy.yml", "pyproject.toml", "meta", "playbooks", "plugins", "roles", "mason")
TOP_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
USER root
COPY wheels/ /tmp/mason-wheels/
COPY collections/ /tmp/mason-collections/
RUN /opt/mason-ee/bin/python3 -m pip install -q --no-index --no-deps --force-reinstall \\
        /tmp/mason-wheels/mason-*.whl \\
    && ansible-galaxy collection install --offline --no-deps --force \\
        -p /usr/share/ansible/collections /tmp/mason-collections/mason-mason-*.tar.gz \\
    && rm -rf /tmp/mason-wheels /tmp/mason-collections
USER 1000
"""
# Installed in the build stages by ansible-builder's own scripts.
BUILD_TOOLS = ("bindep", "PyYAML", "packaging", "dumb-init==1.2.5")


def _bin(tool: str) -> str:
    path = Path(sys.executable).parent / tool
    found = str(path) if path.exists() else shutil.which(tool)
    if not found:
        raise EnvironmentProblem(
            f"{tool} not found", hint="pip install ansible-builder (MASON_EXTRAS=test setup.sh)"
        )
    return found


def pinned_versions() -> str:
    """Constraints: the versions of everything installed next to mason (not mason itself)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in proc.stdout.splitlines() if line and not line.startswith("mason")]
    return "\n".join(sorted(lines)) + "\n"


def sources(root: Path, names: tuple[str, ...], pins: str = "") -> dict[str, bytes]:
    """The files an image is made from, for its tag's hash."""
    files = {EE_FILE: (root / EE_FILE).read_bytes(), "constraints.txt": pins.encode()}
    for name in names:
        path = root / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for p in candidates:
            skip = "__pycache__" in p.parts or p.suffix == ".pyc" or "collections" in p.parts
            if p.is_file() and not skip:
                files[str(p.relative_to(root))] = p.read_bytes()
    return files


def _run(argv: list[str], what: str, cwd: Path) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ProviderError(f"{what} failed: {' / '.join(tail) or 'no output'}")


def build_context(root: Path, pins: str, progress: Progress = _quiet) -> dict[str, bytes]:
    """ansible-builder's build context for the definition, with the files it names."""
    with tempfile.TemporaryDirectory(prefix="mason-ee-") as tmp:
        work = Path(tmp)
        ee = work / "build" / "ee"
        (ee / "collections").mkdir(parents=True)
        shutil.copy(root / EE_FILE, work / EE_FILE)
        (work / "constraints.txt").write_text(pins)
        progress("building the collection mason.mason")
        _run(
            [_bin("ansible-galaxy"), "collection", "build",
             "--output-path", str(ee / "collections"), str(root)],
            "ansible-galaxy collection build",
            work,
        )  # fmt: skip
        tarball = next((ee / "collections").glob("mason-mason-*.tar.gz"))
        requirements = {
            "collections": [{"name": f"/build/collections/{tarball.name}", "type": "file"}]
        }
        (ee / "requirements.yml").write_text(yaml.safe_dump(requirements))
        progress("collecting wheels of mason and its dependencies (pinned to this environment)")
        _run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(ee / "wheels"),
             "-c", str(work / "constraints.txt"), str(root), *BUILD_TOOLS],
            "pip wheel",
            work,
        )  # fmt: skip
        _run(
            [_bin("ansible-builder"), "create", "-f", EE_FILE, "-c", "context",
             "--output-filename", "Dockerfile"],
            "ansible-builder create",
            work,
        )  # fmt: skip
        context = work / "context"
        return {
            str(p.relative_to(context)): p.read_bytes()
            for p in sorted(context.rglob("*"))
            if p.is_file()
        }


def top_context(root: Path) -> dict[str, bytes]:
    """This checkout's mason wheel and collection tarball, over the deps image."""
    with tempfile.TemporaryDirectory(prefix="mason-ee-top-") as tmp:
        work = Path(tmp)
        _run(
            [_bin("ansible-galaxy"), "collection", "build", "--output-path",
             str(work / "collections"), str(root)],
            "ansible-galaxy collection build",
            work,
        )  # fmt: skip
        _run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir",
             str(work / "wheels"), str(root)],
            "pip wheel",
            work,
        )  # fmt: skip
        files = {"Dockerfile": TOP_DOCKERFILE.encode()}
        for p in sorted(work.rglob("*")):
            if p.is_file() and p.parent.name in ("wheels", "collections"):
                files[str(p.relative_to(work))] = p.read_bytes()
        return files


def ee_image(
    client: docker.DockerClient, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """Return the tag of the execution environment image, building what is needed."""
    root = content_root()
    if not (root / EE_FILE).is_file():
        raise NotFound(f"{root / EE_FILE} does not exist (build the EE from a mason checkout)")
    pins = pinned_versions()
    # Some build steps (pip installing ansible) print nothing for minutes.
    client = docker.from_env(timeout=1800)
    deps = images.build_recipe(
        client,
        DEPS_REPO,
        lambda: build_context(root, pins, progress),
        progress,
        rebuild=rebuild,
        what="execution environment dependencies",
        key=sources(root, DEPS_SOURCES, pins),
        base_arg="EE_BASE_IMAGE",
    )
    tag = images.build_recipe(
        client,
        EE_REPO,
        lambda: top_context(root),
        progress,
        rebuild=rebuild,
        what="execution environment",
        key=sources(root, SOURCES),
        base=deps,
    )
    client.images.get(tag).tag(EE_REPO, "latest")
    return tag
