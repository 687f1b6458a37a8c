"""Shared test setup: isolated MASON_HOME and project dirs, so tests never touch a user's pods."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def mason_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys and known hosts of test pods live in a throw-away MASON_HOME."""
    home = tmp_path_factory.mktemp("mason-home")
    old = os.environ.get("MASON_HOME")
    os.environ["MASON_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("MASON_HOME", None)
    else:
        os.environ["MASON_HOME"] = old


def unique_pod_name(prefix: str = "t") -> str:
    """Pod names tests use: 'mt' + random, which no user would pick by hand."""
    return f"mt{prefix}-{uuid.uuid4().hex[:6]}"


def ansible_env() -> dict[str, str]:
    """Environment for this virtualenv's ansible CLIs with mason's ansible.cfg."""
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
