"""Ansible filters exposing mason's placement engine to playbooks (and AWX job templates).

A thin wrapper over :mod:`mason.core.placement`: the same engine, bidders and
JSON plan as ``mason app plan --json``.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mason_placement
short_description: Plan where an app's containers go on a set of hosts
description:
  - C(mason_placement) runs mason's placement engine (built-in bidders and every
    installed C(mason.bidders) plugin) and returns the plan as C(mason app plan --json)
    prints it; C(placements) is a list of C({app, service, replica, host, zone, action}),
    C(unplaced) a list of C({app, service, replica, reasons}).
  - C(mason_hosts_from_hostvars) turns hosts of the mason inventory plugin (their
    C(mason_zone), C(mason_cpu), C(mason_memory), C(mason_role), C(mason_labels)
    variables) into the host list C(mason_placement) takes.
  - C(mason_host_placements) picks the containers a plan puts on one host.
  - C(mason_cpu) and C(mason_memory) parse quantities such as C(500m) and C(256Mi)
    into millicores and bytes.
options:
  _input:
    description: >-
      For C(mason_placement), a list of hosts, each C(name), C(zone), C(cpu) (cores or
      C(500m)), C(memory) (bytes or C(8Gi)), optional C(role), C(labels) and C(running)
      (containers already there, as in C(mason app plan --hosts-file)).
    type: list
    elements: dict
    required: true
  app:
    description: >-
      The app manifest, as a mapping
      (e.g. C(lookup('file', 'apps/shop.yml') | from_yaml)).
    type: dict
    required: true
  explain:
    description: Add each bidder's verdict for every container under C(explain).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan the shop app on the pod's hosts
  ansible.builtin.set_fact:
    shop_plan: >-
      {{ groups['pod_demo'] | map('extract', hostvars) | list
         | mason_hosts_from_hostvars(groups['pod_demo'])
         | mason_placement(lookup('ansible.builtin.file', 'apps/shop.yml') | from_yaml) }}

- name: Containers this host runs
  ansible.builtin.debug:
    msg: "{{ shop_plan | mason_host_placements(inventory_hostname) }}"

- name: Fail when something fits nowhere
  ansible.builtin.assert:
    that: shop_plan.unplaced | length == 0
    fail_msg: "{{ shop_plan.unplaced }}"
"""

RETURN = r"""
_value:
  description: The plan (C(mason_placement)), a list of placements, or a number.
  type: raw
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from mason.core.catalog import list_entries, search_path, templates  # noqa: E402
from mason.core.errors import MasonError  # noqa: E402
from mason.core.hostsfile import parse_hosts  # noqa: E402
from mason.core.manifest import parse_manifest  # noqa: E402
from mason.core.placement import plan, requests_from_app  # noqa: E402
from mason.core.units import parse_cpu, parse_memory  # noqa: E402


def _wrap(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except MasonError as exc:
        raise AnsibleFilterError(f"mason: {exc}") from exc


def mason_placement(hosts, app, explain=False, source="app"):
    """The placement plan of ``app`` (a manifest mapping) on ``hosts``."""

    def run():
        entries = list_entries(search_path())
        manifest = parse_manifest(app, source, catalog=templates(entries), addons=list(entries))
        described = parse_hosts(list(hosts), "hosts")
        result = plan(
            described.hosts, requests_from_app(manifest), described.current, explain=explain
        )
        return {"app": manifest.name, **result.to_dict()}

    return _wrap(run)


def mason_hosts_from_hostvars(hostvars, names=None):
    """Hosts of the mason inventory plugin -> the host list mason_placement takes.

    ``hostvars`` is a list of host variable mappings, or a mapping name -> variables
    (``hostvars`` itself) restricted to ``names``.
    """
    if isinstance(hostvars, dict) or hasattr(hostvars, "keys"):
        pairs = [(n, hostvars[n]) for n in (names if names is not None else hostvars.keys())]
    else:
        items = list(hostvars)
        names = list(names) if names is not None else [v.get("inventory_hostname") for v in items]
        pairs = list(zip(names, items, strict=True))
    hosts = []
    for name, hv in pairs:
        hosts.append(
            {
                "name": str(name),
                "zone": hv.get("mason_zone", "default"),
                "cpu": hv.get("mason_cpu", 0),
                "memory": hv.get("mason_memory", 0),
                "role": hv.get("mason_role", "worker"),
                "labels": dict(hv.get("mason_labels") or {}),
            }
        )
    return hosts


def mason_host_placements(plan_data, host):
    """Placements of a plan on one host (removals excluded)."""
    return [
        p for p in plan_data.get("placements", []) if p["host"] == host and p["action"] != "remove"
    ]


def mason_cpu(value):
    """``500m`` -> 500, ``2`` -> 2000 (millicores)."""
    return _wrap(parse_cpu, value)


def mason_memory(value):
    """``256Mi`` -> 268435456 (bytes)."""
    return _wrap(parse_memory, value)


class FilterModule:
    def filters(self):
        return {
            "mason_placement": mason_placement,
            "mason_hosts_from_hostvars": mason_hosts_from_hostvars,
            "mason_host_placements": mason_host_placements,
            "mason_cpu": mason_cpu,
            "mason_memory": mason_memory,
        }
