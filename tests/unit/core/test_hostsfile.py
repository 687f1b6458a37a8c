from __future__ import annotations

import json
from pathlib import Path

import pytest

from mason.core.hostsfile import load_hosts_file, parse_hosts
from mason.core.manifest import ManifestError
from mason.core.placement import Allocation, HostSpec


def test_yaml_hosts_with_running_containers(tmp_path: Path):
    path = tmp_path / "pod.yml"
    path.write_text(
        "hosts:\n"
        "  - name: h1\n    zone: a\n    cpu: 2\n    memory: 4Gi\n    role: manager\n"
        "    labels: {disk: ssd, gpu: true}\n"
        "    running:\n"
        "      - {app: shop, service: web, replica: 1}\n"
        "      - {app: x, service: y, replica: 2, cpu: 500m, memory: 1Gi, ports: [80, 53/udp]}\n"
    )
    result = load_hosts_file(path)
    assert result.hosts == (
        HostSpec("h1", "a", 2000, 4 * 2**30, "manager", {"disk": "ssd", "gpu": "true"}),
    )
    assert result.current == (
        Allocation("shop", "web", 1, "h1"),
        Allocation("x", "y", 2, "h1", 500, 2**30, ((80, "tcp"), (53, "udp"))),
    )


def test_json_list(tmp_path: Path):
    path = tmp_path / "pod.json"
    path.write_text(json.dumps([{"name": "h1", "zone": "a", "cpu": "1500m", "memory": 1024}]))
    assert load_hosts_file(path).hosts[0].cpu == 1500


def test_errors_name_the_place():
    with pytest.raises(ManifestError) as exc:
        parse_hosts(
            [
                {"name": "h1", "zone": "a", "cpu": 1, "memory": "1GB", "rol": "manager"},
                {"name": "h1", "zone": "a", "cpu": 1, "memory": 1, "running": [{"app": "a"}]},
            ],
            "pod.yml",
        )
    assert exc.value.lines == [
        "pod.yml: [0].rol: unknown key (did you mean 'role'?)",
        "pod.yml: [0].memory: expected memory like '256Mi' or '1Gi' (suffixes: k, M, G, T, "
        "Ki, Mi, Gi, Ti), got '1GB'",
        "pod.yml: [1].name: host 'h1' is listed twice",
        "pod.yml: [1].running[0].service: required",
        "pod.yml: [1].running[0].replica: required",
    ]
