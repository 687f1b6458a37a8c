"""The CLI's contract: exit codes and one-line errors, asserted exactly. No engine needed."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mason import __version__
from mason.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MASON_PROJECT_DIR", str(tmp_path))
    runner = CliRunner()

    def invoke(*args, **kw):
        return runner.invoke(main, list(args), catch_exceptions=False, **kw)

    return invoke


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mason: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"mason, version {__version__}"


def test_help_lists_command_groups(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for word in ("init", "pod", "image", "MASON_PROJECT_DIR", "MASON_JSON"):
        assert word in result.stdout


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_help_shows_an_example(cli, path):
    result = cli(*path, "--help")
    assert result.exit_code == 0
    examples = [line for line in result.stdout.splitlines() if line.strip().startswith("mason ")]
    assert examples, f"mason {' '.join(path)} --help shows no example"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["pod", "create", "Bad_Name"], 3, "invalid pod name 'Bad_Name'"),
        (["pod", "create", "ok", "--hosts", "0"], 3, "--hosts: must be >= 1, got 0"),
        (["pod", "create", "ok", "--cpu", "0"], 3, "--cpu: expected a number of cores > 0"),
        (["pod", "create", "ok", "--provider", "nimbus"], 3, "unknown provider 'nimbus' (known: "),
        (["pod", "create", "ok", "--zones", ","], 3, "--zones: expected a comma-separated list"),
        (
            ["pod", "create", "ok", "--memory", "lots"],
            3,
            "--memory: expected memory like '256Mi' or '1Gi'",
        ),
        (
            ["pod", "create", "ok", "--label", "novalue"],
            3,
            "--label: expected KEY=VALUE, got 'novalue'",
        ),
        (["pod", "create", "ok", "--env", "Prod"], 3, "--env: invalid environment name 'Prod'"),
        (["pod", "show", "x" * 31], 3, "at most 30 characters, got 31"),
        (
            ["pki", "rotate", "demo", "--window", "30h"],
            2,
            "rotation window 1d06h must be shorter than the certificate lifetime 1d00h",
        ),
        (["pki", "status", "demo", "--window", "soon"], 2, "rotation window"),
    ],
)
def test_bad_input_gives_one_line_and_its_exit_code(cli, monkeypatch, args, code, message):
    # An engine that is not there: errors that need no engine must come first.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = cli(*args)
    line = one_error_line(result)
    assert result.exit_code == code
    assert message in line


def test_unreachable_engine_says_how_to_start_it(cli, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = cli("pod", "list")
    assert result.exit_code == 5
    line = one_error_line(result)
    assert (
        "cannot reach the Docker engine at unix:///nonexistent/docker.sock: no socket there" in line
    )
    assert "dockerd" in line and "scripts/setup.sh" in line


def test_invalid_project_file_names_file_and_field(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    (tmp_path / "mason.yml").write_text("pods:\n  demo:\n    hostz: 3\n")
    result = cli("pod", "create", "demo")
    assert result.exit_code == 3
    assert one_error_line(result) == (
        f"mason: error: {tmp_path / 'mason.yml'}: pods.demo.hostz: unknown key "
        "(did you mean 'hosts'?)"
    )


def test_init_scaffolds_and_keeps_existing_files(cli, tmp_path):
    result = cli("init")
    assert result.exit_code == 0
    for rel in ("mason.yml", "inventory/pods.mason.yml", ".gitignore", "apps/.gitkeep"):
        assert (tmp_path / rel).exists(), rel
    # the scaffolded project file is valid and defines the local pod
    from mason.core.project import load_project

    pod = load_project(tmp_path).pod("local")
    assert (pod.provider, pod.hosts, pod.environment) == ("docker", 3, "dev")
    (tmp_path / "mason.yml").write_text("version: 1\n")
    again = cli("--json", "init")
    assert again.exit_code == 0
    assert '"kept": ["mason.yml"' in again.stdout
    assert (tmp_path / "mason.yml").read_text() == "version: 1\n"


def test_init_rejects_bad_pod_name(cli):
    result = cli("init", "--pod", "No")
    assert result.exit_code == 3
    assert "invalid pod name 'No'" in one_error_line(result)
