"""A pod's network on EC2: VPC (or a given one), a subnet per pod zone, the security group
and the key pair; made idempotently on every create, removed (only what mason tagged) on
destroy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, NamedTuple

from mason.core.errors import InvalidInput, ProviderError
from mason.providers.aws.client import Ec2, tag_map, tags
from mason.providers.aws.options import AwsOptions
from mason.providers.base import KeyPair, PodSpec, Progress


class Rule(NamedTuple):
    """One ingress rule: SSH from a CIDR, or pod ports from the pod's own group."""

    protocol: str
    low: int
    high: int
    kind: str  # "cidr" or "group"
    source: str  # the CIDR or the group id

    def permission(self) -> dict[str, Any]:
        perm: dict[str, Any] = {
            "IpProtocol": self.protocol,
            "FromPort": self.low,
            "ToPort": self.high,
        }
        if self.kind == "cidr":
            perm["IpRanges"] = [{"CidrIp": self.source, "Description": "mason admin network"}]
        else:
            perm["UserIdGroupPairs"] = [{"GroupId": self.source, "Description": "mason pod"}]
        return perm


def base_tags(spec: PodSpec, name: str) -> dict[str, str]:
    return {
        "Name": f"mason-{name}",
        "mason:pod": spec.name,
        "mason:provider": "aws",
        "mason:environment": spec.environment,
    }


class Network:
    """The network resources of pods, through one :class:`Ec2`."""

    def __init__(self, ec2: Ec2) -> None:
        self.ec2 = ec2

    # -- create -------------------------------------------------------------------------
    def ensure_vpc(self, spec: PodSpec, config: AwsOptions, progress: Progress) -> str:
        subnets = self.ec2.find("describe_subnets", "Subnets", spec.name)
        if subnets:
            return subnets[0]["VpcId"]
        vpcs = self.ec2.find("describe_vpcs", "Vpcs", spec.name)
        if vpcs:
            return vpcs[0]["VpcId"]
        if config.vpc_id:
            return self._given_vpc(config.vpc_id)
        progress(f"creating VPC mason-{spec.name} ({config.cidr})")
        ec2, tagged = self.ec2.client, tags(base_tags(spec, spec.name))
        with self.ec2.errors("create the VPC"):
            vpc_id = ec2.create_vpc(
                CidrBlock=config.cidr,
                TagSpecifications=[{"ResourceType": "vpc", "Tags": tagged}],
            )["Vpc"]["VpcId"]
            ec2.get_waiter("vpc_available").wait(VpcIds=[vpc_id])
            gateway = ec2.create_internet_gateway(
                TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": tagged}]
            )["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
            main = ec2.describe_route_tables(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "association.main", "Values": ["true"]},
                ]
            )["RouteTables"][0]["RouteTableId"]
            ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
        return vpc_id

    def _given_vpc(self, vpc_id: str) -> str:
        with self.ec2.errors(f"find VPC {vpc_id}"):
            found = self.ec2.client.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "Vpcs"
            ]
        if not found:
            raise InvalidInput(f"aws vpc_id: no VPC {vpc_id!r} in {self.ec2.region}")
        return vpc_id

    def zone_map(self, spec: PodSpec, config: AwsOptions) -> dict[str, str]:
        """Pod zone -> availability zone: ``zone_map``, else by name, else in order."""
        with self.ec2.errors("list availability zones"):
            azs = sorted(
                z["ZoneName"]
                for z in self.ec2.client.describe_availability_zones(
                    Filters=[{"Name": "state", "Values": ["available"]}]
                )["AvailabilityZones"]
            )
        mapping = {}
        for position, zone in enumerate(dict.fromkeys(spec.zones)):
            if zone in config.zone_map:
                az = config.zone_map[zone]
                if az not in azs:
                    raise InvalidInput(
                        f"aws options.zone_map.{zone}: {az!r} is not an availability zone of "
                        f"{self.ec2.region} (expected one of: {', '.join(azs)})"
                    )
            elif zone in azs:
                az = zone
            else:
                az = azs[position % len(azs)]
            mapping[zone] = az
        return mapping

    def ensure_subnets(
        self, spec: PodSpec, config: AwsOptions, vpc_id: str, progress: Progress
    ) -> dict[str, str]:
        """One subnet per pod zone (in the zone's AZ); existing ones are kept as they are."""
        ours = {
            tag_map(s).get("mason:zone"): s["SubnetId"]
            for s in self.ec2.find("describe_subnets", "Subnets", spec.name)
        }
        missing = [z for z in dict.fromkeys(spec.zones) if z not in ours]
        if not missing:
            return ours
        mapping = self.zone_map(spec, config)
        with self.ec2.errors("list the VPC's subnets"):
            vpc = self.ec2.client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
            taken = [
                ipaddress.ip_network(s["CidrBlock"])
                for s in self.ec2.client.describe_subnets(
                    Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
                )["Subnets"]
            ]
        block = ipaddress.ip_network(vpc["CidrBlock"])
        prefix = min(28, max(24, block.prefixlen + 2))
        free = (
            n for n in block.subnets(new_prefix=prefix) if not any(n.overlaps(t) for t in taken)
        )
        made_vpc = tag_map(vpc).get("mason:pod") == spec.name
        for zone in missing:
            cidr = next(free, None)
            if cidr is None:
                raise ProviderError(f"aws: no free /{prefix} left in VPC {vpc_id} for zone {zone}")
            progress(f"creating subnet for zone {zone} ({mapping[zone]}, {cidr})")
            ours[zone] = self._subnet(spec, zone, vpc_id, str(cidr), mapping[zone], made_vpc)
        return ours

    def _subnet(
        self, spec: PodSpec, zone: str, vpc_id: str, cidr: str, az: str, public: bool
    ) -> str:
        tagged = {**base_tags(spec, f"{spec.name}-{zone}"), "mason:zone": zone}
        with self.ec2.errors(f"create the subnet of zone {zone}"):
            subnet = self.ec2.client.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=az,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(tagged)}],
            )["Subnet"]["SubnetId"]
            if public:
                self.ec2.client.modify_subnet_attribute(
                    SubnetId=subnet, MapPublicIpOnLaunch={"Value": True}
                )
        return subnet

    def ensure_group(
        self, spec: PodSpec, config: AwsOptions, vpc_id: str, progress: Progress
    ) -> str:
        """The pod's security group, its rules set to SSH from the admin networks and the
        pod ports from the group itself."""
        groups = self.ec2.find("describe_security_groups", "SecurityGroups", spec.name)
        if groups:
            group_id, have = groups[0]["GroupId"], _rules(groups[0])
        else:
            progress(f"creating security group mason-{spec.name}")
            with self.ec2.errors("create the security group"):
                group_id = self.ec2.client.create_security_group(
                    GroupName=f"mason-{spec.name}",
                    Description=f"mason pod {spec.name}: SSH from admin networks, pod ports",
                    VpcId=vpc_id,
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": tags(base_tags(spec, spec.name))}
                    ],
                )["GroupId"]
            have = set()
        # Admin networks given: they replace the SSH rules. None given on a re-run:
        # the pod keeps the ones it has.
        want = {Rule("tcp", 22, 22, "cidr", net) for net in config.admin_networks} or {
            rule for rule in have if rule.kind == "cidr"
        }
        want |= {Rule("tcp", p.low, p.high, "group", group_id) for p in config.pod_ports}
        with self.ec2.errors(f"set the rules of security group mason-{spec.name}"):
            if have - want:
                self.ec2.client.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=_permissions(have - want)
                )
            if want - have:
                self.ec2.client.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=_permissions(want - have)
                )
        return group_id

    def ensure_key(self, spec: PodSpec, key: KeyPair, progress: Progress) -> str:
        name = f"mason-{spec.name}"
        if not self.ec2.find("describe_key_pairs", "KeyPairs", spec.name):
            progress(f"importing key pair {name}")
            with self.ec2.errors(f"import key pair {name}"):
                self.ec2.client.import_key_pair(
                    KeyName=name,
                    PublicKeyMaterial=key.public_openssh.encode(),
                    TagSpecifications=[
                        {"ResourceType": "key-pair", "Tags": tags(base_tags(spec, spec.name))}
                    ],
                )
        return name

    # -- destroy ------------------------------------------------------------------------
    def leftovers(self, pod: str) -> bool:
        """Whether any network resource tagged for ``pod`` is left."""
        return any(
            self.ec2.find(call, key, pod)
            for call, key in (
                ("describe_vpcs", "Vpcs"),
                ("describe_subnets", "Subnets"),
                ("describe_security_groups", "SecurityGroups"),
                ("describe_key_pairs", "KeyPairs"),
                ("describe_internet_gateways", "InternetGateways"),
            )
        )

    def remove(self, pod: str, progress: Progress) -> list[str]:
        """Security group, subnets, key pair, gateway and VPC of the pod (those mason tagged)."""
        ec2, client = self.ec2, self.ec2.client
        removed = self._delete_each(pod, "SecurityGroups", "GroupId", "security group", progress)
        removed += self._delete_each(pod, "Subnets", "SubnetId", "subnet", None)
        for pair in ec2.find("describe_key_pairs", "KeyPairs", pod):
            with ec2.errors(f"delete key pair {pair['KeyName']}"):
                client.delete_key_pair(KeyName=pair["KeyName"])
            removed.append(f"key pair {pair['KeyName']}")
        for gateway in ec2.find("describe_internet_gateways", "InternetGateways", pod):
            gateway_id = gateway["InternetGatewayId"]
            with ec2.errors(f"delete internet gateway {gateway_id}"):
                for attachment in gateway.get("Attachments", []):
                    client.detach_internet_gateway(
                        InternetGatewayId=gateway_id, VpcId=attachment["VpcId"]
                    )
                client.delete_internet_gateway(InternetGatewayId=gateway_id)
            removed.append(f"internet gateway {gateway_id}")
        # Only a VPC tagged for this pod is mason's; a given vpc_id is never tagged.
        return removed + self._delete_each(pod, "Vpcs", "VpcId", "vpc", progress)

    def _delete_each(
        self, pod: str, key: str, id_key: str, what: str, progress: Progress | None
    ) -> list[str]:
        """Delete every resource of one kind tagged for ``pod`` (``Subnets``: describe_subnets,
        delete_subnet), retrying while AWS still holds their network interfaces."""
        kind = {"SecurityGroups": "security_group", "Subnets": "subnet", "Vpcs": "vpc"}[key]
        removed = []
        for resource in self.ec2.find(f"describe_{kind}s", key, pod):
            ident = resource[id_key]
            if progress is not None:
                progress(f"removing {what} {resource.get('GroupName', ident)}")
            delete = getattr(self.ec2.client, f"delete_{kind}")
            self.ec2.retry(f"delete {what} {ident}", delete, **{id_key: ident})
            removed.append(f"{what} {ident}")
        return removed


def _rules(group: dict[str, Any]) -> set[Rule]:
    have: set[Rule] = set()
    for perm in group.get("IpPermissions", []):
        proto, lo, hi = perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort")
        have |= {Rule(proto, lo, hi, "cidr", r["CidrIp"]) for r in perm.get("IpRanges", [])}
        have |= {
            Rule(proto, lo, hi, "group", g["GroupId"]) for g in perm.get("UserIdGroupPairs", [])
        }
    return have


def _permissions(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    # str keys: a rule added by hand may have no ports (None), which does not sort with int
    return [rule.permission() for rule in sorted(rules, key=lambda r: tuple(map(str, r)))]
