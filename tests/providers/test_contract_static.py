"""The static provider: existing machines adopted from mason.yml, provisioned for real.

The "existing machines" are host containers this test makes itself with the docker
provider; a static pod definition then lists them by address and port, as an
operator would list bare-metal servers.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import docker
import pytest
import yaml

from mason.core.errors import InvalidInput, NotFound
from mason.paths import pod_key_dir
from mason.providers.base import PodSpec
from mason.providers.docker import DockerProvider
from mason.providers.keys import forget_pod, pod_key
from mason.providers.static import StaticProvider
from mason.providers.wait import wait_for_ssh
from tests.conftest import unique_pod_name
from tests.integration.conftest import mason
from tests.providers.contract import ansible_inventory, assert_inventory_groups

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def machines():
    """Two running host containers with sshd: the 'existing machines'."""
    provider = DockerProvider()
    provider.check()
    pod = unique_pod_name("metal")
    spec = PodSpec(name=pod, hosts=2, zones=("zone-a",), memory=512 * 2**20)
    try:
        hosts = provider.create_hosts(spec, pod_key("docker", pod)).hosts
        assert wait_for_ssh(hosts, timeout=60) == []
        yield hosts
    finally:
        with contextlib.suppress(NotFound):
            provider.destroy_pod(pod)
        forget_pod("docker", pod)


@pytest.fixture(scope="module")
def project(machines, tmp_path_factory) -> tuple[Path, str]:
    """A mason.yml listing the machines as static pod 'bare', which authorizes its key."""
    project = tmp_path_factory.mktemp("static")
    pod = unique_pod_name("bare")
    public = pod_key("static", pod).public_openssh
    engine = docker.from_env()
    for host in machines:
        container = engine.containers.get(f"mason-{host.name}")
        code, out = container.exec_run(
            ["sh", "-c", f"echo '{public}' >> /home/mason/.ssh/authorized_keys"]
        )
        assert code == 0, out
    body = {
        "provider": "static",
        "environment": "ci",
        "zones": ["room-a", "room-b"],
        "labels": {"tier": "metal"},
        "options": {
            "hosts": [
                {"address": "127.0.0.1", "port": machines[0].ssh_port, "labels": {"disk": "ssd"}},
                {"address": "127.0.0.1", "port": machines[1].ssh_port, "user": "mason"},
            ]
        },
    }
    (project / "mason.yml").write_text(yaml.safe_dump({"version": 1, "pods": {pod: body}}))
    yield project, pod
    forget_pod("static", pod)


def run(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # cwd too: commands that do not pass the project to providers find mason.yml there.
    return mason(*args, project=project, check=check, cwd=project)


def test_adopt_provision_rerun_inventory_forget(project, machines, tmp_path: Path) -> None:
    project_dir, pod = project
    # 1. adopt and provision for real: no machine is created, both hosts are reached.
    proc = run(project_dir, "--json", "pod", "create", pod)
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    summary = next(e for e in lines if e.get("event") == "summary")
    assert summary["status"] == "successful"
    assert set(summary["hosts"]) == {f"{pod}-h1", f"{pod}-h2"}
    assert all(s["ok"] > 0 and s["unreachable"] == 0 for s in summary["hosts"].values())
    result = lines[-1]
    assert result["created"] == []
    hosts = result["hosts"]
    assert [(h["name"], h["zone"], h["role"], h["ssh_port"]) for h in hosts] == [
        (f"{pod}-h1", "room-a", "manager", machines[0].ssh_port),
        (f"{pod}-h2", "room-b", "worker", machines[1].ssh_port),
    ]
    assert hosts[0]["labels"] == {"tier": "metal", "disk": "ssd"}
    # 2. a re-run changes nothing on the provider side.
    again = json.loads(
        run(project_dir, "--json", "pod", "create", pod, "--no-wait").stdout.splitlines()[-1]
    )
    assert again["created"] == [] and len(again["hosts"]) == 2
    # 3. --hosts cannot make machines appear.
    proc = run(project_dir, "pod", "create", pod, "--hosts", "3", "--no-wait", check=False)
    assert proc.returncode == 3
    assert "mason never creates machines: edit the list instead" in proc.stderr
    # 4. the inventory plugin reads the same definition (an AWX checkout would).
    provider = StaticProvider({"project_dir": str(project_dir)})
    inventory = ansible_inventory(
        tmp_path,
        {
            "plugin": "mason",
            "providers": ["static"],
            "provider_options": {"static": {"project_dir": str(project_dir)}},
        },
    )
    assert_inventory_groups(inventory, provider.list_hosts(pod))
    # 5. destroy forgets mason's key and known hosts; the machines keep running.
    assert pod_key_dir("static", pod).exists()
    run(project_dir, "pod", "destroy", pod, "--yes")
    assert not pod_key_dir("static", pod).exists()
    engine = docker.from_env()
    assert all(engine.containers.get(f"mason-{h.name}").status == "running" for h in machines)
    assert [h.name for h in provider.list_hosts(pod)] == [f"{pod}-h1", f"{pod}-h2"]


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "expected a non-empty list of hosts"),
        ([{"port": 22}], "hosts[0].address: expected a host name or IP address"),
        ([{"address": "a", "port": 70000}], "hosts[0].port: expected a TCP port 1-65535"),
        ([{"address": "a"}, "a"], "hosts[1]: a:22 is already listed as host 1"),
        ([{"address": "a", "role": "boss"}], "hosts[0].role: expected 'manager' or 'worker'"),
        (
            [{"address": "a", "adress": "b"}],
            "hosts[0].adress: unknown key (did you mean 'address'?)",
        ),
    ],
)
def test_bad_definitions_name_the_entry(tmp_path: Path, hosts, message) -> None:
    body = {"provider": "static", "options": {"hosts": hosts}}
    (tmp_path / "mason.yml").write_text(yaml.safe_dump({"pods": {"rack": body}}))
    with pytest.raises(InvalidInput) as caught:
        StaticProvider({"project_dir": str(tmp_path)}).list_hosts("rack")
    assert message in str(caught.value)
    assert "pods.rack.options.hosts" in str(caught.value)
