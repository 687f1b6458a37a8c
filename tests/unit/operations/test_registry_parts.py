"""Pure parts of the pod registry operations: names, references, ssh command lines."""

from __future__ import annotations

import pytest

from mason.core.errors import InvalidInput, ProviderError
from mason.operations import images, remote
from mason.paths import pod_key_dir
from mason.providers.base import Host

DIGEST = "sha256:" + "ab" * 32


def host(**kw) -> Host:
    fields = {
        "name": "demo-h1",
        "pod": "demo",
        "provider": "docker",
        "role": "manager",
        "zone": "a",
        "environment": "dev",
        "address": "127.0.0.1",
        "ssh_port": 2201,
        "ssh_user": "mason",
        "index": 1,
        "private_address": "172.30.0.2",
        "cpu": 1.0,
        "memory": 2**30,
    }
    fields.update(kw)
    return Host(**{k: v for k, v in fields.items() if k in Host.__dataclass_fields__})


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("mason-proxy:d21947214c5b", ("mason-proxy", "d21947214c5b")),
        ("mason-app-shop-web:1a2b", ("mason-app-shop-web", "1a2b")),
        ("nginx", ("nginx", "latest")),
        ("Team/Web:2", ("team/web", "2")),
        ("localhost:5000/web:2", ("web", "2")),
        ("example.com/a/b:3", ("a/b", "3")),
        ("127.0.0.1:41000/x@" + DIGEST, ("x", "latest")),
        ("team/web", ("team/web", "latest")),
    ],
)
def test_repository_drops_registry_and_digest(local: str, expected) -> None:
    assert images.repository(local) == expected


def test_repository_refuses_a_non_reference() -> None:
    with pytest.raises(InvalidInput):
        images.repository(":tag")


def test_references_are_by_digest_under_the_pod_registry() -> None:
    assert images.registry_prefix("demo") == "registry.mason.demo:5443"
    assert images.digest_ref("demo", "web", DIGEST) == f"registry.mason.demo:5443/web@{DIGEST}"
    assert images.ca_path("demo") == "/etc/docker/certs.d/registry.mason.demo:5443/ca.crt"
    for bad in ("", "latest", "sha256:abc", "md5:" + "ab" * 32):
        with pytest.raises(ProviderError):
            images.digest_ref("demo", "web", bad)


def test_manager_of_finds_the_manager() -> None:
    manager, worker = host(), host(name="demo-h2", role="worker", index=2)
    assert images.manager_of("demo", [worker, manager]) is manager
    with pytest.raises(Exception, match="no manager"):
        images.manager_of("demo", [worker])


def test_ssh_argv_uses_the_pods_key_and_known_hosts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MASON_HOME", str(tmp_path))
    argv = remote.ssh_argv(host(), "-N")
    keys = pod_key_dir("docker", "demo")
    assert argv[:5] == ["ssh", "-i", str(keys / "id_ed25519"), "-p", "2201"]
    assert f"UserKnownHostsFile={keys}/known_hosts" in argv
    assert "StrictHostKeyChecking=accept-new" in argv
    assert argv[-2:] == ["-N", "mason@127.0.0.1"]
    batch = remote.batch_argv(host())
    assert "BatchMode=yes" in batch and batch[-1] == "mason@127.0.0.1"


def test_forwards_listen_on_loopback_only() -> None:
    assert remote.forward_spec(41000, "172.30.0.2", 5443) == "127.0.0.1:41000:172.30.0.2:5443"
    port = remote.free_port()
    assert 1024 < port < 65536


def test_manager_check_quotes_and_names_every_part() -> None:
    check = images.manager_check("demo", "mason-registry:abc", "172.30.0.2")
    assert check.startswith("set -e; ")
    assert "= 'true mason-registry:abc';" in check
    assert "-checkend 2592000" in check
    assert f"-CAfile {images.ca_path('demo')}" in check
    assert check.endswith("grep -qx '172.30.0.2 registry.mason.demo' /etc/hosts")
