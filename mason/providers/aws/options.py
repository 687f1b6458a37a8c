"""The aws provider's options (mason.yml ``options:`` plus CLI flags), checked in one place."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from mason.core.errors import InvalidInput, describe, key_path, unknown_field
from mason.core.proxy import PROXY_PORT_BASE, PROXY_PORT_LAST
from mason.core.validate import check_cidr, check_url
from mason.providers.base import REGISTRY_PORT

DEFAULT_SIZE = "t3.small"
# Debian's official AMIs: https://wiki.debian.org/Cloud/AmazonEC2Image
DEFAULT_IMAGE = "debian-12-amd64-*"
DEFAULT_IMAGE_OWNER = "136693071363"
DEFAULT_CIDR = "10.42.0.0/16"
# The manager's registry and the host ports the mutual-TLS proxies publish their inbound
# listeners on (the pod's other hosts reach them at the host's private address).
DEFAULT_POD_PORTS = (str(REGISTRY_PORT), f"{PROXY_PORT_BASE}-{PROXY_PORT_LAST}")
ADDRESSES = ("public", "private")
OPTION_KEYS = (
    "region",
    "endpoint_url",
    "size",
    "image",
    "image_owner",
    "vpc_id",
    "cidr",
    "admin_networks",
    "pod_ports",
    "address",
    "zone_map",
)
WHERE = "aws options"


class PortRange(NamedTuple):
    low: int
    high: int


@dataclass(frozen=True)
class AwsOptions:
    region: str | None
    endpoint_url: str | None
    size: str
    image: str
    image_owner: str
    vpc_id: str | None
    cidr: str
    admin_networks: tuple[str, ...]
    pod_ports: tuple[PortRange, ...]
    address: str
    zone_map: dict[str, str]


def _text(raw: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or not value.strip().isprintable():
        raise InvalidInput(f"{WHERE}.{key}: expected a non-empty string, got {describe(value)}")
    return value.strip()


def _list(raw: Mapping[str, Any], key: str, default: Any = ()) -> list[Any]:
    value = raw.get(key) or default
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{WHERE}.{key}: expected a list, got {describe(value)}")
    return list(value)


def _port_range(item: Any, where: str) -> PortRange:
    text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
    low, _, high = text.partition("-") if isinstance(text, str) else ("", "", "")
    lo = int(low) if low.isascii() and low.isdigit() and len(low) <= 5 else -1
    hi = int(high) if high.isascii() and high.isdigit() and len(high) <= 5 else -1 if high else lo
    if not 0 < lo <= hi < 65536:
        raise InvalidInput(
            f"{where}: expected a port or a range such as 8400-8499, got {describe(item)}"
        )
    return PortRange(lo, hi)


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value)
        if net.version == 4 and 16 <= net.prefixlen <= 28:
            return str(net)
    except ValueError:
        pass
    raise InvalidInput(
        f"{WHERE}.cidr: expected an IPv4 block from /16 to /28 such as {DEFAULT_CIDR}, "
        f"got {value!r}"
    )


def _zone_map(raw: Mapping[str, Any]) -> dict[str, str]:
    zone_map = raw.get("zone_map") or {}
    if not isinstance(zone_map, dict):
        raise InvalidInput(f"{WHERE}.zone_map: expected a mapping of pod zone to AWS zone")
    for zone, az in zone_map.items():
        if not isinstance(az, str) or not az.strip():
            raise InvalidInput(
                f"{key_path(f'{WHERE}.zone_map', zone)}: expected an availability zone name, "
                f"got {describe(az)}"
            )
    return {str(k): v.strip() for k, v in zone_map.items()}


def parse_options(raw: Mapping[str, Any]) -> AwsOptions:
    """Validate the provider options; every error names the option."""
    for key in raw:
        if key not in OPTION_KEYS:
            raise unknown_field(key_path(WHERE, key), key, OPTION_KEYS)
    admin = [
        check_cidr(net, f"{WHERE}.admin_networks[{i}]")
        for i, net in enumerate(_list(raw, "admin_networks"))
    ]
    ports = [
        _port_range(item, f"{WHERE}.pod_ports[{i}]")
        for i, item in enumerate(_list(raw, "pod_ports", DEFAULT_POD_PORTS))
    ]
    address = _text(raw, "address", "public")
    if address not in ADDRESSES:
        raise InvalidInput(f"{WHERE}.address: expected 'public' or 'private', got {address!r}")
    endpoint = _text(raw, "endpoint_url")
    return AwsOptions(
        region=_text(raw, "region"),
        endpoint_url=check_url(endpoint, f"{WHERE}.endpoint_url") if endpoint else None,
        size=_text(raw, "size", DEFAULT_SIZE) or DEFAULT_SIZE,
        image=_text(raw, "image", DEFAULT_IMAGE) or DEFAULT_IMAGE,
        image_owner=_text(raw, "image_owner", DEFAULT_IMAGE_OWNER) or DEFAULT_IMAGE_OWNER,
        vpc_id=_text(raw, "vpc_id"),
        cidr=_cidr(_text(raw, "cidr", DEFAULT_CIDR) or DEFAULT_CIDR),
        admin_networks=tuple(admin),
        pod_ports=tuple(ports),
        address=address,
        zone_map=_zone_map(raw),
    )
