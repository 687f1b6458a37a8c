"""Ansible inventory plugin: the hosts of mason pods, straight from their providers."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mason
short_description: Hosts of mason pods, found through their providers
description:
  - Lists the hosts of one, several or all mason pods from the providers that hold them
    (container labels for C(docker), tags for clouds, C(mason.yml) for C(static)), so a
    fresh checkout or an AWX job sees the same pods with no local state.
  - Groups hosts by pod (C(pod_<pod>)), zone (C(zone_<zone>)), role (C(role_manager),
    C(role_worker)), environment (C(env_<environment>)) and provider (C(provider_<name>)).
    Dashes in names become underscores. The usual C(compose), C(groups) and
    C(keyed_groups) options add variables and groups of your own.
  - Sets the connection variables (address, port, user, and unless I(ssh_key=credential)
    the pod's key under C($MASON_HOME)) and C(mason_*) host variables that roles and
    placement read.
  - Fails closed, so an AWX inventory sync never replaces a pod's hosts with nothing - a
    pod named in I(pods) that has no host, or no host at all (unless I(allow_empty)), is an
    error.
  - Reads C(mason.yml) from I(project_dir), by default the nearest directory at or above
    this file that holds one (never the working directory).
  - The configuration file name must end in C(.mason.yml) or C(.mason.yaml).
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks this file as a mason inventory configuration (short or full name).
    required: true
    choices: [mason, mason.mason.mason]
  pods:
    description: Pod names to include; all pods when empty. Each must exist.
    type: list
    elements: str
    default: []
  environment:
    description: Only pods of this environment (C(dev), C(prod), ...).
    type: str
  providers:
    description: >-
      Providers to ask for hosts. By default, those C(mason.yml) names for the pods in
      I(pods) (or for all its pods), with their options; C(docker) when it names none.
    type: list
    elements: str
  provider_options:
    description: >-
      Options per provider, for example C({aws: {region: eu-west-1}}); settings only,
      credentials come from the environment (an AWX credential).
    type: dict
    default: {}
  project_dir:
    description: >-
      The mason project (the directory of C(mason.yml): static pods, each pod's provider and
      options). Relative to this file. Default, the nearest directory at or above this file
      holding a C(mason.yml).
    type: str
  allow_empty:
    description: Accept finding no host at all (a named pod with no host is still an error).
    type: bool
    default: false
  ssh_key:
    description:
      - C(pod) sets C(ansible_ssh_private_key_file) to the pod's key under
        C($MASON_HOME/keys/<provider>/<pod>/), as the mason CLI does.
      - C(credential) sets no key variable, for an AWX machine credential (or an ssh-agent)
        that supplies the key; nothing under C($MASON_HOME) is read.
    type: str
    choices: [pod, credential]
    default: pod
  known_hosts_file:
    description: >-
      A known_hosts file with the pods' host keys (relative to this file, e.g. committed in
      the project); hosts whose key is not in it are refused (C(StrictHostKeyChecking=yes)).
      Without it, host keys are trusted on first use (recorded under C($MASON_HOME) with
      C(ssh_key=pod), not kept at all with C(credential)).
    type: str
"""

EXAMPLES = r"""
---
# inventory/local.mason.yml: every local pod (the CLI's way: keys under $MASON_HOME)
plugin: mason
---
# inventory/prod.mason.yml in an AWX project: the prod pods on AWS, the key from a
# machine credential, host keys pinned in the project
plugin: mason.mason.mason
environment: prod
providers: [aws]
provider_options:
  aws:
    region: eu-west-1
ssh_key: credential
known_hosts_file: known_hosts
keyed_groups:
  - key: mason_labels.disk | default('none')
    prefix: disk
groups:
  big: mason_cpu >= 4
compose:
  ansible_python_interpreter: "'/usr/bin/python3'"

# ansible-inventory -i inventory/local.mason.yml --graph
"""

import os  # noqa: E402
from pathlib import Path  # noqa: E402

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable  # noqa: E402

try:
    from mason.core.errors import MasonError
    from mason.core.inventory import Connection, check_found, find_project_dir, groups_of, host_vars
    from mason.core.project import load_project
    from mason.operations.lookup import inventory_of, provider_options
    from mason.providers import get_provider
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


NAMES = ("mason", "mason.mason.mason")


def _beside(source, path):
    """A path option: relative to the inventory source's directory, not the working one."""
    return (source.parent / os.path.expanduser(path)).resolve()


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "mason"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".mason.yml", ".mason.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if _IMPORT_ERROR is not None:
            raise AnsibleError(f"the mason package is not importable here: {_IMPORT_ERROR}")
        # One file works in a checkout (short name) and with the collection (full name),
        # whichever name the plugin was loaded by.
        self._redirected_names = list(
            dict.fromkeys([*(self._redirected_names or [self.NAME]), *NAMES])
        )
        self._read_config_data(path)
        try:
            self._populate(Path(path).resolve())
        except MasonError as exc:
            raise AnsibleParserError(f"mason inventory {path}: {exc}") from None

    def _populate(self, source):
        pods = list(self.get_option("pods") or [])
        environment = self.get_option("environment")
        providers, options = self._providers(source, pods)
        known_hosts = self.get_option("known_hosts_file")
        connection = Connection(
            keys=self.get_option("ssh_key"),
            known_hosts_file=str(_beside(source, known_hosts)) if known_hosts else None,
        )
        hosts = []
        for name in providers:
            found = get_provider(name, options.get(name)).list_hosts(environment=environment)
            hosts += [h for h in found if not pods or h.pod in pods]
        check_found(
            hosts,
            pods=pods,
            providers=providers,
            environment=environment,
            allow_empty=self.get_option("allow_empty"),
        )
        for host in hosts:
            self._add(host, connection)

    def _providers(self, source, pods):
        """Providers to ask and their options: explicit, else from the project's mason.yml."""
        option = self.get_option("project_dir")
        project_dir = _beside(source, option) if option else find_project_dir(source.parent)
        explicit = self.get_option("providers")
        options = {k: dict(v or {}) for k, v in (self.get_option("provider_options") or {}).items()}
        if project_dir is None:
            # No mason.yml above this file: a provider that reads one (static) looks
            # beside this file, never in the working directory, and finds no pod.
            names = list(explicit or ["docker"])
            for name in names:
                options[name] = provider_options(source.parent, name, options.get(name, {}))
            return names, options
        from_project = inventory_of(project_dir, pods or list(load_project(project_dir).pods))
        names = list(explicit or from_project["providers"] or ["docker"])
        for name in names:
            merged = {**from_project["provider_options"].get(name, {}), **options.get(name, {})}
            options[name] = provider_options(project_dir, name, merged)
        return names, options

    def _add(self, host, connection):
        self.inventory.add_host(host.name)
        for group in groups_of(host):
            self.inventory.add_group(group)
            self.inventory.add_child(group, host.name)
        variables = host_vars(host, connection)
        for key, value in variables.items():
            self.inventory.set_variable(host.name, key, value)
        strict = self.get_option("strict")
        self._set_composite_vars(self.get_option("compose"), variables, host.name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, host.name, strict)
        self._add_host_to_keyed_groups(
            self.get_option("keyed_groups"), variables, host.name, strict
        )
