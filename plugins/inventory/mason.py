"""Ansible inventory plugin: the hosts of mason pods, straight from their providers."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mason
short_description: Hosts of mason pods, found through their providers
description:
  - Lists the hosts of one, several or all mason pods from the providers that hold them
    (container labels for C(docker), tags for clouds), so a fresh checkout or an AWX job
    sees the same pods with no local state beyond each pod's SSH key.
  - Groups hosts by pod (C(pod_<pod>)), zone (C(zone_<zone>)), role (C(role_manager),
    C(role_worker)), environment (C(env_<environment>)) and provider (C(provider_<name>)).
    Dashes in names become underscores.
  - Sets the connection variables (address, port, user, the pod's key under C($MASON_HOME))
    and C(mason_*) host variables that roles and placement read.
  - The configuration file name must end in C(.mason.yml) or C(.mason.yaml).
options:
  plugin:
    description: Marks this file as a mason inventory configuration.
    required: true
    choices: [mason]
  pods:
    description: Pod names to include; all pods when empty.
    type: list
    elements: str
    default: []
  environment:
    description: Only pods of this environment (C(dev), C(prod), ...).
    type: str
  providers:
    description: Providers to ask for hosts.
    type: list
    elements: str
    default: [docker]
  provider_options:
    description: "Options per provider, for example C({aws: {region: eu-west-1}})."
    type: dict
    default: {}
"""

EXAMPLES = r"""
---
# inventory/local.mason.yml: every local pod
plugin: mason
---
# inventory/prod.mason.yml: the prod pods on AWS and the local engine
plugin: mason
environment: prod
providers: [docker, aws]
provider_options:
  aws:
    region: eu-west-1

# ansible-inventory -i inventory/local.mason.yml --graph
"""

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin  # noqa: E402

try:
    from mason.core.errors import MasonError
    from mason.core.inventory import groups_of, host_vars
    from mason.providers import get_provider
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


class InventoryModule(BaseInventoryPlugin):
    NAME = "mason"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".mason.yml", ".mason.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if _IMPORT_ERROR is not None:
            raise AnsibleError(f"the mason package is not importable here: {_IMPORT_ERROR}")
        self._read_config_data(path)
        wanted = set(self.get_option("pods") or [])
        environment = self.get_option("environment")
        options = self.get_option("provider_options") or {}
        for provider_name in self.get_option("providers"):
            try:
                provider = get_provider(provider_name, options.get(provider_name))
                hosts = provider.list_hosts(environment=environment)
            except MasonError as exc:
                raise AnsibleParserError(f"mason inventory ({provider_name}): {exc}") from None
            for host in hosts:
                if wanted and host.pod not in wanted:
                    continue
                self.inventory.add_host(host.name)
                for group in groups_of(host):
                    self.inventory.add_group(group)
                    self.inventory.add_child(group, host.name)
                for key, value in host_vars(host).items():
                    self.inventory.set_variable(host.name, key, value)
