"""How a provider's Host becomes an Ansible inventory host: groups, variables, and what
an inventory source may leave out.

The inventory plugin and the CLI both call it, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mason.core.errors import NotFound
from mason.core.names import group_name
from mason.core.project import PROJECT_FILE
from mason.paths import pod_key_dir

# Where the SSH key comes from: the pod's key pair under $MASON_HOME (the CLI's),
# or whatever the caller brings (an AWX machine credential, an ssh-agent).
KEYS_POD = "pod"
KEYS_CREDENTIAL = "credential"


@dataclass(frozen=True)
class Connection:
    """How Ansible reaches hosts: the key, and which host keys it trusts.

    ``keys``: ``pod`` uses the pod's key pair under ``$MASON_HOME/keys/<provider>/<pod>``
    (the CLI's); ``credential`` sets no key, for an AWX machine credential or an agent.
    ``known_hosts_file`` pins host keys (strict checking); without it, host keys are
    trusted on first use and recorded per pod next to its key (``pod``), or not kept.
    """

    keys: str = KEYS_POD
    known_hosts_file: str | None = None

    def host_vars(self, provider: str, pod: str) -> dict[str, Any]:
        key_dir = pod_key_dir(provider, pod) if self.keys == KEYS_POD else None
        out: dict[str, Any] = {}
        if key_dir is not None:
            out["ansible_ssh_private_key_file"] = str(key_dir / "id_ed25519")
        if self.known_hosts_file:
            # Host keys known in advance (a file in the project): anything else is refused.
            args = f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.known_hosts_file}"
        elif key_dir is not None:
            # Hosts make their own host keys on first boot: trust on first use,
            # recorded per pod, so a re-created pod on a reused port is not confused.
            args = (
                f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={key_dir}/known_hosts"
            )
        else:
            args = "-o StrictHostKeyChecking=accept-new"
        out["ansible_ssh_common_args"] = args
        return out


def groups_of(host) -> list[str]:
    return [
        group_name("pod", host.pod),
        group_name("zone", host.zone),
        group_name("role", host.role),
        group_name("env", host.environment),
        group_name("provider", host.provider),
    ]


def host_vars(host, connection: Connection | None = None) -> dict[str, Any]:
    """Connection and ``mason_*`` variables of one host."""
    return {
        "ansible_host": host.address,
        "ansible_port": host.ssh_port,
        "ansible_user": host.ssh_user,
        # mason logs in as an unprivileged admin user and becomes root with sudo.
        "ansible_become": host.ssh_user != "root",
        **(connection or Connection()).host_vars(host.provider, host.pod),
        "mason_pod": host.pod,
        "mason_environment": host.environment,
        "mason_zone": host.zone,
        "mason_role": host.role,
        "mason_provider": host.provider,
        "mason_host_index": host.index,
        "mason_cpu": host.cpu,
        "mason_memory": host.memory,
        "mason_labels": dict(host.labels),
        "mason_private_address": host.private_address,
    }


def check_found(
    hosts: Iterable[Any],
    *,
    pods: Sequence[str],
    providers: Sequence[str],
    environment: str | None = None,
    allow_empty: bool = False,
) -> None:
    """Fail closed: a named pod with no host, or no host at all, is an error.

    An empty inventory that "succeeds" is how a typo wipes an AWX inventory whose
    source overwrites its hosts.
    """
    found = {h.pod for h in hosts}
    where = f"provider(s) {', '.join(providers)}" + (
        f", environment {environment!r}" if environment else ""
    )
    missing = [p for p in pods if p not in found]
    if missing:
        raise NotFound(f"pod(s) {', '.join(missing)} not found on {where}")
    if not found and not allow_empty:
        raise NotFound(
            f"no mason host found on {where} (set allow_empty: true if that is expected)"
        )


def find_project_dir(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``mason.yml``."""
    for directory in (start, *start.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory
    return None
