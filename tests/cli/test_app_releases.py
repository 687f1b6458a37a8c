"""mason app releases: the ledger shown and verified (the playbook run is replaced by the
files it would hand back; tests/integration/test_ledger.py runs it on a real pod)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.core import release
from mason.operations import releases as release_ops
from mason.operations.runs import stats_data

FIELDS = {
    "app": "shop",
    "kind": "deploy",
    "manifest_hash": "a" * 64,
    "placement": {"web": [{"replica": 1, "host": "demo-h1", "zone": "zone-a"}]},
    "who": "alice@laptop",
    "when": "2026-12-03T07:00:00Z",
    "run_id": "run-1",
}


def ledger_files() -> list[dict]:
    one = release.make_record(None, images={"web": "w@sha256:" + "1" * 64}, **FIELDS)
    two = release.make_record(
        one,
        images={"web": "w@sha256:" + "2" * 64},
        **{**FIELDS, "kind": "rollback", "who": "bob@ci", "note": "back to 1"},
    )
    return [
        {"name": r.file_name, "content": json.dumps(r.to_dict()), "mode": "0600", "uid": 0}
        for r in (one, two)
    ]


@pytest.fixture
def files(tmp_path, monkeypatch) -> list[dict]:
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("MASON_JSON", raising=False)
    found = ledger_files()

    def fake_read(session, pod, app, provider_name):
        assert (pod, app) == ("demo", "shop")
        return "demo-h1", f"demo-h1:/etc/mason/releases/{app}", found

    monkeypatch.setattr(release_ops, "_read_files", fake_read)
    return found


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_releases_table_and_verdict(files):
    result = run("app", "releases", "shop", "--pod", "demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "release",
        "kind",
        "when",
        "who",
        "images",
        "changed",
        "hash",
        "note",
    ]
    assert lines[1].split()[:5] == ["1", "deploy", "2026-12-03T07:00:00Z", "alice@laptop", "web"]
    assert lines[2].split()[:5] == ["2", "rollback", "2026-12-03T07:00:00Z", "bob@ci", "web"]
    assert lines[2].endswith("back to 1")
    assert lines[-1] == (
        "ledger of shop on pod demo: 2 release(s), verified (every record intact and chained)"
    )


def test_releases_json(files):
    result = run("app", "releases", "shop", "--pod", "demo", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verified"] is True and data["manager"] == "demo-h1"
    assert [r["kind"] for r in data["releases"]] == ["deploy", "rollback"]
    assert data["releases"][1]["changes"][0]["image"]["before"] == "w@sha256:" + "1" * 64


def test_an_edited_record_fails_with_exit_8(files):
    record = json.loads(files[0]["content"])
    files[0]["content"] = json.dumps({**record, "who": "mallory@elsewhere"})
    files[1]["mode"] = "0644"
    result = run("app", "releases", "shop", "--pod", "demo")
    assert result.exit_code == 8
    errors = result.stderr.strip().splitlines()
    assert errors[-1].startswith(
        "mason: error: ledger of shop on pod demo fails verification: release 1: edited "
        "(its content no longer matches its hash "
    )
    assert errors[-1].endswith(" (+1 more, above)")
    assert errors[0] == "demo-h1:/etc/mason/releases/shop/000002.json: mode 0644, expected 0600"
    as_json = run("--json", "app", "releases", "shop", "--pod", "demo")
    assert as_json.exit_code == 8
    assert json.loads(as_json.stdout.splitlines()[0])["verified"] is False


def test_an_unreadable_record_is_a_problem_and_a_gap(files):
    files[0]["content"] = "{"
    result = run("app", "releases", "shop", "--pod", "demo")
    assert result.exit_code == 8
    assert "000001.json: not a JSON release record" in result.stderr.splitlines()[-1]
    assert "release(s) missing: 1" in result.stderr
    with pytest.raises(release.InvalidInput, match=r"000001\.json: not a JSON release record"):
        release_ops.read(None, "demo", "shop", None)


def test_no_record_yet(files):
    files.clear()
    result = run("app", "releases", "shop", "--pod", "demo")
    assert result.exit_code == 0
    assert result.stdout == "app shop has no recorded release on pod demo\n"


def test_bad_app_name_is_one_line(files):
    result = run("app", "releases", "Shop!", "--pod", "demo")
    assert result.exit_code == 3
    assert result.stderr.startswith("mason: error: invalid app name 'Shop!'")


def test_stats_data_reads_set_stats_from_the_last_stats_event():
    events = [
        {"event": "runner_on_ok", "event_data": {}},
        {"event": "playbook_on_stats", "event_data": {"artifact_data": {"k": [1]}}},
    ]
    assert stats_data(SimpleNamespace(events=lambda: events)) == {"k": [1]}
    assert stats_data(SimpleNamespace(events=lambda: events[:1])) == {}


def test_ledger_vars():
    got = release_ops.ledger_vars("shop", "run-9", force_unlock=True, who="me@box")
    assert got == {
        "app_ledger_app": "shop",
        "app_ledger_who": "me@box",
        "app_ledger_run_id": "run-9",
        "app_ledger_force_unlock": True,
    }
    assert "@" in release_ops.ledger_vars("shop", "r")["app_ledger_who"]
    first, second = release_ops.new_run_id(), release_ops.new_run_id()
    assert first != second and len(first) == len("20261203T072040-3f2a9c")
