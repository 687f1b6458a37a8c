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

from ansible.errors import AnsibleFilterError  # noqa: E402

try:
    from mason.core.errors import MasonError
    from mason.core.proxy import instances, plan_from_dict
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def mason_link_instances(plan, pod, addresses, host=None):
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the mason package is not importable here: {_IMPORT_ERROR}")
    try:
        built = plan_from_dict(dict(plan or {}), pod=pod, addresses=dict(addresses or {}))
        return [i.to_dict() for i in instances(built, host)]
    except MasonError as exc:
        raise AnsibleFilterError(f"mason link plan: {exc}") from None


class FilterModule:
    def filters(self):
        return {"mason_link_instances": mason_link_instances}
