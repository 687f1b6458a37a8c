from pathlib import Path

import pytest

from mason.core.errors import InvalidInput
from mason.core.project import load_project, parse_memory


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mason.yml").write_text(text)
    return tmp_path


def test_missing_file_is_an_empty_project(tmp_path):
    project = load_project(tmp_path)
    assert not project.exists
    assert project.pod("x").provider == "docker"
    assert project.pod("x").hosts is None


def test_reads_pod_defaults(tmp_path):
    project = load_project(
        write(
            tmp_path,
            "pods:\n  local:\n    environment: dev\n    hosts: 4\n    zones: [a, b]\n"
            "    cpu: 0.5\n    memory: 512Mi\n    labels: {disk: ssd}\n",
        )
    )
    pod = project.pod("local")
    assert (pod.environment, pod.hosts, pod.zones, pod.cpu) == ("dev", 4, ("a", "b"), 0.5)
    assert pod.memory == 512 * 2**20
    assert pod.labels == {"disk": "ssd"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pods:\n  local:\n    host: 3\n",
            "pods.local.host: unknown key (did you mean 'hosts'?)",
        ),
        ("pods:\n  local:\n    hosts: 0\n", "pods.local.hosts: must be >= 1, got 0"),
        (
            "pods:\n  local:\n    memory: lots\n",
            "pods.local.memory: expected memory like '256Mi' or '1Gi'",
        ),
        ("pods:\n  Local: {}\n", "invalid pod name 'Local'"),
        ("pods:\n  local:\n    zones: []\n", "pods.local.zones: expected a non-empty list"),
        ("pod: {}\n", "pod: unknown key (did you mean 'pods'?)"),
        ("pods: [\n", "line 2, column 1: invalid YAML"),
    ],
)
def test_errors_name_file_field_and_expectation(tmp_path, text, message):
    with pytest.raises(InvalidInput) as err:
        load_project(write(tmp_path, text))
    assert message in str(err.value)
    assert str(tmp_path / "mason.yml") in str(err.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1Gi", 2**30), ("512Mi", 512 * 2**20), ("2G", 2 * 10**9), (1024, 1024), ("1.5Gi", 3 * 2**29)],
)
def test_parse_memory(value, expected):
    assert parse_memory(value, "x") == expected


@pytest.mark.parametrize("value", ["", "1Gb", "-1Gi", True, "Gi"])
def test_parse_memory_rejects(value):
    with pytest.raises(InvalidInput, match=r"^x: expected memory"):
        parse_memory(value, "x")


def test_parse_memory_rejects_zero():
    with pytest.raises(InvalidInput, match=r"^x: expected a memory size > 0, got 0$"):
        parse_memory(0, "x")
