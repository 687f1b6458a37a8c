"""mason app plan --time-limit / --rebalance: the repair, through Click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mason.cli import main

# Greedy puts big (largest first, binpack) on h1, the first host with room, and
# then only one pair replica fits: a layout exists with big on h2.
APP = """\
name: shop
services:
  big:
    image: nginx:1.25
    resources: {cpu: 100m, memory: 4Gi}
    placement: {strategy: binpack}
  pair:
    image: nginx:1.25
    replicas: 2
    ha: [host]
    resources: {cpu: 100m, memory: 2Gi}
"""
HOSTS = """\
- {name: h1, zone: a, cpu: 4, memory: 4Gi}
- {name: h2, zone: b, cpu: 4, memory: 6Gi}
"""
# Both hosts run a small replica; big fits only once one of them moves.
RUNNING_APP = """\
name: shop
services:
  small:
    image: nginx:1.25
    replicas: 2
    resources: {cpu: 100m, memory: 1Gi}
  big:
    image: nginx:1.25
    resources: {cpu: 100m, memory: 3584Mi}
"""
RUNNING_HOSTS = """\
- {name: h1, zone: a, cpu: 4, memory: 4Gi, running: [{app: shop, service: small, replica: 1}]}
- {name: h2, zone: b, cpu: 4, memory: 4Gi, running: [{app: shop, service: small, replica: 2}]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "shop.yml").write_text(APP)
    (tmp_path / "pod.yml").write_text(HOSTS)
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MASON_CATALOG_PATH", raising=False)
    monkeypatch.delenv("MASON_JSON", raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines() if line.startswith(("+", "~", "!"))]


def test_repair_places_what_greedy_leaves_over(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        ["+", "big", "1", "h2", "b", "new"],
        ["+", "pair", "1", "h1", "a", "new"],
        ["+", "pair", "2", "h2", "b", "new"],
    ]
    assert (
        "Repair: greedy placement left 1 container(s) without a host; the repair placed them, "
        "moving 2 container(s) greedy had placed.\n" in result.stdout
    )


def test_time_limit_zero_is_greedy_alone(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--time-limit", "0", "--json")
    assert result.exit_code == 9
    data = json.loads(result.stdout)
    assert "repair" not in data
    assert [(u["service"], u["replica"]) for u in data["unplaced"]] == [("pair", 2)]


def test_no_layout_is_said_and_in_the_json(project):
    (project / "apps" / "shop.yml").write_text(APP.replace("replicas: 2", "replicas: 3"))
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml")
    assert result.exit_code == 9
    assert (
        "Repair: no layout exists: room for 2 of the 3 pair replicas to place (one per host)\n"
        in result.stdout
    )
    assert result.stderr == (
        "mason: error: 1 container(s) of app shop fit nowhere: pair replica 3: "
        "2 hosts: anti-affinity\n"
    )
    data = json.loads(run("app", "plan", "shop", "--hosts-file", "pod.yml", "--json").stdout)
    assert data["repair"] == {
        "outcome": "no-layout",
        "unplaced_before": 2,
        "unplaced_after": 1,
        "moved": 2,
        "verdict": "no layout exists: room for 2 of the 3 pair replicas to place (one per host)",
        "time_limit": 2.0,
    }


def test_running_containers_move_only_with_rebalance(project):
    (project / "apps" / "shop.yml").write_text(RUNNING_APP)
    (project / "pod.yml").write_text(RUNNING_HOSTS)
    stay = run("app", "plan", "shop", "--hosts-file", "pod.yml")
    assert stay.exit_code == 9
    assert "small" not in " ".join(" ".join(r) for r in rows(stay.stdout))  # both kept
    moved = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--rebalance")
    assert moved.exit_code == 0, moved.output
    assert rows(moved.stdout) == [
        ["+", "big", "1", "h1", "a", "new"],
        ["~", "small", "1", "h2", "b", "move", "(from", "h1)"],
    ]
    assert moved.stdout.splitlines()[-1] == (
        "Plan: 1 to add, 1 to move, 1 to keep, 0 to remove, 0 unplaced."
    )


def test_negative_time_limit_is_refused(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--time-limit", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--time-limit': -1.0 is not in the range 0<=x<=3600." in (
        result.stderr
    )
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--time-limit", "nan")
    assert result.exit_code == 3
    assert result.stderr == "mason: error: time limit: expected 0 to 3600 seconds, got nan\n"
