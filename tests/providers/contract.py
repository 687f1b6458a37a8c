"""The provider contract: what every provider of mason must do, as tests.

A new provider gets its checklist by subclassing :class:`ProviderContract` in a
``tests/providers/test_contract_<name>.py`` and filling in three hooks:

- ``provider`` (class-scoped fixture): a ready provider, pointed at something
  local (an emulator, the local engine) - never at a real cloud;
- ``options()``: the ``PodSpec.options`` its pods need (region, size, ...);
- ``leftovers(provider, pod)``: every resource *of every type the provider
  makes* that is still there for the pod (described straight from the API, not
  through the provider's own listing), as readable strings.

The checklist (each item one test below):

1. create makes hosts ``<pod>-h1..N``; host 1 is the manager; zones round-robin;
   every host reports pod, provider, environment, an SSH address, user and port,
   capacity (cpu, memory) and the user labels;
2. growing adds only the missing indexes, in their zones; existing hosts keep
   their ids;
3. re-running with the same spec creates nothing;
4. a fresh provider object (a fresh checkout, an AWX job) lists the same pod
   from the infrastructure alone; ``list_pods`` and the environment filter work;
5. shrinking and changing the environment of an existing pod are refused
   (``InvalidInput``) and change nothing;
6. the Ansible inventory plugin (``ansible-inventory``) finds the pod through the
   provider and groups it by pod, zone, role, environment and provider;
7. destroy removes every resource made for the pod and nothing is left
   (``leftovers`` is empty); a second destroy raises ``NotFound``.

Providers that do not create machines (``creates_hosts = False``, e.g. static)
have their own cycle in their test module: adopt, re-run, inventory, forget.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from mason.core.errors import InvalidInput, NotFound
from mason.providers.base import CreateResult, Host, PodSpec, Provider
from mason.providers.keys import forget_pod, pod_key
from tests.conftest import ansible_env, unique_pod_name

ENVIRONMENT = "ci"
ZONES = ("zone-a", "zone-b")


def ansible_inventory(tmp: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run the real ``ansible-inventory --list`` over a mason inventory source."""
    source = tmp / "pods.mason.yml"
    source.write_text(yaml.safe_dump(config))
    env = ansible_env()
    proc = subprocess.run(
        ["ansible-inventory", "-i", str(source), "--list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"ansible-inventory failed:\n{proc.stderr}"
    return _plain(json.loads(proc.stdout))


def _plain(value: Any) -> Any:
    """ansible-core 2.19 marks strings from plugins as ``{"__ansible_unsafe": ...}``."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def assert_inventory_groups(inventory: dict[str, Any], hosts: list[Host]) -> None:
    """The groups and connection variables the plugin must give these hosts."""
    pod = hosts[0].pod
    group = pod.replace("-", "_")

    def members(name: str) -> set[str]:
        return set(inventory.get(name, {}).get("hosts", []))

    names = {h.name for h in hosts}
    assert members(f"pod_{group}") == names
    assert names <= members(f"env_{hosts[0].environment}")
    assert names <= members(f"provider_{hosts[0].provider}")
    assert {h.name for h in hosts if h.role == "manager"} == members("role_manager") & names
    for host in hosts:
        assert host.name in members(f"zone_{host.zone.replace('-', '_')}")
        hostvars = inventory["_meta"]["hostvars"][host.name]
        assert hostvars["ansible_host"] == host.address
        assert hostvars["ansible_port"] == host.ssh_port
        assert hostvars["ansible_user"] == host.ssh_user
        assert hostvars["mason_pod"] == pod
        assert hostvars["mason_role"] == host.role
        assert hostvars["ansible_ssh_private_key_file"].endswith(
            f"keys/{host.provider}/{pod}/id_ed25519"
        )


class ProviderContract:
    """Subclass, set ``name``, and provide the ``provider`` fixture and the hooks."""

    name: ClassVar[str]
    labels: ClassVar[dict[str, str]] = {"disk": "ssd"}

    # -- hooks ------------------------------------------------------------------
    @classmethod
    def options(cls) -> dict[str, Any]:
        return {}

    def leftovers(self, provider: Provider, pod: str) -> list[str]:
        raise NotImplementedError

    @classmethod
    def inventory_options(cls) -> dict[str, Any]:
        return cls.options()

    # -- the pod every test of the class looks at ---------------------------------
    @classmethod
    def spec(cls, pod: str, hosts: int, **changes: Any) -> PodSpec:
        fields = {
            "name": pod,
            "provider": cls.name,
            "environment": ENVIRONMENT,
            "hosts": hosts,
            "zones": ZONES,
            "cpu": 1.0,
            "memory": 512 * 2**20,
            "labels": cls.labels,
            "options": cls.options(),
            **changes,
        }
        return PodSpec(**fields)

    @pytest.fixture(scope="class")
    @classmethod
    def cycle(cls, provider: Provider) -> dict[str, Any]:
        """Create 1 host, grow to 2, re-run with 2: the results every test checks."""
        pod = unique_pod_name(cls.name[:3])
        key = pod_key(cls.name, pod)
        state: dict[str, Any] = {"pod": pod, "key": key}
        try:
            state["first"] = provider.create_hosts(cls.spec(pod, 1), key)
            state["grown"] = provider.create_hosts(cls.spec(pod, 2), key)
            state["rerun"] = provider.create_hosts(cls.spec(pod, 2), key)
            yield state
        finally:
            with contextlib.suppress(NotFound):
                provider.destroy_pod(pod)
            forget_pod(cls.name, pod)

    # -- 1. create ------------------------------------------------------------------
    def test_create_makes_the_manager_first(self, cycle: dict[str, Any]) -> None:
        first: CreateResult = cycle["first"]
        pod = cycle["pod"]
        assert [h.name for h in first.created] == [f"{pod}-h1"]
        assert first.existing == []
        host = first.created[0]
        assert (host.pod, host.provider, host.environment) == (pod, self.name, ENVIRONMENT)
        assert (host.index, host.role, host.zone) == (1, "manager", ZONES[0])
        assert host.address and host.ssh_port > 0 and host.ssh_user
        assert host.cpu > 0 and host.memory > 0
        assert dict(host.labels) == self.labels
        assert host.id

    # -- 2. grow --------------------------------------------------------------------
    def test_grow_adds_only_the_missing_host_in_the_next_zone(self, cycle: dict[str, Any]):
        grown: CreateResult = cycle["grown"]
        pod = cycle["pod"]
        assert [h.name for h in grown.created] == [f"{pod}-h2"]
        assert [h.name for h in grown.existing] == [f"{pod}-h1"]
        assert grown.existing[0].id == cycle["first"].created[0].id
        new = grown.created[0]
        assert (new.index, new.role, new.zone) == (2, "worker", ZONES[1])

    # -- 3. no-op re-run ---------------------------------------------------------
    def test_rerun_creates_nothing(self, cycle: dict[str, Any]) -> None:
        rerun: CreateResult = cycle["rerun"]
        assert rerun.created == [] and not rerun.changed
        grown: CreateResult = cycle["grown"]
        assert [h.id for h in rerun.hosts] == [h.id for h in grown.hosts]

    # -- 4. list from the infrastructure alone ---------------------------------------
    def test_fresh_provider_lists_the_same_pod(self, cycle: dict[str, Any]) -> None:
        from mason.providers import get_provider

        pod = cycle["pod"]
        fresh = get_provider(self.name, self.inventory_options())
        hosts = fresh.list_hosts(pod)
        assert [(h.name, h.id, h.zone, h.role) for h in hosts] == [
            (h.name, h.id, h.zone, h.role) for h in cycle["rerun"].hosts
        ]
        assert [h.name for h in fresh.list_pods()[pod]] == [f"{pod}-h1", f"{pod}-h2"]
        assert pod in {h.pod for h in fresh.list_hosts(environment=ENVIRONMENT)}
        assert pod not in {h.pod for h in fresh.list_hosts(environment="no-such-env")}

    # -- 5. refusals -----------------------------------------------------------------
    def test_shrink_and_environment_change_are_refused(
        self, provider: Provider, cycle: dict[str, Any]
    ) -> None:
        pod, key = cycle["pod"], cycle["key"]
        with pytest.raises(InvalidInput, match="shrink"):
            provider.create_hosts(self.spec(pod, 1), key)
        with pytest.raises(InvalidInput, match="environment"):
            provider.create_hosts(self.spec(pod, 2, environment="other"), key)
        assert len(provider.list_hosts(pod)) == 2

    # -- 6. inventory plugin ------------------------------------------------------------
    def test_inventory_plugin_groups_the_pod(self, cycle: dict[str, Any], tmp_path: Path) -> None:
        inventory = ansible_inventory(
            tmp_path,
            {
                "plugin": "mason",
                "providers": [self.name],
                "provider_options": {self.name: self.inventory_options()},
            },
        )
        assert_inventory_groups(inventory, cycle["rerun"].hosts)

    # -- 7. destroy ------------------------------------------------------------------------
    def test_destroy_leaves_nothing(self, provider: Provider, cycle: dict[str, Any]) -> None:
        pod = cycle["pod"]
        assert self.leftovers(provider, pod), "the pod's resources should exist before destroy"
        result = provider.destroy_pod(pod)
        assert result.removed
        assert provider.list_hosts(pod) == []
        assert self.leftovers(provider, pod) == []
        with pytest.raises(NotFound):
            provider.destroy_pod(pod)
