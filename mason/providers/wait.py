"""Wait until hosts answer SSH: the same check for every provider."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from mason.providers.base import Host


def ssh_answers(address: str, port: int, timeout: float = 3.0) -> bool:
    """True when something at address:port speaks SSH (sends its banner)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def wait_for_ssh(hosts: Sequence[Host], timeout: float = 90.0) -> list[Host]:
    """Wait for every host's SSH banner; return the hosts that never answered."""

    def wait_one(host: Host) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.ssh_port and ssh_answers(host.address, host.ssh_port):
                return True
            time.sleep(0.5)
        return False

    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        answered = list(pool.map(wait_one, hosts))
    return [h for h, ok in zip(hosts, answered, strict=True) if not ok]
