"""``mason image push``: bad input is one line with its exit code, before any engine or pod."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mason.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # No engine: an input that slipped through would fail with exit 5 instead.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("MASON_HOME", str(tmp_path / "home"))
    return tmp_path


def push(project: Path, *args: str):
    return CliRunner().invoke(main, ["--project-dir", str(project), "image", "push", *args])


@pytest.mark.parametrize(
    ("files", "args", "code", "message"),
    [
        ({}, ["shop", "--pod", "demo"], 4, "no app 'shop': apps/shop.yml not found"),
        ({}, ["apps/gone.yml", "--pod", "demo"], 4, "no such file: apps/gone.yml"),
        (
            {"apps/shop.yml": "name: shop\nservices: {}\n"},
            ["shop", "--pod", "demo"],
            3,
            "apps/shop.yml",
        ),
        ({}, ["Shop!", "--pod", "demo"], 3, "invalid app name"),
    ],
)
def test_bad_input_is_one_line(project: Path, files, args, code, message) -> None:
    for rel, text in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    result = push(project, *args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_pod_is_required(project: Path) -> None:
    result = push(project, "shop")
    assert result.exit_code == 2
    assert "--pod" in result.stderr
