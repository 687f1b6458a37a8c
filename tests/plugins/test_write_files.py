"""mason_write_files (plugins/modules): the hardening's files in one module run, with
copy's semantics: check mode writes nothing, a second run changes nothing, a mode
changed by hand is put back, and each file names its own controls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def run(tmp: Path, *extra: str) -> dict:
    files = [
        {"dest": str(tmp / "a.conf"), "content": "x = 1\n", "mode": "0600",
         "mason_control": ["MSN-OS-01"]},
        {"dest": str(tmp / "b.conf"), "content": "y = 2\n", "mode": "0644"},
    ]  # fmt: skip
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"mason.mason.mason_write_files": {"files": files}, "register": "out"},
                {"ansible.builtin.copy": {"content": "{{ out | to_json }}",
                                          "dest": str(tmp / "out.json")},
                 "check_mode": False},
            ],
        }
    ]  # fmt: skip
    (tmp / "pb.yml").write_text(yaml.safe_dump(play))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    proc = subprocess.run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(tmp / "pb.yml"), *extra],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp / "out.json").read_text())


def test_check_write_again_and_a_mode_put_back(tmp_path):
    out = run(tmp_path, "--check")
    assert out["changed"] and not (tmp_path / "a.conf").exists()
    assert [r["item"]["mason_control"] for r in out["results"]] == [["MSN-OS-01"], []]
    out = run(tmp_path)
    assert out["changed"] and (tmp_path / "a.conf").read_text() == "x = 1\n"
    assert oct((tmp_path / "a.conf").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "b.conf").stat().st_mode & 0o777) == "0o644"
    assert run(tmp_path)["changed"] is False
    (tmp_path / "a.conf").chmod(0o644)
    out = run(tmp_path, "--diff")
    assert out["written"] == [str(tmp_path / "a.conf")]
    assert oct((tmp_path / "a.conf").stat().st_mode & 0o777) == "0o600"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mason-")]
