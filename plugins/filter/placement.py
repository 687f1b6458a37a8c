"""Ansible filters exposing mason's placement engine to playbooks (and AWX job templates).

A thin wrapper over :mod:`mason.core.placement`: the same engine, bidders and
JSON plan as ``mason app plan --json``.
"""

from __future__ import annotations

# Each filter's documentation is a YAML file beside this one, named after the filter
# (mason_placement.yml, mason_cpu.yml, ...), so `ansible-doc -t filter NAME` shows its own page.
import importlib

from ansible.errors import AnsibleFilterError


def _mason(name):
    """A mason module, imported at the first call, not when Ansible loads this file: Ansible
    loads every file of this directory in the worker process of each task, and importing
    mason.core there (about 0.15 s) cost every task of every playbook."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the controller's python
        raise AnsibleFilterError(f"the mason package is not importable here: {exc}") from None


def _wrap(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except _mason("mason.core.errors").MasonError as exc:
        raise AnsibleFilterError(f"mason: {exc}") from exc


def mason_placement(hosts, app, explain=False, source="app"):
    """The placement plan of ``app`` (a manifest mapping) on ``hosts``."""

    catalog, manifests = _mason("mason.core.catalog"), _mason("mason.core.manifest")
    hostsfile, placement = _mason("mason.core.hostsfile"), _mason("mason.core.placement")

    def run():
        entries = catalog.list_entries(catalog.search_path())
        manifest = manifests.parse_manifest(
            app, source, catalog=catalog.templates(entries), addons=list(entries)
        )
        described = hostsfile.parse_hosts(list(hosts), "hosts")
        result = placement.plan(
            described.hosts,
            placement.requests_from_app(manifest),
            described.current,
            explain=explain,
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
    return _wrap(_mason("mason.core.units").parse_cpu, value)


def mason_memory(value):
    """``256Mi`` -> 268435456 (bytes)."""
    return _wrap(_mason("mason.core.units").parse_memory, value)


class FilterModule:
    def filters(self):
        return {
            "mason_placement": mason_placement,
            "mason_hosts_from_hostvars": mason_hosts_from_hostvars,
            "mason_host_placements": mason_host_placements,
            "mason_cpu": mason_cpu,
            "mason_memory": mason_memory,
        }
