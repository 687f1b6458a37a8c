"""Emulated clouds for the provider tests: moto_server and mimic, on 127.0.0.1 only.

Each server is started once per session on a free loopback port. The fixtures set
fake credentials and point every client at the emulator; the endpoint is checked
to be loopback before any provider or client is made, so no test reaches a cloud.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def assert_loopback(url: str) -> str:
    host = urlparse(url).hostname
    assert host == LOOPBACK, f"refusing to test against {url}: only {LOOPBACK} is allowed"
    return url


def _wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback, checked
            return
        except urllib.error.HTTPError:
            return  # it answers: an error status is still an answer
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on {url} within {timeout:g}s")


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A moto_server on 127.0.0.1; yields the environment that points boto3 at it."""
    port = free_port()
    url = assert_loopback(f"http://{LOOPBACK}:{port}")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", LOOPBACK, "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"{url}/moto-api/", proc, "moto_server")
        home = tmp_path_factory.mktemp("aws-home")
        yield {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            # Never the user's profile, never the instance metadata service.
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def mimic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """mimic on 127.0.0.1; yields the environment that points mason's Rackspace provider at it."""
    port = free_port()
    url = assert_loopback(f"http://{LOOPBACK}:{port}")
    workdir = tmp_path_factory.mktemp("mimic")
    with (workdir / "mimic.log").open("w") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "twistd"),
                "-n",
                "--pidfile=",
                "mimic",
                "--listen",
                f"tcp:{port}:interface={LOOPBACK}",
            ],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"{url}/identity/v2.0", proc, "mimic")
        yield {
            "RAX_IDENTITY_URL": f"{url}/identity/v2.0",
            "RAX_USERNAME": "mason-test",
            "RAX_API_KEY": "not-a-real-key",
            "RAX_REGION": "ORD",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def cloud_env(monkeypatch: pytest.MonkeyPatch):
    """Apply an emulator's environment to this process (and so to subprocesses)."""

    def _apply(env: dict[str, str]) -> dict[str, str]:
        for key in [k for k in os.environ if k.startswith(("AWS_", "RAX_"))]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "RAX_IDENTITY_URL"):
            if key in env:
                assert_loopback(env[key])
        return env

    return _apply
