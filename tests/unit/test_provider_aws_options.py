"""The aws provider's default pod ports match what the roles open and listen on."""

from __future__ import annotations

from pathlib import Path

import yaml

from mason.core.proxy import PROXY_PORT_BASE
from mason.providers.aws.options import PortRange, parse_options
from mason.providers.base import REGISTRY_PORT

ROLES = Path(__file__).resolve().parents[2] / "roles"


def _defaults(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def test_default_pod_ports_are_the_registry_and_the_proxy_listeners():
    ports = parse_options({}).pod_ports
    registry = _defaults("pod_registry")["pod_registry_port"]
    assert registry == REGISTRY_PORT
    assert PortRange(registry, registry) in ports
    # the host ports the firewall role lets the pod's hosts reach: the proxies' listeners
    low, high = map(int, _defaults("firewall")["firewall_tenants_host_tcp_ports"][0].split("-"))
    assert low == PROXY_PORT_BASE
    assert PortRange(low, high) in ports
    assert len(ports) == 2
