"""The repository as the collection mason.mason: it builds, installs offline, and its
playbooks and plugins resolve by full name without the checkout (no engine needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

import mason
from tests.conftest import REPO

BIN = Path(sys.executable).parent
PLAYBOOKS = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))
# ansible-test sanity tests that need nothing downloaded (docs/awx.md says why the
# others cannot run on these machines).
OFFLINE_SANITY = [
    "action-plugin-docs", "changelog", "compile", "empty-init", "ignores", "line-endings",
    "no-assert", "no-get-exception", "no-illegal-filenames", "no-smart-quotes",
    "replace-urlopen", "shebang", "shellcheck", "symlinks", "use-argspec-type-path",
    "use-compat-six",
]  # fmt: skip


def _env() -> dict[str, str]:
    """No ansible.cfg of the checkout: an empty one (Ansible refuses /dev/null)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    empty = Path(tempfile.gettempdir()) / "mason-empty-ansible.cfg"
    empty.write_text("")
    return {**env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "ANSIBLE_CONFIG": str(empty)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("coll")
    run = dict(capture_output=True, text=True, env=_env(), cwd=work, check=True)
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--output-path", work, REPO], **run
    )
    tarball = next(work.glob("mason-mason-*.tar.gz"))
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", work / "c", tarball],
        **run,
    )
    return work / "c"


def test_versions_agree():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"], galaxy["version"]) == (
        "mason",
        "mason",
        mason.__version__,
    )
    assert yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"]
    # Dashes are not valid playbook names in a collection.
    assert all(name.replace("_", "").isalnum() for name in PLAYBOOKS)


def test_every_playbook_resolves_by_full_name(installed, tmp_path):
    env = {**_env(), "ANSIBLE_COLLECTIONS_PATH": str(installed)}
    for name in PLAYBOOKS:
        proc = subprocess.run(
            [BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", f"mason.mason.{name}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, (name, proc.stderr)


def test_ansible_test_sanity_offline(installed):
    root = installed / "ansible_collections" / "mason" / "mason"
    proc = subprocess.run(
        [
            BIN / "ansible-test",
            "sanity",
            "--python",
            "3.11",
            *[f"--test={t}" for t in OFFLINE_SANITY],
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=root,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
