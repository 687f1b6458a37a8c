"""The mason_release filters: loaded from their file, over the ledger's files as read."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from mason.core import release

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "filter" / "mason_release.py"
FIELDS = {
    "app": "shop",
    "kind": "deploy",
    "manifest_hash": "a" * 64,
    "images": {"web": "reg/web@sha256:" + "b" * 64},
    "placement": {"web": [{"replica": 1, "host": "p-h1", "zone": "zone-a"}]},
    "who": "alice@laptop",
    "run_id": "run-1",
}


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("mason_filter_release", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_file(record: dict, name: str | None = None) -> dict:
    return {
        "name": name or release.file_name(record["number"]),
        "content": json.dumps(record, indent=2),
        "mode": "0600",
        "uid": 0,
    }


def test_documentation_is_yaml(plugin):
    # one page per filter, beside the plugin (ansible-doc renders them: test_plugin_docs)
    for name in plugin.FilterModule().filters():
        page = yaml.safe_load((REPO / "plugins" / "filter" / f"{name}.yml").read_text())
        assert page["DOCUMENTATION"]["name"] == name and page["EXAMPLES"] and page["RETURN"]
    assert set(plugin.FilterModule().filters()) == {
        "mason_release_next",
        "mason_release_problems",
        "mason_release_records",
    }


def test_next_chains_onto_the_newest_file(plugin):
    first = plugin.mason_release_next([], FIELDS)
    assert (first["number"], first["previous"]) == (1, "")
    second = plugin.mason_release_next([as_file(first)], {**FIELDS, "run_id": "run-2"})
    assert (second["number"], second["previous"]) == (2, first["hash"])
    third = plugin.mason_release_next([as_file(second), as_file(first)], FIELDS)
    assert (third["number"], third["previous"]) == (3, second["hash"])
    files = [as_file(r) for r in (first, second, third)]
    assert plugin.mason_release_problems(files) == []
    assert [r["number"] for r in plugin.mason_release_records(files)] == [1, 2, 3]


def test_an_unreadable_newest_file_stops_the_next_record(plugin):
    first = plugin.mason_release_next([], FIELDS)
    broken = {"name": "000002.json", "content": "{not json", "mode": "0600", "uid": 0}
    with pytest.raises(
        AnsibleFilterError, match=r"^mason release ledger: 000002\.json: not a JSON "
    ):
        plugin.mason_release_next([as_file(first), broken], FIELDS)
    with pytest.raises(AnsibleFilterError, match=r"000002\.json: not a JSON release record"):
        plugin.mason_release_records([as_file(first), broken])
    moved = as_file(first, "000005.json")
    with pytest.raises(AnsibleFilterError, match=r"000005\.json: holds release 1 \(its file is"):
        plugin.mason_release_next([moved], FIELDS)


def test_bad_fields_are_one_line(plugin):
    with pytest.raises(AnsibleFilterError, match=r"^mason release ledger: release record: kind: "):
        plugin.mason_release_next([], {**FIELDS, "kind": "yolo"})


def test_problems_name_edits_and_loose_modes(plugin):
    first = plugin.mason_release_next([], FIELDS)
    second = plugin.mason_release_next([as_file(first)], FIELDS)
    edited = {**first, "who": "mallory@elsewhere"}
    loose = {**as_file(second), "mode": "0644", "uid": 1000}
    assert plugin.mason_release_problems([as_file(edited), loose]) == [
        f"release 1: edited (its content no longer matches its hash {first['hash'][:12]})",
        "000002.json: mode 0644, expected 0600",
        "000002.json: owned by uid 1000, expected root",
    ]
