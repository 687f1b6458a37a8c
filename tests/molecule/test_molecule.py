"""Molecule scenarios, run as a user would: `molecule test -s <scenario>`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.molecule

SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    molecule = Path(sys.executable).parent / "molecule"
    if not molecule.exists():
        molecule = Path(shutil.which("molecule") or "molecule")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run(
        [str(molecule), "test", "-s", scenario],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, _failures(proc.stdout + proc.stderr)
    # Idempotence ran (a second converge that changes anything fails it).
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"idempotence: Executed: Successful", plain), plain[-3000:]


def _failures(output: str) -> str:
    """The failed tasks of a molecule run (its output is long), else its tail."""
    lines = output.splitlines()
    picked = [
        "\n".join(lines[max(0, i - 3) : i + 12])
        for i, line in enumerate(lines)
        if "fatal:" in line or "FAILED!" in line
    ]
    return "\n...\n".join(picked[:5]) or output[-6000:]
