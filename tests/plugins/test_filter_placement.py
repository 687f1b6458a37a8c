"""The placement filter plugin: loaded from its file, and through a real ansible run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "filter" / "placement.py"
APP = {"name": "shop", "services": {"web": {"image": "nginx", "replicas": 2, "ha": "host"}}}
HOSTS = [
    {"name": "h1", "zone": "a", "cpu": 1, "memory": "2Gi"},
    {
        "name": "h2",
        "zone": "b",
        "cpu": 1,
        "memory": "2Gi",
        "running": [{"app": "shop", "service": "web", "replica": 1}],
    },
]


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("mason_filter_placement", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_documentation_is_yaml(plugin):
    # One page per filter, a YAML file beside the code (tests/plugins/test_plugin_docs.py
    # renders each with ansible-doc).
    for name in plugin.FilterModule().filters():
        doc = yaml.safe_load((PLUGIN.parent / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"]
    assert set(plugin.FilterModule().filters()) == {
        "mason_placement",
        "mason_hosts_from_hostvars",
        "mason_host_placements",
        "mason_cpu",
        "mason_memory",
    }


def test_placement_filter_plans_like_the_cli(plugin):
    result = plugin.mason_placement(HOSTS, APP)
    assert result["placements"] == [
        {
            "app": "shop",
            "service": "web",
            "replica": 1,
            "host": "h2",
            "zone": "b",
            "action": "keep",
        },
        {"app": "shop", "service": "web", "replica": 2, "host": "h1", "zone": "a", "action": "new"},
    ]
    assert result["unplaced"] == []
    assert plugin.mason_host_placements(result, "h1") == [result["placements"][1]]


def test_errors_become_ansible_errors(plugin):
    expected = r"mason: app: services\.web\.replicas: must be >= 1"
    with pytest.raises(AnsibleFilterError, match=expected):
        plugin.mason_placement(
            HOSTS, {"name": "shop", "services": {"web": {"image": "x", "replicas": 0}}}
        )
    with pytest.raises(AnsibleFilterError, match="expected memory"):
        plugin.mason_memory("1GB")
    assert plugin.mason_cpu("500m") == 500


def test_hosts_from_inventory_hostvars(plugin):
    hostvars = {
        "demo-h1": {
            "mason_zone": "a",
            "mason_cpu": 1.5,
            "mason_memory": 2**30,
            "mason_role": "manager",
            "mason_labels": {"x": "y"},
        }
    }
    assert plugin.mason_hosts_from_hostvars(hostvars, ["demo-h1"]) == [
        {
            "name": "demo-h1",
            "zone": "a",
            "cpu": 1.5,
            "memory": 2**30,
            "role": "manager",
            "labels": {"x": "y"},
        }
    ]


def test_filter_in_a_real_ansible_run(tmp_path: Path):
    ansible = Path(sys.executable).parent / "ansible"
    env = {
        **os.environ,
        "ANSIBLE_FILTER_PLUGINS": str(PLUGIN.parent),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }
    (tmp_path / "vars.json").write_text(json.dumps({"hosts_in": HOSTS, "app_in": APP}))
    out = subprocess.run(
        [
            str(ansible),
            "localhost",
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-e",
            f"@{tmp_path / 'vars.json'}",
            "-a",
            "msg={{ hosts_in | mason_placement(app_in) | to_json }}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    msg = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    plan = json.loads(msg) if isinstance(msg, str) else msg
    assert [p["action"] for p in plan["placements"]] == ["keep", "new"]
