from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mason.core.catalog import builtin_dir, get_entry, list_entries, search_path
from mason.core.errors import InvalidInput, NotFound
from mason.core.manifest import ManifestError

REQUIRED = {"postgresql", "mysql", "redis", "rabbitmq", "nginx"}


def test_builtin_entries_load_and_validate():
    entries = list_entries([builtin_dir()])
    assert set(entries) >= REQUIRED
    for entry in entries.values():
        assert entry.service.ports, entry.name
        assert entry.service.healthcheck is not None, entry.name
        assert entry.service.image.startswith("mason/"), entry.name
        assert f"MASON_{entry.name.upper()}_URL" in entry.addon.env, entry.name
        recipe = entry.recipe.read_text()
        assert "ARG BASE=mason-base:bookworm" in recipe and "FROM ${BASE}" in recipe
        assert "apt-get install" in recipe, entry.name


def test_addon_render():
    entry = get_entry([builtin_dir()], "postgresql")
    env = entry.addon.render({"app": "shop", "host": "db.pod", "password": "s3cret"})
    assert env["MASON_POSTGRESQL_URL"] == "postgresql://shop:s3cret@db.pod:5432/shop"
    with pytest.raises(InvalidInput, match="addon needs values for: password"):
        entry.addon.render({"app": "shop", "host": "db.pod"})


def test_project_entries_override_builtin(tmp_path: Path):
    shutil.copytree(builtin_dir() / "redis", tmp_path / "catalog" / "redis")
    text = (tmp_path / "catalog" / "redis" / "service.yml").read_text()
    (tmp_path / "catalog" / "redis" / "service.yml").write_text(
        text.replace("memory: 256Mi", "memory: 1Gi")
    )
    entry = list_entries(search_path(tmp_path))["redis"]
    assert entry.path == tmp_path / "catalog" / "redis"
    assert entry.service.memory == 2**30


def test_broken_entry_reports_every_problem(tmp_path: Path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "service.yml").write_text("image: x\nreplica: 2\n")
    (bad / "addon.yml").write_text("env:\n  URL: '{hots}'\n")
    with pytest.raises(ManifestError) as exc:
        list_entries([tmp_path])
    assert exc.value.lines == [
        f"{bad}/service.yml: replica: unknown key (did you mean 'replicas'?)",
        f"{bad}/addon.yml: env.URL: unknown placeholder 'hots' "
        "(known: app, host, port, user, password, database, vhost)",
        f"{bad}/addon.yml: env.URL: variable names must look like MASON_NAME_...",
        f"{bad}/Dockerfile: no such file (the recipe that builds bad's image)",
    ]


def test_unknown_entry():
    with pytest.raises(NotFound, match="no catalog entry 'postgres'"):
        get_entry([builtin_dir()], "postgres")
