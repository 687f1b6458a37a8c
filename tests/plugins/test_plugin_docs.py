"""Every plugin of the collection renders with ansible-doc by its full name, one page per filter."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pytest

from tests.conftest import REPO, ansible_env

PLUGINS = REPO / "plugins"


def filter_names() -> list[str]:
    names = []
    for path in sorted((PLUGINS / "filter").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"mason_doc_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names += list(module.FilterModule().filters())
    return names


def _doc(kind: str, names: list[str]) -> dict:
    out = subprocess.run(
        ["ansible-doc", "--json", "-t", kind, *names],
        capture_output=True,
        text=True,
        env=ansible_env(),
        check=True,
    ).stdout
    return json.loads(out)


def test_every_filter_has_its_own_page():
    names = filter_names()
    assert len(names) == len(set(names)) >= 9
    docs = _doc("filter", [f"mason.mason.{n}" for n in names])
    for name in names:
        doc = docs[f"mason.mason.{name}"]["doc"]
        assert doc["name"] == name, f"{name} shows the page of {doc['name']}"
        assert doc["short_description"] and docs[f"mason.mason.{name}"]["examples"]


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("inventory", "mason.mason.mason"),
        ("callback", "mason.mason.events"),
        ("lookup", "mason.mason.mason_harden_report"),
        ("module", "mason.mason.mason_write_files"),
    ],
)
def test_other_plugins_render(kind, name):
    assert _doc(kind, [name])[name]["doc"]["description"]


def test_every_plugin_file_is_covered():
    kinds = {p.name for p in PLUGINS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert kinds == {"filter", "inventory", "callback", "lookup", "modules"}, (
        "document the new kind here"
    )
