"""Ansible filters over mason.core.proxy: from a link plan to what runs on one host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mason_link_instances
short_description: The service instances and sidecar configs a link plan puts on one host
description:
  - Builds mason's link plan from plain data (apps, services, replicas, links), assigns
    proxy ports and returns, for one host, every service instance with its names,
    identity, environment (C(MASON_LINK_<SERVICE>_URL)) and rendered HAProxy configuration.
  - A thin wrapper over C(mason.core.proxy); the rules are tested there.
positional: pod, addresses, host
options:
  _input:
    description: The link plan (a mapping with C(apps)).
    type: dict
    required: true
  pod:
    description: The pod's name.
    type: str
    required: true
  addresses:
    description: Private address of every host of the pod, by inventory name.
    type: dict
    required: true
  host:
    description: Only the instances on this host; all when omitted.
    type: str
"""

EXAMPLES = r"""
- name: Links | what runs here
  ansible.builtin.set_fact:
    mason_links_instances: >-
      {{ mason_links_plan | mason_link_instances(mason_pod, addresses, inventory_hostname) }}
"""

RETURN = r"""
_value:
  description: One mapping per instance (name, identity, proxy_port, env, haproxy_cfg, ...).
  type: list
  elements: dict
"""

import importlib  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402


def _mason(name):
    """A mason module, imported at the first call, not when Ansible loads this file: Ansible
    loads every file of this directory in the worker process of each task, and importing
    mason.core there (about 0.15 s) cost every task of every playbook."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the controller's python
        raise AnsibleFilterError(f"the mason package is not importable here: {exc}") from None


def mason_link_instances(plan, pod, addresses, host=None):
    proxy, errors = _mason("mason.core.proxy"), _mason("mason.core.errors")
    try:
        built = proxy.plan_from_dict(dict(plan or {}), pod=pod, addresses=dict(addresses or {}))
        return [i.to_dict() for i in proxy.instances(built, host)]
    except errors.MasonError as exc:
        raise AnsibleFilterError(f"mason link plan: {exc}") from None


class FilterModule:
    def filters(self):
        return {"mason_link_instances": mason_link_instances}
