"""Reaching a pod's host from the controller over SSH: commands and forwarded ports.

One home for the ssh command line mason uses outside Ansible (``mason pod ssh``,
loading the registry image, the registry tunnel): the pod's own key, its
known_hosts file (trust on first use, per pod) and the host's admin user, exactly
as the inventory gives them to Ansible.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

from mason.core.errors import EnvironmentProblem, HostsUnreachable
from mason.core.inventory import host_vars
from mason.providers.base import REGISTRY_PORT, Host

TUNNEL_TIMEOUT = 20.0


def ssh_binary() -> str:
    binary = shutil.which("ssh")
    if binary is None:
        raise EnvironmentProblem("ssh not found", hint="apt-get install openssh-client")
    return binary


def ssh_argv(host: Host, *options: str) -> list[str]:
    """``ssh ... user@address`` for ``host`` (append the remote command); ``options`` go
    before the destination (``-N``, ``-L ...``, ``-o ...``)."""
    hv = host_vars(host)
    return [
        "ssh",
        "-i",
        hv["ansible_ssh_private_key_file"],
        "-p",
        str(host.ssh_port),
        *hv["ansible_ssh_common_args"].split(),
        "-o",
        "LogLevel=ERROR",
        *options,
        f"{host.ssh_user}@{host.address}",
    ]


def batch_argv(host: Host, *options: str) -> list[str]:
    """:func:`ssh_argv` for unattended use: never prompt, fail fast on a dead host."""
    return ssh_argv(host, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", *options)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def forward_spec(local_port: int, target: str, port: int) -> str:
    """The ``-L`` argument: listen on loopback only, never on every interface."""
    return f"127.0.0.1:{local_port}:{target}:{port}"


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def tunnel(host: Host, target: str, port: int, *, timeout: float = TUNNEL_TIMEOUT) -> Iterator[int]:
    """Forward ``127.0.0.1:<free port>`` on the controller to ``target:port`` as seen
    from ``host``, for the ``with`` block; yields the local port."""
    ssh_binary()
    local = free_port()
    argv = batch_argv(
        host,
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "ServerAliveInterval=15",
        "-L",
        forward_spec(local, target, port),
    )
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while not _listening(local):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise HostsUnreachable(
                    f"cannot forward a port to {target}:{port} through {host.name}: "
                    + (err.splitlines()[-1] if err else f"ssh exited with {proc.returncode}")
                )
            if time.monotonic() > deadline:
                raise HostsUnreachable(
                    f"cannot forward a port to {target}:{port} through {host.name}: "
                    f"no listener after {timeout:g}s"
                )
            time.sleep(0.1)
        yield local
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def registry_tunnel(
    manager: Host, *, timeout: float = TUNNEL_TIMEOUT
) -> AbstractContextManager[int]:
    """The pod registry (the manager's private address, port 5443) on a loopback port."""
    return tunnel(manager, manager.private_address or "127.0.0.1", REGISTRY_PORT, timeout=timeout)


def run_on(
    host: Host, command: Sequence[str], *, stdin=None, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run ``command`` (quoted for the remote shell) on ``host``; the caller checks the code."""
    ssh_binary()
    return subprocess.run(
        [*batch_argv(host), shlex.join(command)],
        stdin=stdin,
        capture_output=True,
        check=False,
        timeout=timeout,
    )
