"""Loading mason's filter files imports no mason module.

Ansible loads every file of a filter_plugins directory in the worker process of each
task, whatever filter the task uses; a mason.core import at the top of one of them cost
every task of every playbook about 0.15 s (a third of the nightly check's time). The
filters import mason.core at their first call instead; these tests hold both halves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILTERS = sorted((REPO / "plugins" / "filter").glob("*.py"))

LOAD = """
import importlib.util, json, sys
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("f", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
names = sorted(module.FilterModule().filters())
print(json.dumps({"names": names, "mason": sorted(m for m in set(sys.modules) - before
                                                   if m.split(".")[0] == "mason")}))
"""


def load(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_there_are_filter_files():
    assert {p.name for p in FILTERS} >= {"mason_deploy.py", "pki.py", "placement.py"}


@pytest.mark.parametrize("path", FILTERS, ids=lambda p: p.name)
def test_loading_a_filter_file_imports_no_mason_module(path):
    loaded = load(path)
    assert loaded["names"], f"{path.name} defines no filter"
    assert loaded["mason"] == [], f"{path.name} imports {loaded['mason']} when loaded"


def test_the_first_call_imports_what_it_needs():
    """Each filter still reaches mason.core: one call per file, real inputs."""
    call = """
import importlib.util, sys
def load(name):
    spec = importlib.util.spec_from_file_location(name, sys.argv[1] + "/" + name + ".py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()
print(load("mason_deploy")["mason_fill_secrets"]({"A": "x"}, {}))
print(load("placement")["mason_cpu"]("500m"))
print(load("mason_release")["mason_release_problems"]([]))
print(load("pki")["mason_pki_authorize"]([], {}, "p", "h1"))
print("mason.core.pki" in sys.modules, "mason.core.release" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", call, str(REPO / "plugins" / "filter")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "{'A': 'x'}",
        "500",
        "[]",
        "{'requests': [], 'refused': []}",
        "True True",
    ]
