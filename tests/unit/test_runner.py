"""The runner against a real ansible-runner and ansible-playbook (local connection)."""

from pathlib import Path

import pytest

from mason import runner
from mason.core.errors import NotFound

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "content"


@pytest.fixture(autouse=True)
def fixture_content(monkeypatch):
    monkeypatch.setenv("MASON_CONTENT_DIR", str(FIXTURES))


def run(tmp_path, playbook, **kw):
    events = []
    result = runner.run_playbook(
        playbook,
        project_dir=tmp_path,
        inventory=str(FIXTURES / "inventory.yml"),
        event_handler=events.append,
        **kw,
    )
    return result, events


def test_successful_run_streams_events_and_counts_per_host(tmp_path):
    marker = tmp_path / "markers"
    marker.mkdir()
    result, events = run(tmp_path, "ok", extravars={"marker_dir": str(marker)})
    assert result.ok, result.to_dict()
    assert sorted(p.name for p in marker.iterdir()) == ["alpha", "beta"]
    assert {h: (s.ok, s.changed, s.failed) for h, s in result.stats.items()} == {
        "alpha": (2, 1, 0),
        "beta": (2, 1, 0),
    }
    kinds = [e["event"] for e in events]
    assert "playbook_on_task_start" in kinds and "playbook_on_stats" in kinds
    assert result.artifact_dir.is_dir()
    assert result.artifact_dir.is_relative_to(tmp_path / ".mason" / "runs")
    # second run: idempotent, nothing changed
    again, _ = run(tmp_path, "ok", extravars={"marker_dir": str(marker)})
    assert again.ok and again.changed == 0


def test_failure_summary_names_host_task_and_message(tmp_path):
    result, _ = run(tmp_path, "fail")
    assert not result.ok
    assert [(f.host, f.task, f.message) for f in result.failures] == [
        ("beta", "Fixture | fail on beta only", "beta is broken on purpose")
    ]
    assert result.stats["alpha"].failed == 0
    assert (result.stats["alpha"].ok, result.stats["alpha"].skipped) == (1, 1)


def test_runs_keep_no_environment_or_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-written")
    marker = tmp_path / "m"
    marker.mkdir()
    result, _ = run(tmp_path, "ok", extravars={"marker_dir": str(marker)})
    assert result.ok
    run_dir = result.artifact_dir.parent.parent
    assert not (run_dir / "env" / "envvars").exists()
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"s3cr3t-never-written" not in path.read_bytes(), path


def test_only_the_newest_runs_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "KEEP_RUNS", 2)
    marker = tmp_path / "m"
    marker.mkdir()
    for _ in range(3):
        run(tmp_path, "ok", extravars={"marker_dir": str(marker)})
    assert len(list((tmp_path / ".mason" / "runs").iterdir())) == 2


def test_unknown_playbook(tmp_path):
    with pytest.raises(NotFound, match=r"playbook .*nope\.yml does not exist"):
        runner.run_playbook("nope", project_dir=tmp_path)


def test_rescued_failures_count_as_ansible_counts_them(tmp_path):
    # The recap is Ansible's own: a failure that a rescue handled is "rescued", not
    # "failed", and only the failure that stopped a host is reported.
    result, events = run(tmp_path, "rescued")
    assert not result.ok
    failed_events = [e for e in events if e["event"] == "runner_on_failed"]
    assert len(failed_events) == 3  # two rescued, one real: the events alone would say 3
    assert {h: (s.failed, s.rescued) for h, s in result.stats.items()} == {
        "alpha": (0, 1),
        "beta": (1, 1),
    }
    assert [(f.host, f.message) for f in result.failures] == [("beta", "beta fails for real")]
    assert [e["event"] for e in result.events()][-1] == "playbook_on_stats"


def test_a_run_ansible_refuses_says_why(tmp_path):
    result, _ = run(tmp_path, "broken")
    assert not result.ok and result.failures == []
    assert "no_such_role_anywhere" in result.error, result.error
