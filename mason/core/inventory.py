"""How a provider's Host becomes an Ansible inventory host: groups and variables.

Pure: the inventory plugin and the CLI both call it, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

from mason.core.names import group_name
from mason.paths import pod_key_dir


def groups_of(host) -> list[str]:
    return [
        group_name("pod", host.pod),
        group_name("zone", host.zone),
        group_name("role", host.role),
        group_name("env", host.environment),
        group_name("provider", host.provider),
    ]


def host_vars(host) -> dict[str, Any]:
    keys = pod_key_dir(host.provider, host.pod)
    return {
        "ansible_host": host.address,
        "ansible_port": host.ssh_port,
        "ansible_user": host.ssh_user,
        # mason logs in as an unprivileged admin user and becomes root with sudo.
        "ansible_become": host.ssh_user != "root",
        "ansible_ssh_private_key_file": str(keys / "id_ed25519"),
        # Hosts make their own host keys on first boot: trust on first use,
        # recorded per pod, so a re-created pod on a reused port is not confused.
        "ansible_ssh_common_args": (
            f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={keys}/known_hosts"
        ),
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
