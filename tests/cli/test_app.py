"""mason app validate / plan / add-service, through Click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.core import release
from mason.core.deploy import Running
from mason.operations import apps
from mason.operations.survey import Survey
from mason.providers.base import Host

SHOP = """\
# the shop
name: shop
services:
  web:
    image: nginx:1.25
    replicas: 2
    ha: host
    ports: ["8080:80"]
    links: [db]
  db:
    catalog: postgresql
"""
HOSTS = """\
hosts:
  - {name: h1, zone: a, cpu: 2, memory: 4Gi, role: manager}
  - {name: h2, zone: b, cpu: 2, memory: 4Gi,
     running: [{app: shop, service: web, replica: 1}]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "shop.yml").write_text(SHOP)
    (tmp_path / "pod.yml").write_text(HOSTS)
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MASON_CATALOG_PATH", raising=False)
    monkeypatch.delenv("MASON_JSON", raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_validate_ok(project):
    result = run("app", "validate", "apps/shop.yml")
    assert result.exit_code == 0, result.output
    assert result.stdout == "apps/shop.yml: ok (app shop: 2 services, 3 replicas)\n"


def test_validate_reports_every_error_of_every_file(project):
    (project / "apps" / "bad.yml").write_text(
        "services:\n  web:\n    image: x\n    replicas: 0\n    link: [db]\n"
    )
    result = run("app", "validate", "apps/shop.yml", "apps/bad.yml")
    assert result.exit_code == 3
    assert result.stdout == "apps/shop.yml: ok (app shop: 2 services, 3 replicas)\n"
    assert result.stderr == (
        "mason: error: apps/bad.yml: services.web.link: unknown key (did you mean 'links'?)\n"
        "apps/bad.yml: services.web.replicas: must be >= 1, got 0\n"
    )


def test_validate_json(project):
    (project / "apps" / "bad.yml").write_text("services: {}\n")
    result = run("--json", "app", "validate", "apps/shop.yml", "apps/bad.yml")
    assert result.exit_code == 3
    files = json.loads(result.stdout)["files"]
    assert [f["valid"] for f in files] == [True, False]
    assert files[1]["errors"] == ["apps/bad.yml: services: must define at least one service"]


def test_plan_with_hosts_file(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Plan for app shop on pod.yml (2 hosts, 8Gi)"
    rows = [line.split() for line in lines[2:5]]
    assert rows == [
        ["+", "db", "1", "h1", "a", "new"],
        ["web", "1", "h2", "b", "keep"],
        ["+", "web", "2", "h1", "a", "new"],
    ]
    assert lines[-1] == "Plan: 2 to add, 0 to move, 1 to keep, 0 to remove, 0 unplaced."


def test_plan_json_and_explain(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--json", "--explain")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["app"] == "shop"
    assert data["placements"][0] == {
        "app": "shop",
        "service": "db",
        "replica": 1,
        "host": "h1",
        "zone": "a",
        "action": "new",
    }
    assert data["unplaced"] == []
    web2 = next(e for e in data["explain"] if e["service"] == "web" and e["replica"] == 2)
    assert {v["bidder"]: v["rejected"] for v in web2["verdicts"]}["anti-affinity"] == {
        "anti-affinity": 1
    }


def test_plan_explain_text(project):
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml", "--explain")
    assert "  web/2 -> h1 (new)\n    anti-affinity: 1 host: anti-affinity\n" in result.stdout


def test_plan_infeasible_exits_9_with_reasons(project):
    (project / "apps" / "shop.yml").write_text(SHOP.replace("replicas: 2", "replicas: 3"))
    result = run("app", "plan", "shop", "--hosts-file", "pod.yml")
    assert result.exit_code == 9
    assert result.stderr == (
        "mason: error: 1 container(s) of app shop fit nowhere: web replica 3: "
        "2 hosts: anti-affinity\n"
    )
    assert "web replica 3 fits nowhere: 2 hosts: anti-affinity" in result.stdout


def test_plan_on_a_pod_uses_the_providers_hosts(project, monkeypatch):
    hosts = [
        Host(
            f"demo-h{i}",
            "demo",
            "docker",
            "default",
            z,
            "worker",
            i,
            "127.0.0.1",
            22,
            "root",
            1.0,
            2**30,
        )
        for i, z in ((1, "zone-a"), (2, "zone-b"))
    ]
    seen = {}

    def fake_hosts_of(project_dir, pod, provider_name):
        seen["pod"] = pod
        return None, hosts

    # No pod here to survey (the pod tests run the real survey.yml): replica 1 of web
    # runs on demo-h2 already, so it is kept there and replica 2 goes to demo-h1.
    web1 = Running("demo-h2", "mason-shop-web-1", "shop", "service", "web", 1, 1,
                   state="running", cpu=600, memory=256 * 2**20)  # fmt: skip

    # no release on the pod: its posture has nothing to be compared with
    ledger: list = []

    def fake_survey(session, pod, found_hosts, ledger_of):
        assert ledger_of == "shop"  # the same run reads the app's ledger
        return Survey(pod=pod, hosts=list(found_hosts), running=[web1], hardened={}, ledger=ledger)

    monkeypatch.setattr(apps, "hosts_of", fake_hosts_of)
    monkeypatch.setattr(apps, "survey", fake_survey)
    (project / "apps" / "shop.yml").write_text(
        "services:\n  web:\n    image: x\n    replicas: 2\n    ha: host\n"
        "    resources: {cpu: 600m, memory: 256Mi}\n"
    )
    result = run("--json", "app", "plan", "shop", "--pod", "demo")
    assert result.exit_code == 0, result.output
    assert seen == {"pod": "demo"}
    placed = json.loads(result.stdout)["placements"]
    assert sorted((p["replica"], p["host"], p["action"]) for p in placed) == [
        (1, "demo-h2", "keep"),
        (2, "demo-h1", "new"),
    ]
    # the newest release runs web#1 on demo-h1 (a heal moved it while demo-h2 was gone):
    # the copy demo-h2 runs is stale, as deploy and heal see it, and is not kept
    ledger.append(
        release.make_record(
            None,
            app="shop",
            kind="heal",
            manifest_hash="0" * 64,
            images={"web": "x@sha256:" + "1" * 64},
            placement={"web": [{"replica": 1, "host": "demo-h1", "zone": "zone-a"}]},
            who="alice@laptop",
            when="2026-12-04T07:00:00Z",
            run_id="run-1",
            note="",
        )
    )
    result = run("--json", "app", "plan", "shop", "--pod", "demo")
    assert result.exit_code == 0, result.output
    placed = json.loads(result.stdout)["placements"]
    assert ("demo-h2", "keep") not in {(p["host"], p["action"]) for p in placed}, placed
    assert sorted(p["host"] for p in placed) == ["demo-h1", "demo-h2"]


def test_plan_needs_exactly_one_source(project):
    result = run("app", "plan", "shop")
    assert result.exit_code == 2
    assert "give exactly one of --pod or --hosts-file" in result.stderr


def test_plan_unknown_app(project):
    result = run("app", "plan", "nope", "--hosts-file", "pod.yml")
    assert result.exit_code == 4
    assert result.stderr.startswith("mason: error: no app 'nope': apps/nope.yml not found")


def test_add_service_keeps_comments_and_validates(project):
    result = run("app", "add-service", "shop", "cache", "--catalog", "redis", "--replicas", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout == "apps/shop.yml: added service cache (catalog redis, 2 replicas)\n"
    text = (project / "apps" / "shop.yml").read_text()
    assert text == SHOP + "  cache:\n    catalog: redis\n    replicas: 2\n"
    assert run("app", "validate", "apps/shop.yml").exit_code == 0


def test_add_service_new_app_and_errors(project):
    assert run("app", "add-service", "blog", "db", "--catalog", "mysql").exit_code == 0
    assert (project / "apps" / "blog.yml").read_text() == (
        "---\nname: blog\nservices:\n  db:\n    catalog: mysql\n    replicas: 1\n"
    )
    again = run("app", "add-service", "blog", "db", "--catalog", "mysql")
    assert again.exit_code == 3
    assert again.stderr == "mason: error: apps/blog.yml: services.db: already defined\n"
    missing = run("app", "add-service", "blog", "q", "--catalog", "kafka")
    assert missing.exit_code == 4
    assert "no catalog entry 'kafka'" in missing.stderr
