from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.core.catalog import builtin_dir


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("MASON_CATALOG_PATH", raising=False)
    monkeypatch.delenv("MASON_JSON", raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list(project):
    result = run("catalog", "list")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == ["mysql", "nginx", "postgresql", "rabbitmq", "redis"]
    assert "postgresql  5432   500m  512Mi" in result.stdout


def test_list_json_includes_project_entries(project, monkeypatch):
    extra = project / "more"
    shutil.copytree(builtin_dir() / "redis", extra / "valkey")
    monkeypatch.setenv("MASON_CATALOG_PATH", str(extra))
    rows = json.loads(run("--json", "catalog", "list").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["valkey"]["path"] == str(extra / "valkey")
    assert by_name["postgresql"]["env"][0] == "MASON_POSTGRESQL_URL"


def test_show(project):
    result = run("catalog", "show", "postgresql")
    assert result.exit_code == 0
    assert result.stdout.startswith("postgresql: PostgreSQL 15 relational database")
    assert (
        "  MASON_POSTGRESQL_URL=postgresql://{user}:{password}@{host}:{port}/{database}\n"
        in result.stdout
    )
    assert "Addon (apps with `addons: [postgresql]` receive)" in result.stdout
    data = json.loads(run("--json", "catalog", "show", "redis").stdout)
    assert data["service"]["ports"] == [{"container": 6379}]
    assert data["recipe"].endswith("redis/Dockerfile")


def test_show_unknown(project):
    result = run("catalog", "show", "postgres")
    assert result.exit_code == 4
    assert result.stderr.startswith("mason: error: no catalog entry 'postgres' (known: mysql,")
