"""The qemu provider's pieces that need no VM: options, state records, the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mason.core.errors import InvalidInput, NotFound
from mason.providers import get_provider
from mason.providers.qemu import machine
from mason.providers.qemu.state import HOST_FILE, State, write_json


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MASON_QEMU_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accel": "xen"}, "qemu options.accel: expected auto, kvm or tcg, got 'xen'"),
        ({"boot_timeout": "soon"}, "qemu options.boot_timeout: expected seconds, got 'soon'"),
        ({"boot_timeout": -1}, "qemu options.boot_timeout: expected seconds >= 0"),
        ({"disk": "lots"}, "qemu options.disk:"),
        ({"size": "t3.small"}, "size"),
    ],
)
def test_bad_options_are_named(state_dir: Path, options, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        get_provider("qemu", options)
    assert message in str(caught.value)


def test_hosts_are_listed_from_their_records_alone(state_dir: Path) -> None:
    host_dir = state_dir / "pods" / "lab" / "lab-h1"
    host_dir.mkdir(parents=True)
    write_json(
        host_dir / HOST_FILE,
        {
            "name": "lab-h1", "pod": "lab", "environment": "dev", "zone": "zone-a",
            "role": "manager", "index": 1, "cpu": 1.0, "memory": 2**30,
            "labels": {"disk": "ssd"}, "id": "abc123", "ssh_port": 40022,
            "private_address": "192.168.77.11",
        },
    )  # fmt: skip
    (host_dir / "qemu.pid").write_text("1\n")  # pid 1 is not this VM's QEMU
    provider = get_provider("qemu")
    [host] = provider.list_hosts("lab")
    assert (host.name, host.provider, host.environment, host.role) == (
        "lab-h1",
        "qemu",
        "dev",
        "manager",
    )
    assert (host.address, host.ssh_port, host.ssh_user) == ("127.0.0.1", 40022, "mason")
    assert host.state == "stopped" and dict(host.labels) == {"disk": "ssd"}
    assert provider.list_hosts(environment="prod") == []
    assert State().pod_names() == ["lab"]


def test_destroying_an_unknown_pod_is_not_found(state_dir: Path) -> None:
    with pytest.raises(NotFound, match="pod 'nope' does not exist"):
        get_provider("qemu").destroy_pod("nope")


def test_command_line_keeps_ssh_on_loopback_and_the_pod_network_private(tmp_path: Path) -> None:
    record = {
        "name": "lab-h2", "vcpus": 2, "memory": 1024 * 2**20, "ssh_port": 40023,
        "private_address": "192.168.77.12", "pod_mac": "52:54:00:00:00:02",
        "mgmt_mac": "52:54:00:00:01:02", "key": "c3NoLWVkMjU1MTk=",
    }  # fmt: skip
    pod = {"network": {"group": "239.255.1.2", "port": 30000, "prefix": 24}}
    argv = machine.qemu_argv(record, pod, tmp_path, machine.Accel("tcg", "test"), tmp_path)
    text = " ".join(argv)
    assert "hostfwd=tcp:127.0.0.1:40023-:22" in text
    assert "mcast=239.255.1.2:30000,localaddr=127.0.0.1" in text
    assert "-smp 2" in text and "-m 1024" in text and "tcg,thread=multi" in text
    assert "spawn=deny" in text and "mason.pod_address=192.168.77.12/24" in text


def test_a_forced_accelerator_skips_the_probe(tmp_path: Path) -> None:
    accel = machine.detect_accel(tmp_path / "no-kernel", tmp_path / "accel.json", "tcg")
    assert accel.name == "tcg" and not (tmp_path / "accel.json").exists()
