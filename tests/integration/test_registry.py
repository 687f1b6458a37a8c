"""The pod registry on a real 2-host pod: push by digest, pull on a worker, TLS only with
the pod CA, published on the manager's private address only, idempotent setup.

Every refusal is checked beside a positive control with the same client code. Traffic
goes only to 127.0.0.1 (the SSH tunnel) and the pod's own containers.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import textwrap
import time
from pathlib import Path

import docker
import pytest

from mason.core.errors import NotFound
from mason.operations import images
from mason.operations.lookup import hosts_of
from mason.operations.remote import registry_tunnel
from mason.operations.session import Session
from mason.runner import RunResult
from tests.conftest import unique_pod_name
from tests.integration.conftest import mason

pytestmark = pytest.mark.integration

APP = """\
name: tiny
services:
  hello:
    build: hello
"""
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN echo hello from the pod registry test > /hello
CMD ["cat", "/hello"]
"""


def sh(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{shlex.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def on_host(host: str, *args: str, check: bool = True, timeout: float = 120):
    """A command in a host's own namespace (as root), like an operator on the machine."""
    return sh("docker", "exec", f"mason-{host}", *args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    name = unique_pod_name("reg")
    project = tmp_path_factory.mktemp("registry-proj")
    (project / "apps").mkdir()
    (project / "apps" / "tiny.yml").write_text(APP)
    (project / "apps" / "hello").mkdir()
    (project / "apps" / "hello" / "Dockerfile").write_text(DOCKERFILE)
    try:
        mason("pod", "create", name, "--hosts", "2", project=project)
        out = mason("--json", "image", "push", "tiny", "--pod", name, project=project)
        pushed = json.loads(out.stdout.strip().splitlines()[-1])
        yield {"name": name, "project": project, "pushed": pushed}
    finally:
        mason("pod", "destroy", name, "--yes", project=project, check=False)


def test_push_returns_references_by_digest(pod) -> None:
    name = pod["name"]
    refs = pod["pushed"]["images"]
    assert set(refs) >= {"hello", "mason/proxy"}
    for ref in refs.values():
        assert ref.startswith(f"registry.mason.{name}:5443/"), ref
        repo, _, digest = ref.partition("@")
        assert digest.startswith("sha256:") and len(digest) == 71, ref
        assert ":" not in repo.split("/", 1)[1], f"a tag in {ref}"


def test_second_push_sends_nothing_and_names_the_same_digests(pod) -> None:
    started = time.monotonic()
    out = mason("image", "push", "tiny", "--pod", pod["name"], project=pod["project"])
    elapsed = time.monotonic() - started
    # kept beside the project for the docs' example output
    (pod["project"] / "second-push.txt").write_text(
        f"$ mason image push tiny --pod {pod['name']}\n{out.stderr}{out.stdout}({elapsed:.1f}s)\n"
    )
    shown = dict(line.split() for line in out.stdout.strip().splitlines())
    assert shown == pod["pushed"]["images"]
    assert "pushing " not in out.stderr, out.stderr


def test_worker_pulls_the_same_image_by_digest(pod, engine) -> None:
    worker = f"{pod['name']}-h2"
    ref = pod["pushed"]["images"]["hello"]
    on_host(worker, "docker", "pull", "-q", ref)
    pulled = on_host(worker, "docker", "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
    local = next(t for t in engine.images.list("mason-app-tiny-hello") if t.tags)
    assert pulled == local.id
    ran = on_host(worker, "docker", "run", "--rm", ref).stdout
    assert "hello from the pod registry test" in ran


HANDSHAKE = textwrap.dedent(
    """\
    import socket, ssl, sys
    name, cafile, tls12 = sys.argv[1], sys.argv[2], sys.argv[3] == "tls12"
    ctx = ssl.create_default_context(cafile=cafile or None)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((name, 5443), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(f"GET /v2/ HTTP/1.0\\r\\nHost: {name}\\r\\n\\r\\n".encode())
                print("OK", tls.version(), tls.recv(64).decode().splitlines()[0])
    except ssl.SSLError as exc:
        print("REFUSED", type(exc).__name__, exc.reason)
    """
)


def handshake(host: str, name: str, cafile: str = "", *, tls12: bool = False) -> str:
    return on_host(
        host, "python3", "-c", HANDSHAKE, name, cafile, "tls12" if tls12 else "tls13"
    ).stdout.strip()


def test_registry_serves_tls13_only_to_clients_that_trust_the_pod_ca(pod) -> None:
    name = pod["name"]
    registry = f"registry.mason.{name}"
    ca = f"/etc/docker/certs.d/{registry}:5443/ca.crt"
    worker = f"{name}-h2"
    # positive control: the same client, trusting the pod CA, gets the API's answer
    assert handshake(worker, registry, ca).startswith("OK TLSv1.3 HTTP/1.0 200"), handshake(
        worker, registry, ca
    )
    # a client with only the system's CAs: a real certificate verification failure
    refused = handshake(worker, registry)
    assert refused.startswith("REFUSED SSLCertVerificationError"), refused
    # a client limited to TLS 1.2, even trusting the CA: the server refuses the version
    old = handshake(worker, registry, ca, tls12=True)
    assert old.startswith("REFUSED") and "VERSION" in old.upper(), old


def test_registry_is_published_on_the_private_address_only(pod) -> None:
    name = pod["name"]
    _, hosts = hosts_of(pod["project"], name)
    manager = next(h for h in hosts if h.role == "manager")
    info = json.loads(on_host(manager.name, "docker", "inspect", images.REGISTRY_CONTAINER).stdout)[
        0
    ]
    bindings = info["HostConfig"]["PortBindings"]
    assert bindings == {"5443/tcp": [{"HostIp": manager.private_address, "HostPort": "5443"}]}
    assert manager.private_address not in ("", "0.0.0.0")  # noqa: S104 - the value refused
    hc = info["HostConfig"]
    assert hc["CapDrop"] == ["ALL"] and not hc["CapAdd"]
    assert hc["ReadonlyRootfs"] is True
    assert "no-new-privileges" in hc["SecurityOpt"]
    assert hc["RestartPolicy"]["Name"] == "unless-stopped"
    assert hc["Privileged"] is False
    assert info["Config"]["User"] == "5443:5443"
    # every host resolves the name to the manager's private address
    for host in hosts:
        line = on_host(host.name, "getent", "hosts", f"registry.mason.{name}").stdout.split()
        assert line[0] == manager.private_address


def test_tunnel_reaches_the_registry_and_closes(pod, tmp_path: Path) -> None:
    import socket
    import ssl
    import urllib.request

    name = pod["name"]
    _, hosts = hosts_of(pod["project"], name)
    manager = next(h for h in hosts if h.role == "manager")
    ca = tmp_path / "ca.crt"
    ca.write_text(on_host(manager.name, "cat", images.ca_path(name)).stdout)
    with registry_tunnel(manager) as port:
        ctx = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/v2/", context=ctx) as reply:
            assert reply.status == 200
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def changed_tasks(result: RunResult) -> list[str]:
    return [
        f"{e['event_data'].get('host')}: {e['event_data'].get('task')}"
        for e in result.events()
        if e.get("event") == "runner_on_ok" and (e["event_data"].get("res") or {}).get("changed")
    ]


def test_second_ensure_changes_nothing(pod) -> None:
    name = pod["name"]
    runs: list[RunResult] = []
    session = Session(project_dir=pod["project"], finished=runs.append)
    _, hosts = hosts_of(pod["project"], name)
    manager = next(h for h in hosts if h.role == "manager")

    def started() -> str:
        return on_host(
            manager.name, "docker", "inspect", "-f", "{{.State.StartedAt}}", "mason-registry"
        ).stdout

    before = started()
    # the fast path: everything is in place, no playbook runs
    assert images.ensure_registry(session, name) == f"registry.mason.{name}:5443"
    assert runs == []
    # the playbook itself, run again: nothing changes, nothing restarts
    assert images.ensure_registry(session, name, force=True) == f"registry.mason.{name}:5443"
    assert len(runs) == 1 and runs[0].ok
    assert runs[0].changed == 0, changed_tasks(runs[0])
    assert started() == before
    # a host that lost its trust is noticed, and repaired
    worker = f"{name}-h2"
    on_host(worker, "rm", images.ca_path(name))
    images.ensure_registry(session, name)
    assert len(runs) == 2 and runs[1].changed >= 1
    on_host(worker, "test", "-s", images.ca_path(name))


def test_push_of_an_image_not_here_is_one_clear_error(pod) -> None:
    session = Session(project_dir=pod["project"])
    client = docker.from_env()
    assert not client.images.list("mason-no-such-image")
    with pytest.raises(NotFound, match="not on this machine's engine"):
        images.push_images(session, pod["name"], {"x": "mason-no-such-image:1"})
