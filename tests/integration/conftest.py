"""Integration fixtures: real pods on the real Docker engine, always cleaned up."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
import yaml

from tests.conftest import REPO, unique_pod_name

MASON = [sys.executable, "-m", "mason"]


def ansible_playbook(
    pod: str, playbook: Path, extravars: dict, tmp: Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run a playbook against the pod as an Ansible or AWX user would: the mason
    inventory plugin, extra variables, nothing from the CLI."""
    inventory = tmp / "pod.mason.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "mason", "pods": [pod]}))
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", str(inventory), "-e", json.dumps(extravars),
         str(playbook)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
             "PATH": str(bin_dir) + os.pathsep + os.environ["PATH"]},
    )  # fmt: skip


def mason(
    *args: str, project: Path, check: bool = True, timeout: float = 600, **kw
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    proc = subprocess.run(
        [*MASON, "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"mason {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure means no engine
        pytest.fail(f"integration tests need a running Docker engine: {exc}")
    return client


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def make_pod(engine, tmp_path_factory) -> Iterator[Callable[..., dict]]:
    """make_pod(hosts=3, *extra_args) -> the pod's JSON; every pod is destroyed afterwards."""
    made: list[tuple[str, Path]] = []

    def _make(
        hosts: int = 3, *extra: str, name: str | None = None, project: Path | None = None
    ) -> dict:
        name = name or unique_pod_name()
        project = project or tmp_path_factory.mktemp("proj")
        made.append((name, project))
        proc = mason(
            "--json", "pod", "create", name, "--hosts", str(hosts), *extra, project=project
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    yield _make
    for name, project in made:
        mason("pod", "destroy", name, "--yes", project=project, check=False)


class Deployed:
    """A hardened local pod running the sample guestbook (`mason up`), shared by the
    deploy and operate tests: building and hardening it is most of their cost."""

    def __init__(self, name: str, project: Path, up: dict) -> None:
        self.name, self.project, self.up = name, project, up
        self.hosts = {h["name"]: h for h in up["hosts"]}

    def host(self, n: int) -> str:
        return f"{self.name}-h{n}"

    def address(self, host: str) -> str:
        return self.hosts[host]["private_address"]

    def mason(self, *args: str, check: bool = True, timeout: float = 900):
        return mason(*args, project=self.project, check=check, timeout=timeout)

    def on_host(self, host: str, *args: str, check: bool = True, timeout: float = 60):
        proc = subprocess.run(
            ["docker", "exec", f"mason-{host}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{host}: {' '.join(args)}: {proc.stderr or proc.stdout}")
        return proc

    def running(self, host: str) -> bool:
        proc = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", f"mason-{host}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.stdout.strip() == "true"

    def haproxy_processes(self) -> dict[str, int]:
        """'<host>/<container>' -> how many haproxy processes run in each proxy and edge
        (a master and its worker: 2; an old worker left by a reload makes it more)."""
        out = {}
        for name, c in self.containers().items():
            if c["labels"].get("mason.part") not in ("proxy", "edge"):
                continue
            if not c["inspect"]["State"]["Running"]:
                continue
            top = self.on_host(c["host"], "docker", "top", name, "-o", "pid,args").stdout
            out[f"{c['host']}/{name}"] = sum(
                1 for line in top.splitlines()[1:] if " haproxy " in f" {line} "
            )
        return out

    def key_of(self, host: str, instance: str, dest: Path) -> Path:
        """A copy of an instance's certificate and key (and its CA beside), read off its
        host: what an attacker who took that host, or a backup of it, holds."""
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        for f in ("proxy.pem", "ca.pem"):
            pem = self.on_host(host, "cat", f"/etc/mason/pki/certs/{instance}/{f}").stdout
            (dest / f).touch(mode=0o600)
            (dest / f).write_text(pem)
        return dest

    def probe_postgresql(self, key: Path, avoid: str = "") -> str:
        """Present the certificate in ``key`` (:meth:`key_of`) to the PostgreSQL addon's
        sidecar (on a host other than ``avoid``) over its published port, as any machine
        on the pod's network can: "answered" when PostgreSQL answers through it, else
        why the handshake or the session was refused."""
        proxy = next(
            c
            for c in self.containers().values()
            if c["labels"].get("mason.service") == "postgresql"
            and c["labels"].get("mason.part") == "proxy"
            and c["host"] != avoid
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # the pod CA is checked; names are the proxies' business
        ctx.load_verify_locations(key / "ca.pem")
        ctx.load_cert_chain(key / "proxy.pem")
        address = (self.address(proxy["host"]), int(proxy["labels"]["mason.proxy_port"]))
        try:
            with (
                socket.create_connection(address, timeout=10) as raw,
                ctx.wrap_socket(raw) as tls,
            ):
                # PostgreSQL's SSLRequest: it answers one byte ("N": no TLS inside)
                tls.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
                return "answered" if tls.recv(1) else "refused: closed"
        except (ssl.SSLError, OSError) as exc:
            return f"refused: {exc}"

    def containers(self) -> dict[str, dict]:
        """Every mason container on the pod's hosts: name -> {host, id, labels, started}."""
        out = {}
        for host in self.hosts:
            if not self.running(host):
                continue  # a host a test stopped (heal): it runs nothing
            ids = self.on_host(host, "docker", "ps", "-aq", "--filter", "label=mason.app").stdout
            if not ids.split():
                continue
            data = json.loads(self.on_host(host, "docker", "inspect", *ids.split()).stdout)
            for c in data:
                out[c["Name"].lstrip("/")] = {
                    "host": host,
                    "id": c["Id"],
                    "labels": c["Config"]["Labels"],
                    "started": c["State"]["StartedAt"],
                    "inspect": c,
                }
        return out


@pytest.fixture(scope="session")
def deployed(engine, tmp_path_factory) -> Iterator[Deployed]:
    name = unique_pod_name("d")
    project = tmp_path_factory.mktemp("deployed")
    try:
        proc = mason("--json", "up", "--pod", name, project=project, timeout=1800)
        yield Deployed(name, project, json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        mason("pod", "destroy", name, "--yes", project=project, check=False)
