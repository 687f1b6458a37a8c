"""The `mason` inventory plugin: documentation, file matching, groups and variables.

Grouping is checked in-process against a stand-in provider so it runs without a
Docker engine; the same plugin against real pods is exercised in
tests/integration/test_pods.py (ansible-inventory --graph, ansible -m ping).
"""

from __future__ import annotations

import subprocess

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

import mason.providers
from mason.providers.base import Host, Provider
from tests.conftest import REPO, ansible_env


def test_ansible_doc_renders_the_plugin():
    out = subprocess.run(
        ["ansible-doc", "-t", "inventory", "mason"],
        capture_output=True,
        text=True,
        env=ansible_env(),
        check=True,
    ).stdout
    assert "Lists the hosts of one, several or all mason pods" in " ".join(out.split())
    for option in ("pods", "environment", "providers", "provider_options"):
        assert option in out


def _host(pod, index, zone, role, env="dev"):
    return Host(
        name=f"{pod}-h{index}",
        pod=pod,
        provider="standin",
        environment=env,
        zone=zone,
        role=role,
        index=index,
        address="127.0.0.1",
        ssh_port=40000 + index,
        ssh_user="mason",
        cpu=2.0,
        memory=2**31,
        labels={"disk": "ssd"},
    )


class StandIn(Provider):
    """Stand-in provider (no engine needed); not a substitute for the integration test."""

    name = "standin"
    HOSTS = [
        _host("alpha", 1, "zone-a", "manager"),
        _host("alpha", 2, "zone-b", "worker"),
        _host("beta", 1, "zone-a", "manager", env="prod"),
    ]

    def check(self):
        pass

    def list_hosts(self, pod=None, environment=None):
        return [
            h
            for h in self.HOSTS
            if (environment is None or h.environment == environment)
            and (pod is None or h.pod == pod)
        ]

    def create_hosts(self, spec, key, progress=None):
        raise NotImplementedError

    def remove_hosts(self, pod, names):
        raise NotImplementedError

    def destroy_pod(self, pod, progress=None):
        raise NotImplementedError


@pytest.fixture
def inventory(tmp_path, monkeypatch):
    monkeypatch.setitem(mason.providers.BUILTIN, "standin", f"{__name__}:StandIn")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))
    # the plugin directory comes from ansible.cfg, which is read at import time
    from ansible.plugins.loader import inventory_loader

    inventory_loader.add_directory(str(REPO / "plugins" / "inventory"))

    def load(text: str, filename: str = "pods.mason.yml") -> InventoryManager:
        path = tmp_path / filename
        path.write_text(text)
        return InventoryManager(loader=DataLoader(), sources=[str(path)])

    return load


def test_groups_and_vars(inventory):
    inv = inventory("plugin: mason\nproviders: [standin]\n")
    groups = {g: sorted(h.name for h in inv.groups[g].get_hosts()) for g in inv.groups}
    assert groups["pod_alpha"] == ["alpha-h1", "alpha-h2"]
    assert groups["pod_beta"] == ["beta-h1"]
    assert groups["zone_zone_a"] == ["alpha-h1", "beta-h1"]
    assert groups["role_manager"] == ["alpha-h1", "beta-h1"]
    assert groups["env_prod"] == ["beta-h1"]
    hv = inv.get_host("alpha-h2").vars
    assert (hv["ansible_port"], hv["mason_zone"], hv["mason_role"]) == (40002, "zone-b", "worker")
    assert hv["mason_labels"] == {"disk": "ssd"}


def test_filters_by_pod_and_environment(inventory):
    assert sorted(
        h.name for h in inventory("plugin: mason\nproviders: [standin]\npods: [beta]\n").get_hosts()
    ) == ["beta-h1"]
    assert sorted(
        h.name
        for h in inventory("plugin: mason\nproviders: [standin]\nenvironment: dev\n").get_hosts()
    ) == ["alpha-h1", "alpha-h2"]


def test_ignores_files_not_named_mason_yml(inventory):
    inv = inventory("plugin: mason\nproviders: [standin]\n", filename="pods.yml")
    assert "alpha-h1" not in [h.name for h in inv.get_hosts()]
