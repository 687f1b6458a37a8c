"""The `mason` inventory plugin: documentation, file matching, groups and variables.

Grouping is checked in-process against a stand-in provider so it runs without a
Docker engine; the same plugin against real pods is exercised in
tests/integration/test_pods.py (ansible-inventory --graph, ansible -m ping).
"""

from __future__ import annotations

import subprocess

import pytest
from ansible.errors import AnsibleError
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
    # Not claimed by the plugin, and parsed by no other: an error (ansible.cfg sets
    # any_unparsed_is_failed), never an empty inventory.
    with pytest.raises(AnsibleError, match="Completely failed to parse inventory source"):
        inventory("plugin: mason\nproviders: [standin]\n", filename="pods.yml")


def test_full_name_is_accepted(inventory):
    inv = inventory("plugin: mason.mason.mason\nproviders: [standin]\npods: [beta]\n")
    assert [h.name for h in inv.get_hosts()] == ["beta-h1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pods: [alpah]\n", "pod(s) alpah not found on provider(s) standin"),
        ("pods: [alpha]\nenvironment: prod\n", "pod(s) alpha not found"),
        ("environment: qa\n", "no mason host found on provider(s) standin, environment 'qa'"),
    ],
)
def test_fails_closed(inventory, capfd, text, message):
    with pytest.raises(AnsibleError, match="Completely failed to parse inventory source"):
        inventory("plugin: mason\nproviders: [standin]\n" + text)
    assert message in capfd.readouterr().err  # Ansible's warning names the plugin's error


def test_allow_empty_accepts_nothing_found(inventory):
    inv = inventory("plugin: mason\nproviders: [standin]\nenvironment: qa\nallow_empty: true\n")
    assert inv.get_hosts() == []


def test_constructed_options(inventory):
    inv = inventory(
        "plugin: mason\nproviders: [standin]\n"
        "compose:\n  rack: mason_zone ~ '-' ~ mason_role\n"
        "groups:\n  first_hosts: mason_host_index == 1\n"
        "keyed_groups:\n  - key: mason_labels.disk\n    prefix: disk\n"
    )
    assert inv.get_host("alpha-h2").vars["rack"] == "zone-b-worker"
    assert sorted(h.name for h in inv.groups["first_hosts"].get_hosts()) == ["alpha-h1", "beta-h1"]
    assert len(inv.groups["disk_ssd"].get_hosts()) == 3


def test_keys_from_the_pod_or_from_a_credential(inventory, tmp_path):
    pod = inventory("plugin: mason\nproviders: [standin]\npods: [beta]\n").get_host("beta-h1").vars
    assert pod["ansible_ssh_private_key_file"].endswith("/keys/standin/beta/id_ed25519")
    assert "UserKnownHostsFile=" in pod["ansible_ssh_common_args"]
    (tmp_path / "known_hosts").write_text("")
    cred = (
        inventory(
            "plugin: mason\nproviders: [standin]\npods: [beta]\n"
            "ssh_key: credential\nknown_hosts_file: known_hosts\n"
        )
        .get_host("beta-h1")
        .vars
    )
    assert "ansible_ssh_private_key_file" not in cred
    assert cred["ansible_ssh_common_args"] == (
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={tmp_path / 'known_hosts'}"
    )


def test_mason_yml_is_found_from_the_inventory_file(tmp_path, monkeypatch):
    """A static pod in the project's mason.yml, read by an inventory file two levels below it
    while the working directory (and $MASON_PROJECT_DIR) point elsewhere."""
    project = tmp_path / "proj"
    (project / "inventory" / "awx").mkdir(parents=True)
    (project / "mason.yml").write_text(
        "pods:\n  rack1:\n    provider: static\n    options:\n      hosts:\n"
        "        - {address: 192.0.2.10}\n        - {address: 192.0.2.11, port: 2222}\n"
    )
    source = project / "inventory" / "awx" / "rack.mason.yml"
    source.write_text("plugin: mason.mason.mason\npods: [rack1]\nssh_key: credential\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MASON_PROJECT_DIR", str(elsewhere))
    monkeypatch.setenv("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))
    from ansible.plugins.loader import inventory_loader

    inventory_loader.add_directory(str(REPO / "plugins" / "inventory"))
    inv = InventoryManager(loader=DataLoader(), sources=[str(source)])
    hosts = {h.name: h.vars for h in inv.get_hosts()}
    assert sorted(hosts) == ["rack1-h1", "rack1-h2"]
    assert hosts["rack1-h2"]["ansible_port"] == 2222
    assert "ansible_ssh_private_key_file" not in hosts["rack1-h1"]
