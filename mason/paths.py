"""Where mason's Ansible content lives (playbooks/, roles/, plugins/, ansible.cfg).

The content sits at the top of the repository, not inside the Python package,
so that AWX / Tower can use the same checkout as a project unchanged.
``MASON_CONTENT_DIR`` points elsewhere (e.g. a copy pinned by a platform team).
"""

from __future__ import annotations

import os
from pathlib import Path


def content_root() -> Path:
    override = os.environ.get("MASON_CONTENT_DIR")
    return Path(override).resolve() if override else Path(__file__).resolve().parent.parent


def playbook_path(name: str) -> Path:
    return content_root() / "playbooks" / (name if name.endswith(".yml") else f"{name}.yml")


def mason_home() -> Path:
    """Per-user state: pod SSH keys and known hosts. ``MASON_HOME``, default ``~/.mason``."""
    return Path(os.environ.get("MASON_HOME") or Path.home() / ".mason")


def pod_key_dir(provider: str, pod: str) -> Path:
    return mason_home() / "keys" / provider / pod
