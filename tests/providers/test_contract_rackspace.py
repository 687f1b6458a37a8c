"""The rackspace provider against the provider contract, and its CLI behaviour, on mimic.

Every call goes to the mimic the session fixture started on 127.0.0.1; mimic's
service catalog points only at itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from mason.core.errors import NotFound
from mason.providers.rackspace import RackspaceProvider
from tests.conftest import unique_pod_name
from tests.integration.conftest import mason
from tests.providers.conftest import assert_loopback
from tests.providers.contract import ProviderContract

REGION = "ORD"
IMAGE = "Debian 8*"  # mimic's images are old; the default is "Debian 12*"


def leftovers(provider: RackspaceProvider, pod: str) -> list[str]:
    """Servers whose metadata names the pod, and the pod's key pair, from the API itself."""
    compute = provider.conn.compute
    assert_loopback(compute.get_endpoint())
    found = [
        f"server {s.id} ({s.name})"
        for s in compute.servers(details=True)
        if (s.metadata or {}).get("mason:pod") == pod
    ]
    found += [f"key pair {k.name}" for k in compute.keypairs() if k.name == f"mason-{pod}"]
    return found


@pytest.fixture(scope="module")
def rax_env(mimic: dict[str, str]):
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAX_")]:
            mp.delenv(key)
        for key, value in mimic.items():
            mp.setenv(key, value)
        assert_loopback(mimic["RAX_IDENTITY_URL"])
        yield mimic


class TestRackspaceContract(ProviderContract):
    name = "rackspace"

    @pytest.fixture(scope="class")
    @classmethod
    def provider(cls, rax_env) -> RackspaceProvider:
        provider = RackspaceProvider(cls.inventory_options())
        provider.check()
        return provider

    @classmethod
    def options(cls) -> dict[str, Any]:
        return {"region": REGION, "image": IMAGE, "size": "general1-1"}

    @classmethod
    def inventory_options(cls) -> dict[str, Any]:
        return {"region": REGION}

    def leftovers(self, provider: RackspaceProvider, pod: str) -> list[str]:
        return leftovers(provider, pod)


# -- the CLI on rackspace ---------------------------------------------------------------


@pytest.fixture
def rax_cli(rax_env, tmp_path: Path):
    pod = unique_pod_name("rax")
    body = {"provider": "rackspace", "options": {"region": REGION, "image": IMAGE}}
    (tmp_path / "mason.yml").write_text(yaml.safe_dump({"version": 1, "pods": {pod: body}}))
    yield tmp_path, pod
    with contextlib.suppress(NotFound):
        RackspaceProvider({"region": REGION}).destroy_pod(pod)


def test_no_wait_creates_servers_with_metadata(rax_cli) -> None:
    project, pod = rax_cli
    proc = mason("--json", "pod", "create", pod, "--hosts", "2", "--no-wait", project=project)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["created"] == [f"{pod}-h1", f"{pod}-h2"]
    provider = RackspaceProvider({"region": REGION})
    servers = {s.name: s for s in provider.conn.compute.servers(details=True)}
    meta = servers[f"{pod}-h1"].metadata
    assert (meta["mason:pod"], meta["mason:role"], meta["mason:zone"]) == (pod, "manager", "zone-a")
    assert servers[f"{pod}-h2"].metadata["mason:role"] == "worker"
    assert leftovers(provider, pod)[-1] == f"key pair mason-{pod}"
    mason("pod", "destroy", pod, "--yes", project=project)
    assert leftovers(provider, pod) == []


def test_quota_error_rolls_back_and_is_one_clear_line(rax_cli) -> None:
    """mimic answers the second server's creation as Nova does over quota (403)."""
    project, pod = rax_cli
    provider = RackspaceProvider({"region": REGION})
    session = provider.conn.session
    catalog = session.auth.get_access(session).service_catalog
    control = catalog.url_for(service_name="cloudServersBehavior", region_name=REGION)
    session.post(
        f"{assert_loopback(control)}/behaviors/creation",
        json={
            "criteria": [{"server_name": f"{pod}-h2"}],
            "name": "fail",
            "parameters": {
                "code": 403,
                "type": "forbidden",
                "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10",
            },
        },
    )
    proc = mason("pod", "create", pod, "--hosts", "2", "--no-wait", project=project, check=False)
    assert proc.returncode == 10, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("mason: error: rackspace quota reached while trying to create server")
    assert "HTTP 403: Quota exceeded for instances" in error
    assert "rolling back" in proc.stderr
    assert leftovers(provider, pod) == []


def test_bad_region_and_missing_credentials(rax_cli) -> None:
    project, pod = rax_cli
    proc = mason("pod", "create", pod, "--region", "MARS", project=project, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "rackspace region: unknown region 'MARS' for Cloud Servers (expected one of:" in (
        proc.stderr
    )
    env = {k: v for k, v in os.environ.items() if k != "RAX_API_KEY"}
    proc = mason("pod", "create", pod, project=project, check=False, env=env)
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.startswith("mason: error: rackspace: no credentials (RAX_API_KEY not set)")
    assert os.environ["RAX_USERNAME"] not in proc.stderr
