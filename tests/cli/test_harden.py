"""``mason harden``: options, exit codes and reports, with the playbook run faked."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.cli.harden.run import parse_extra_vars
from mason.operations import harden as harden_ops
from mason.providers.base import Host
from mason.runner import Failure, HostStats, RunResult

HOSTS = [
    Host(
        name=f"demo-h{i}",
        pod="demo",
        provider="docker",
        environment="default",
        zone="zone-a",
        role="worker",
        index=i,
        address="127.0.0.1",
        ssh_port=2200 + i,
        ssh_user="mason",
        cpu=1.0,
        memory=2**30,
    )
    for i in (1, 2)
]


def ev(counter, host, task, **res):
    return {
        "event": "runner_on_ok",
        "counter": counter,
        "event_data": {"host": host, "task": task, "res": res},
    }


CLEAN = [ev(1, h, "SSH config | MSN-SSH-01 MSN-SSH-03 | x") for h in ("demo-h1", "demo-h2")]
DRIFT = [
    ev(1, "demo-h1", "SSH config | MSN-SSH-01 MSN-SSH-03 | x"),
    ev(
        2,
        "demo-h2",
        "SSH config | MSN-SSH-01 MSN-SSH-03 | x",
        changed=True,
        diff={"before": "PermitRootLogin yes\n", "after": "PermitRootLogin no\n"},
    ),
]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fake the pod and the run; returns the recorded run arguments."""
    calls: dict = {}
    state = {"events": CLEAN, "ok": True, "failures": []}

    def fake_hosts_of(project_dir, pod, provider_name):
        if pod != "demo":
            from mason.core.errors import NotFound

            raise NotFound(f"pod {pod!r} does not exist")
        return None, HOSTS

    def fake_run(session, playbook, *, title, raise_on_failure=True, **kwargs):
        calls.update(playbook=playbook, title=title, raise_on_failure=raise_on_failure, **kwargs)
        art = tmp_path / "artifacts"
        return RunResult(
            playbook="harden.yml",
            status="successful" if state["ok"] else "failed",
            rc=0 if state["ok"] else 2,
            elapsed=1.0,
            artifact_dir=art,
            stats={h.name: HostStats(ok=1) for h in HOSTS},
            failures=state["failures"],
            source=SimpleNamespace(events=state["events"]),
        )

    monkeypatch.setattr(harden_ops, "hosts_of", fake_hosts_of)
    monkeypatch.setattr(harden_ops, "run", fake_run)
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    calls["state"] = state
    return calls


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *a: runner.invoke(main, list(a), catch_exceptions=False)


def test_controls_lists_every_control(cli):
    result = cli("harden", "controls", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    ids = [c["id"] for c in data]
    assert "MSN-SSH-03" in ids and "MSN-DKR-01" in ids and len(ids) >= 30
    ssh3 = next(c for c in data if c["id"] == "MSN-SSH-03")
    assert ssh3 == {
        "id": "MSN-SSH-03",
        "area": "ssh",
        "title": "No root login over SSH",
        "refs": {"cis_debian": ["5.1.20"], "devsec": ["sshd-06"]},
    }


def test_controls_by_area_and_table(cli):
    result = cli("harden", "controls", "--area", "firewall")
    assert result.exit_code == 0
    assert "MSN-FW-01" in result.stdout and "MSN-SSH-01" not in result.stdout


def test_controls_markdown_is_docs_controls_md(cli):
    result = cli("harden", "controls", "--markdown")
    assert result.exit_code == 0
    docs = Path(__file__).resolve().parents[2] / "docs" / "controls.md"
    assert result.stdout == docs.read_text()
    wrong = cli("harden", "controls", "--markdown", "--area", "ssh")
    assert wrong.exit_code == 3
    assert wrong.stderr.strip() == (
        "mason: error: --markdown prints the whole catalogue: drop --area and --json"
    )


def test_unknown_area_names_the_allowed_ones(cli, fake):
    result = cli("harden", "demo", "--only", "kernel")
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "mason: error: --only: unknown area 'kernel' (areas: ssh, os, firewall, docker, apparmor)"
    )


def test_check_clean_exits_0_and_passes_flags(cli, fake, tmp_path):
    result = cli(
        "harden",
        "demo",
        "--check",
        "--only",
        "ssh",
        "--skip",
        "docker",
        "--limit",
        "h2",
        "-e",
        "ssh_hardening_max_auth_tries=2",
    )
    assert result.exit_code == 0, result.output
    assert fake["playbook"] == "harden"
    assert fake["check"] is True and fake["diff"] is True  # diff: what differs
    assert fake["tags"] == ["ssh"] and fake["skip_tags"] == ["docker"]
    assert fake["limit"] == "demo-h2"
    # The CLI judges the run itself: the play only reports (playbooks/harden.yml).
    assert fake["extravars"] == {
        "ssh_hardening_max_auth_tries": 2,
        "mason_harden_report_only": True,
    }
    assert fake["raise_on_failure"] is False


def test_default_command_is_run(cli, fake):
    assert cli("harden", "run", "demo").exit_code == 0
    assert fake["check"] is False and fake["tags"] == []


def test_drift_exits_8_and_names_host_and_control(cli, fake, tmp_path):
    fake["state"]["events"] = DRIFT
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    result = cli(
        "harden",
        "demo",
        "--check",
        "--report",
        "json",
        str(out_json),
        "--report",
        "junit",
        str(out_xml),
    )
    assert result.exit_code == 8
    assert result.stderr.strip().splitlines()[-1] == (
        "mason: error: drift on 1 host(s): demo-h2 MSN-SSH-03"
    )
    assert "demo-h2: MSN-SSH-03 drift: +PermitRootLogin no" in result.stdout
    data = json.loads(out_json.read_text())
    ssh3 = next(c for c in data["controls"] if c["id"] == "MSN-SSH-03")
    assert ssh3["hosts"]["demo-h2"]["status"] == "drift"
    assert ssh3["hosts"]["demo-h1"]["status"] == "pass"
    suites = ET.parse(out_xml).getroot()  # noqa: S314 - our own file
    suites = suites.findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "1"]


def test_json_mode_ends_with_the_report(cli, fake):
    fake["state"]["events"] = DRIFT
    result = cli("--json", "harden", "demo", "--check")
    assert result.exit_code == 8
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["event"] == "harden_report" and last["drift"] is True


def test_failed_run_still_writes_the_report_then_exits_6(cli, fake, tmp_path):
    fake["state"].update(ok=False, failures=[Failure("demo-h1", "SSH config | MSN-SSH-01", "boom")])
    out = tmp_path / "r.json"
    result = cli("harden", "demo", "--report", "json", str(out))
    assert result.exit_code == 6
    assert "demo-h1: SSH config | MSN-SSH-01: boom" in result.stderr
    assert json.loads(out.read_text())["mode"] == "apply"


def test_unknown_limit_host(cli, fake):
    result = cli("harden", "demo", "--limit", "h9")
    assert result.exit_code == 4
    assert "has no host 'h9' (hosts: demo-h1, demo-h2)" in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a=1", {"a": 1}),
        ('{"b": [8443]}', {"b": [8443]}),
        ("c=[1, 2]", {"c": [1, 2]}),
    ],
)
def test_extra_vars_forms(value, expected):
    assert parse_extra_vars([value]) == expected


def test_extra_vars_file_and_errors(tmp_path: Path):
    f = tmp_path / "v.yml"
    f.write_text("firewall_pod_tcp_ports: [8443]\n")
    assert parse_extra_vars([f"@{f}"]) == {"firewall_pod_tcp_ports": [8443]}
    from mason.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="expected KEY=VALUE"):
        parse_extra_vars(["novalue"])
