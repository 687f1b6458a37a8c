"""``mason harden report``: a job's events (AWX export, JSON lines, runner artifacts) judged
as ``mason harden`` judges its runs. The real AWX-shaped run is tests/integration/test_awx.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.core.controls import load_catalogue
from mason.operations.harden import JUDGE_TASK, VERDICT_TASK

SSH_TASK = "SSH config | MSN-SSH-03 | root cannot log in"


def ev(counter, event, host, task, **res):
    return {
        "counter": counter,
        "event": event,
        "event_data": {"host": host, "task": task, "res": res},
    }


def job(mode="check", drift=True):
    events = [ev(1, "runner_on_ok", "demo-h1", SSH_TASK, changed=drift)]
    events.append(
        ev(
            3,
            "runner_on_ok",
            "demo-h1",
            JUDGE_TASK,
            ansible_facts={"mason_harden_report": {"mode": mode}},
        )
    )
    if drift:
        events.append(ev(4, "runner_on_failed", "demo-h1", VERDICT_TASK + " (x)", msg="drift"))
    return events


def invoke(*args):
    return CliRunner().invoke(main, ["harden", "report", *map(str, args)])


@pytest.mark.parametrize("shape", ["awx", "list", "lines", "artifacts"])
def test_drift_exits_8_whatever_the_shape(tmp_path, shape):
    events = job()
    if shape == "awx":
        src = tmp_path / "events.json"
        src.write_text(json.dumps({"count": len(events), "results": events[::-1]}))
    elif shape == "list":
        src = tmp_path / "events.json"
        src.write_text(json.dumps(events))
    elif shape == "lines":
        src = tmp_path / "events.jsonl"
        src.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    else:
        src = tmp_path / "pdd"
        (src / "artifacts" / "x" / "job_events").mkdir(parents=True)
        for e in events:
            (src / "artifacts" / "x" / "job_events" / f"{e['counter']}-u.json").write_text(
                json.dumps(e)
            )
    out = tmp_path / "r.json"
    result = invoke(src, "--report", "json", out)
    assert result.exit_code == 8, result.output
    assert "drift on 1 host(s): demo-h1 MSN-SSH-03" in result.output
    data = json.loads(out.read_text())
    found = {(h, c["id"]): v["status"] for c in data["controls"] for h, v in c["hosts"].items()}
    assert found[("demo-h1", "MSN-SSH-03")] == "drift"
    assert len(found) == len(load_catalogue().controls)
    # The play's own failed verdict task is the drift, not a broken host.
    assert "error" not in found.values()


def test_clean_check_exits_0_and_junit(tmp_path):
    src = tmp_path / "events.json"
    src.write_text(json.dumps(job(drift=False)))
    out = tmp_path / "r.xml"
    result = invoke(src, "--report", "junit", out)
    assert result.exit_code == 0, result.output
    assert "<testsuite" in out.read_text()


def test_mode_must_be_known(tmp_path):
    src = tmp_path / "events.json"
    src.write_text(json.dumps(job()[:1]))
    result = invoke(src)
    assert result.exit_code == 3
    assert "give --mode check or --mode apply" in result.output
    assert invoke(src, "--mode", "check").exit_code == 8
    assert invoke(src, "--mode", "apply").exit_code == 0  # applied: fixed, not drift


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}', "expected job events"),
        ("[1, 2]", "expected job events"),
        ("[]", "no host result in these events"),
        ("{not json", "events.json"),
    ],
)
def test_bad_events_file(tmp_path, text, message):
    src = tmp_path / "events.json"
    src.write_text(text)
    result = invoke(src, "--mode", "check")
    assert result.exit_code == 3, result.output
    assert message in result.output


def test_empty_directory(tmp_path: Path):
    result = invoke(tmp_path, "--mode", "check")
    assert result.exit_code == 3
    assert "no job_events/*.json" in result.output
