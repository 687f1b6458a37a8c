"""Pods on AWS EC2: one VPC (or a given one), a subnet per pod zone, instances tagged by pod.

Everything mason makes carries the tags ``mason:pod``, ``mason:provider=aws`` and
``mason:environment``; instances also ``mason:host``, ``mason:index``, ``mason:zone``,
``mason:role``, ``mason:cpu``, ``mason:memory`` and ``mason:labels``. Those tags are
the pod's only state: listing, growing and destroying need nothing but the API.

What a pod is made of (``destroy`` removes exactly this, found by tag):

- a VPC ``mason-<pod>`` with an internet gateway on its main route table, unless
  ``vpc_id`` names an existing VPC (which mason then never tags, changes or deletes);
- one subnet per pod zone; pod zones map to availability zones by ``zone_map``,
  else by name (a pod zone called ``eu-west-1b`` is that AZ), else in order
  (the first pod zone to the first AZ of the region, and so on, wrapping around);
- a security group ``mason-<pod>``: SSH only from ``admin_networks``, the pod's
  own ports (``pod_ports``) only from members of the same group;
- a key pair ``mason-<pod>`` (the pod's public key);
- instances, round-robin over the zones, whose cloud-init user data makes the
  admin user ``mason`` (sudo, the pod key): the same login as on every provider.

Credentials come only from boto3's chain (environment, profile, SSO, instance
role); mason never reads, stores or logs them. ``endpoint_url`` (or the
``AWS_ENDPOINT_URL`` environment variable) points boto3 at another endpoint.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mason.core.errors import (
    EnvironmentProblem,
    InvalidInput,
    NotFound,
    ProviderError,
    unknown_field,
)
from mason.providers.base import (
    CreateResult,
    DestroyResult,
    Host,
    KeyPair,
    PodSpec,
    Progress,
    Provider,
    _quiet,
    check_growth,
)

SSH_USER = "mason"
DEFAULT_SIZE = "t3.small"
# Debian's official AMIs: https://wiki.debian.org/Cloud/AmazonEC2Image
DEFAULT_IMAGE = "debian-12-amd64-*"
DEFAULT_IMAGE_OWNER = "136693071363"
DEFAULT_CIDR = "10.42.0.0/16"
# The manager's registry and the range the mutual-TLS proxies listen on.
DEFAULT_POD_PORTS = ("5000", "8400-8499")
LIVE_STATES = ("pending", "running", "stopping", "stopped")
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
_AUTH_CODES = {
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
}
_QUOTA_CODES = {"InsufficientInstanceCapacity", "InsufficientAddressCapacity"}


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
    pod_ports: tuple[tuple[int, int], ...]
    address: str
    zone_map: dict[str, str]


def parse_options(raw: Mapping[str, Any]) -> AwsOptions:
    """Validate the provider options (mason.yml ``options:`` plus CLI flags)."""
    for key in raw:
        if key not in OPTION_KEYS:
            raise unknown_field("aws options", str(key), OPTION_KEYS)

    def text(key: str, default: str | None = None) -> str | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"aws options.{key}: expected a non-empty string, got {value!r}")
        return value.strip()

    networks = raw.get("admin_networks") or ()
    if isinstance(networks, str):
        networks = [networks]
    admin = []
    for i, net in enumerate(networks):
        try:
            admin.append(str(ipaddress.ip_network(str(net), strict=False)))
        except ValueError:
            raise InvalidInput(
                f"aws options.admin_networks[{i}]: expected a CIDR such as 203.0.113.0/24, "
                f"got {net!r}"
            ) from None
    ports = []
    for i, item in enumerate(raw.get("pod_ports") or DEFAULT_POD_PORTS):
        low, _, high = str(item).partition("-")
        try:
            lo, hi = int(low), int(high or low)
        except ValueError:
            lo = hi = -1
        if not (0 < lo <= hi < 65536):
            raise InvalidInput(
                f"aws options.pod_ports[{i}]: expected a port or a range such as 8400-8499, "
                f"got {item!r}"
            )
        ports.append((lo, hi))
    cidr = text("cidr", DEFAULT_CIDR)
    try:
        net = ipaddress.ip_network(cidr)
        if net.version != 4 or not 16 <= net.prefixlen <= 28:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            f"aws options.cidr: expected an IPv4 block from /16 to /28 such as {DEFAULT_CIDR}, "
            f"got {cidr!r}"
        ) from None
    address = text("address", "public")
    if address not in ("public", "private"):
        raise InvalidInput(f"aws options.address: expected 'public' or 'private', got {address!r}")
    zone_map = raw.get("zone_map") or {}
    if not isinstance(zone_map, dict):
        raise InvalidInput("aws options.zone_map: expected a mapping of pod zone to AWS zone")
    return AwsOptions(
        region=text("region"),
        endpoint_url=text("endpoint_url"),
        size=text("size", DEFAULT_SIZE) or DEFAULT_SIZE,
        image=text("image", DEFAULT_IMAGE) or DEFAULT_IMAGE,
        image_owner=text("image_owner", DEFAULT_IMAGE_OWNER) or DEFAULT_IMAGE_OWNER,
        vpc_id=text("vpc_id"),
        cidr=str(net),
        admin_networks=tuple(admin),
        pod_ports=tuple(ports),
        address=address,
        zone_map={str(k): str(v) for k, v in zone_map.items()},
    )


def user_data(public_key: str) -> str:
    """cloud-init: the admin user ``mason`` with the pod key and sudo, and nothing else.

    Listing only ``mason`` under ``users`` means the image's default login (``admin``
    on Debian, ``ec2-user`` on Amazon Linux) is not created: every provider ends up
    with the same admin user, whom the SSH hardening admits through ``mason-ssh``.
    """
    return (
        "#cloud-config\n"
        "groups: [mason-ssh]\n"
        "users:\n"
        "  - name: mason\n"
        "    groups: [mason-ssh]\n"
        "    shell: /bin/bash\n"
        "    lock_passwd: true\n"
        "    sudo: 'ALL=(ALL) NOPASSWD:ALL'\n"
        f"    ssh_authorized_keys: [{json.dumps(public_key.strip())}]\n"
    )


def _tags(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def _tag_map(resource: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def _pod_filter(pod: str | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"Name": "tag:mason:provider", "Values": ["aws"]}]
    if pod:
        filters.append({"Name": "tag:mason:pod", "Values": [pod]})
    else:
        filters.append({"Name": "tag-key", "Values": ["mason:pod"]})
    return filters


class AwsProvider(Provider):
    """Pods of EC2 instances, found again by their tags."""

    name = "aws"
    option_keys = OPTION_KEYS
    #: hosts that do not answer SSH after create are kept and reported, not removed
    keep_unreachable = True

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.config = parse_options(self.options)
        self._ec2: Any = None
        self._region: str | None = None

    # -- client -----------------------------------------------------------------
    @property
    def region(self) -> str:
        if self._region is None:
            import boto3

            region = (
                self.config.region
                or os.environ.get("AWS_REGION")
                or boto3.session.Session().region_name  # AWS_DEFAULT_REGION, profile
            )
            if not region:
                raise InvalidInput(
                    "aws region: none given (set --region, options.region in mason.yml, "
                    "AWS_REGION or the profile's region)"
                )
            known = _known_regions()
            if region not in known:
                near = difflib.get_close_matches(region, sorted(known), n=1)
                hint = f"did you mean {near[0]!r}?" if near else "e.g. eu-west-1, us-east-1"
                raise InvalidInput(f"aws region: unknown region {region!r} ({hint})")
            self._region = region
        return self._region

    @property
    def ec2(self) -> Any:
        if self._ec2 is None:
            import boto3

            session = boto3.session.Session(region_name=self.region)
            if session.get_credentials() is None:
                raise EnvironmentProblem(
                    "aws: no credentials found",
                    hint="boto3 looks in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE "
                    "and ~/.aws, SSO and instance roles; mason never stores them",
                )
            self._ec2 = session.client("ec2", endpoint_url=self.config.endpoint_url)
        return self._ec2

    @property
    def endpoint(self) -> str:
        return str(self.ec2.meta.endpoint_url)

    def check(self) -> None:
        with self._errors("check the region"):
            self.ec2.describe_availability_zones()

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn botocore's errors into one clear mason error."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", "")).strip().splitlines()[0:1]
            detail = f"{code}: {message[0]}" if message else code
            if code in _AUTH_CODES:
                raise EnvironmentProblem(
                    f"aws refused the credentials ({detail})",
                    hint="check the boto3 credential chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws",
                ) from None
            if code.endswith("LimitExceeded") or code in _QUOTA_CODES:
                raise ProviderError(
                    f"aws quota reached while trying to {what} ({detail})",
                    hint="ask for fewer resources or raise the quota in AWS Service Quotas",
                ) from None
            raise ProviderError(f"aws refused to {what} ({detail})") from None
        except NoCredentialsError:
            raise EnvironmentProblem(
                "aws: no credentials found",
                hint="boto3 looks in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE "
                "and ~/.aws, SSO and instance roles; mason never stores them",
            ) from None
        except EndpointConnectionError as exc:
            raise EnvironmentProblem(
                f"aws: cannot reach the EC2 endpoint {exc.kwargs.get('endpoint_url', '')}",
                hint="check the network, --endpoint-url / AWS_ENDPOINT_URL and the region",
            ) from None
        except BotoCoreError as exc:
            raise ProviderError(f"aws: cannot {what}: {exc}") from None

    # -- list -------------------------------------------------------------------
    def _instances(self, pod: str | None) -> list[dict[str, Any]]:
        filters = [*_pod_filter(pod), {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        found = []
        with self._errors("list instances"):
            for page in self.ec2.get_paginator("describe_instances").paginate(Filters=filters):
                for reservation in page["Reservations"]:
                    found.extend(reservation["Instances"])
        return found

    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        hosts = [self._host_of(i) for i in self._instances(pod)]
        if environment:
            hosts = [h for h in hosts if h.environment == environment]
        return sorted(hosts, key=lambda h: (h.pod, h.index))

    def _host_of(self, instance: Mapping[str, Any]) -> Host:
        tags = _tag_map(instance)
        public = instance.get("PublicIpAddress") or ""
        private = instance.get("PrivateIpAddress") or ""
        use_public = self.config.address == "public" and public
        return Host(
            name=tags.get("mason:host", instance["InstanceId"]),
            pod=tags["mason:pod"],
            provider="aws",
            environment=tags.get("mason:environment", "default"),
            zone=tags.get("mason:zone", ""),
            role=tags.get("mason:role", "worker"),
            index=int(tags.get("mason:index", "0")),
            address=public if use_public else private,
            ssh_port=22,
            ssh_user=SSH_USER,
            cpu=float(tags.get("mason:cpu", "0")),
            memory=int(tags.get("mason:memory", "0")),
            labels=json.loads(tags.get("mason:labels", "{}")),
            state=instance.get("State", {}).get("Name", ""),
            id=instance["InstanceId"],
            private_address=private,
        )

    # -- create -----------------------------------------------------------------
    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        config = parse_options({**self.options, **spec.options})
        if not config.admin_networks and not self._find(
            "describe_security_groups", "SecurityGroups", spec.name
        ):
            raise InvalidInput(
                "aws options.admin_networks: expected at least one CIDR allowed to reach SSH "
                "(--admin-network 203.0.113.0/24 or options.admin_networks in mason.yml)"
            )
        existing = self.list_hosts(spec.name)
        check_growth(spec, existing)
        cpu, memory = self._size(config.size)
        image = self._image(config)
        labels = json.dumps(dict(spec.labels), sort_keys=True)
        if len(labels) > 256:
            raise InvalidInput("--label: labels of an AWS host must fit 256 characters as JSON")
        result = CreateResult(existing=existing)
        have = {h.index for h in existing}
        wanted = [i for i in range(1, spec.hosts + 1) if i not in have]
        made: list[str] = []
        try:
            # The network is reconciled on every run (cheap, and repairs a half-made pod).
            vpc_id = self._ensure_vpc(spec, config, progress)
            subnets = self._ensure_subnets(spec, config, vpc_id, progress)
            group_id = self._ensure_group(spec, config, vpc_id, progress)
            key_name = self._ensure_key(spec, key, progress)
            if not wanted:
                return result
            for index in wanted:
                name = f"{spec.name}-h{index}"
                zone = spec.zone_of(index)
                progress(f"creating host {name} ({zone}, {spec.role_of(index)}, {config.size})")
                tags = {
                    **self._base_tags(spec, name),
                    "mason:host": name,
                    "mason:index": str(index),
                    "mason:zone": zone,
                    "mason:role": spec.role_of(index),
                    "mason:cpu": f"{cpu:g}",
                    "mason:memory": str(memory),
                    "mason:labels": labels,
                }
                with self._errors(f"create instance {name}"):
                    reply = self.ec2.run_instances(
                        ImageId=image,
                        InstanceType=config.size,
                        MinCount=1,
                        MaxCount=1,
                        KeyName=key_name,
                        UserData=user_data(key.public_openssh),
                        NetworkInterfaces=[
                            {
                                "DeviceIndex": 0,
                                "SubnetId": subnets[zone],
                                "Groups": [group_id],
                                "AssociatePublicIpAddress": config.address == "public",
                            }
                        ],
                        TagSpecifications=[
                            {"ResourceType": "instance", "Tags": _tags(tags)},
                            {"ResourceType": "volume", "Tags": _tags(self._base_tags(spec, name))},
                        ],
                    )
                made.append(reply["Instances"][0]["InstanceId"])
            progress(f"waiting for {len(made)} instance(s) to run")
            with self._errors("wait for the instances to run"):
                self.ec2.get_waiter("instance_running").wait(
                    InstanceIds=made, WaiterConfig={"Delay": 5, "MaxAttempts": 60}
                )
        except BaseException:
            if made:
                progress(f"rolling back: terminating {len(made)} instance(s) made by this run")
                self._terminate(made)
            if not existing:
                with contextlib.suppress(NotFound, ProviderError):
                    self._remove_network(spec.name, progress)
            raise
        result.created = [h for h in self.list_hosts(spec.name) if h.id in made]
        return result

    def _base_tags(self, spec: PodSpec, name: str) -> dict[str, str]:
        return {
            "Name": f"mason-{name}",
            "mason:pod": spec.name,
            "mason:provider": "aws",
            "mason:environment": spec.environment,
        }

    def _size(self, size: str) -> tuple[float, int]:
        from botocore.exceptions import ClientError

        try:
            reply = self.ec2.describe_instance_types(InstanceTypes=[size])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidInstanceType":
                raise InvalidInput(
                    f"aws size: unknown instance type {size!r} in {self.region} "
                    "(expected e.g. t3.small, m6i.large)"
                ) from None
            with self._errors("describe the instance type"):
                raise
        info = reply["InstanceTypes"][0]
        return float(info["VCpuInfo"]["DefaultVCpus"]), int(info["MemoryInfo"]["SizeInMiB"]) * 2**20

    def _image(self, config: AwsOptions) -> str:
        with self._errors("find the image"):
            if config.image.startswith("ami-"):
                images = self.ec2.describe_images(ImageIds=[config.image])["Images"]
            else:
                images = self.ec2.describe_images(
                    Owners=[config.image_owner],
                    Filters=[
                        {"Name": "name", "Values": [config.image]},
                        {"Name": "architecture", "Values": ["x86_64"]},
                    ],
                )["Images"]
        if not images:
            raise InvalidInput(
                f"aws image: no AMI matches {config.image!r} (owner {config.image_owner}) in "
                f"{self.region} (set --image ami-... or options.image)"
            )
        return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]

    def _find(self, call: str, key: str, pod: str, extra: list | None = None) -> list[dict]:
        with self._errors(f"list {key}"):
            return getattr(self.ec2, call)(Filters=[*_pod_filter(pod), *(extra or [])])[key]

    def _ensure_vpc(self, spec: PodSpec, config: AwsOptions, progress: Progress) -> str:
        subnets = self._find("describe_subnets", "Subnets", spec.name)
        if subnets:
            return subnets[0]["VpcId"]
        vpcs = self._find("describe_vpcs", "Vpcs", spec.name)
        if vpcs:
            return vpcs[0]["VpcId"]
        if config.vpc_id:
            with self._errors(f"find VPC {config.vpc_id}"):
                found = self.ec2.describe_vpcs(
                    Filters=[{"Name": "vpc-id", "Values": [config.vpc_id]}]
                )["Vpcs"]
            if not found:
                raise InvalidInput(f"aws vpc_id: no VPC {config.vpc_id!r} in {self.region}")
            return config.vpc_id
        progress(f"creating VPC mason-{spec.name} ({config.cidr})")
        tags = self._base_tags(spec, spec.name)
        with self._errors("create the VPC"):
            vpc_id = self.ec2.create_vpc(
                CidrBlock=config.cidr,
                TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(tags)}],
            )["Vpc"]["VpcId"]
            self.ec2.get_waiter("vpc_available").wait(VpcIds=[vpc_id])
            gateway = self.ec2.create_internet_gateway(
                TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": _tags(tags)}]
            )["InternetGateway"]["InternetGatewayId"]
            self.ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
            main = self.ec2.describe_route_tables(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "association.main", "Values": ["true"]},
                ]
            )["RouteTables"][0]["RouteTableId"]
            self.ec2.create_route(
                RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
            )
        return vpc_id

    def _zone_map(self, spec: PodSpec, config: AwsOptions) -> dict[str, str]:
        with self._errors("list availability zones"):
            azs = sorted(
                z["ZoneName"]
                for z in self.ec2.describe_availability_zones(
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
                        f"{self.region} (expected one of: {', '.join(azs)})"
                    )
            elif zone in azs:
                az = zone
            else:
                az = azs[position % len(azs)]
            mapping[zone] = az
        return mapping

    def _ensure_subnets(
        self, spec: PodSpec, config: AwsOptions, vpc_id: str, progress: Progress
    ) -> dict[str, str]:
        """One subnet per pod zone (in the zone's AZ); existing ones are kept as they are."""
        ours = {
            _tag_map(s).get("mason:zone"): s["SubnetId"]
            for s in self._find("describe_subnets", "Subnets", spec.name)
        }
        missing = [z for z in dict.fromkeys(spec.zones) if z not in ours]
        if not missing:
            return ours
        mapping = self._zone_map(spec, config)
        with self._errors("list the VPC's subnets"):
            vpc = self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
            taken = [
                ipaddress.ip_network(s["CidrBlock"])
                for s in self.ec2.describe_subnets(
                    Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
                )["Subnets"]
            ]
        block = ipaddress.ip_network(vpc["CidrBlock"])
        prefix = min(28, max(24, block.prefixlen + 2))
        free = (
            n for n in block.subnets(new_prefix=prefix) if not any(n.overlaps(t) for t in taken)
        )
        made_vpc = _tag_map(vpc).get("mason:pod") == spec.name
        for zone in missing:
            cidr = next(free, None)
            if cidr is None:
                raise ProviderError(f"aws: no free /{prefix} left in VPC {vpc_id} for zone {zone}")
            progress(f"creating subnet for zone {zone} ({mapping[zone]}, {cidr})")
            tags = {**self._base_tags(spec, f"{spec.name}-{zone}"), "mason:zone": zone}
            with self._errors(f"create the subnet of zone {zone}"):
                subnet = self.ec2.create_subnet(
                    VpcId=vpc_id,
                    CidrBlock=str(cidr),
                    AvailabilityZone=mapping[zone],
                    TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(tags)}],
                )["Subnet"]["SubnetId"]
                if made_vpc:
                    self.ec2.modify_subnet_attribute(
                        SubnetId=subnet, MapPublicIpOnLaunch={"Value": True}
                    )
            ours[zone] = subnet
        return ours

    def _ensure_group(
        self, spec: PodSpec, config: AwsOptions, vpc_id: str, progress: Progress
    ) -> str:
        groups = self._find("describe_security_groups", "SecurityGroups", spec.name)
        if groups:
            group = groups[0]
            group_id = group["GroupId"]
        else:
            progress(f"creating security group mason-{spec.name}")
            with self._errors("create the security group"):
                group_id = self.ec2.create_security_group(
                    GroupName=f"mason-{spec.name}",
                    Description=f"mason pod {spec.name}: SSH from admin networks, pod ports",
                    VpcId=vpc_id,
                    TagSpecifications=[
                        {
                            "ResourceType": "security-group",
                            "Tags": _tags(self._base_tags(spec, spec.name)),
                        }
                    ],
                )["GroupId"]
            group = {"IpPermissions": []}
        have = set()
        for perm in group.get("IpPermissions", []):
            proto, lo, hi = perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort")
            have |= {(proto, lo, hi, "cidr", r["CidrIp"]) for r in perm.get("IpRanges", [])}
            have |= {
                (proto, lo, hi, "group", g["GroupId"]) for g in perm.get("UserIdGroupPairs", [])
            }
        # Admin networks given: they replace the SSH rules. None given on a re-run:
        # the pod keeps the ones it has.
        want = {("tcp", 22, 22, "cidr", net) for net in config.admin_networks} or {
            rule for rule in have if rule[3] == "cidr"
        }
        want |= {("tcp", lo, hi, "group", group_id) for lo, hi in config.pod_ports}

        def permissions(rules: Iterable[tuple]) -> list[dict[str, Any]]:
            out = []
            for proto, lo, hi, kind, source in sorted(rules):
                perm: dict[str, Any] = {"IpProtocol": proto, "FromPort": lo, "ToPort": hi}
                if kind == "cidr":
                    perm["IpRanges"] = [{"CidrIp": source, "Description": "mason admin network"}]
                else:
                    perm["UserIdGroupPairs"] = [{"GroupId": source, "Description": "mason pod"}]
                out.append(perm)
            return out

        with self._errors(f"set the rules of security group mason-{spec.name}"):
            if have - want:
                self.ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=permissions(have - want)
                )
            if want - have:
                self.ec2.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=permissions(want - have)
                )
        return group_id

    def _ensure_key(self, spec: PodSpec, key: KeyPair, progress: Progress) -> str:
        name = f"mason-{spec.name}"
        if not self._find("describe_key_pairs", "KeyPairs", spec.name):
            progress(f"importing key pair {name}")
            with self._errors(f"import key pair {name}"):
                self.ec2.import_key_pair(
                    KeyName=name,
                    PublicKeyMaterial=key.public_openssh.encode(),
                    TagSpecifications=[
                        {
                            "ResourceType": "key-pair",
                            "Tags": _tags(self._base_tags(spec, spec.name)),
                        }
                    ],
                )
        return name

    # -- destroy ----------------------------------------------------------------
    def _terminate(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._errors("terminate instances"):
            self.ec2.terminate_instances(InstanceIds=ids)
            self.ec2.get_waiter("instance_terminated").wait(
                InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
            )

    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        wanted = set(names)
        self._terminate([h.id for h in self.list_hosts(pod) if h.name in wanted])

    def _remove_network(self, pod: str, progress: Progress) -> list[str]:
        """Security group, subnets, key pair, gateway and VPC of the pod (those mason tagged)."""
        removed = []
        for group in self._find("describe_security_groups", "SecurityGroups", pod):
            progress(f"removing security group {group['GroupName']}")
            self._retry(
                f"delete security group {group['GroupId']}",
                self.ec2.delete_security_group,
                GroupId=group["GroupId"],
            )
            removed.append(f"security group {group['GroupId']}")
        for subnet in self._find("describe_subnets", "Subnets", pod):
            self._retry(
                f"delete subnet {subnet['SubnetId']}",
                self.ec2.delete_subnet,
                SubnetId=subnet["SubnetId"],
            )
            removed.append(f"subnet {subnet['SubnetId']}")
        for pair in self._find("describe_key_pairs", "KeyPairs", pod):
            with self._errors(f"delete key pair {pair['KeyName']}"):
                self.ec2.delete_key_pair(KeyName=pair["KeyName"])
            removed.append(f"key pair {pair['KeyName']}")
        for gateway in self._find("describe_internet_gateways", "InternetGateways", pod):
            gateway_id = gateway["InternetGatewayId"]
            with self._errors(f"delete internet gateway {gateway_id}"):
                for attachment in gateway.get("Attachments", []):
                    self.ec2.detach_internet_gateway(
                        InternetGatewayId=gateway_id, VpcId=attachment["VpcId"]
                    )
                self.ec2.delete_internet_gateway(InternetGatewayId=gateway_id)
            removed.append(f"internet gateway {gateway_id}")
        # Only a VPC tagged for this pod is mason's; a given vpc_id is never tagged.
        for vpc in self._find("describe_vpcs", "Vpcs", pod):
            progress(f"removing VPC {vpc['VpcId']}")
            self._retry(f"delete VPC {vpc['VpcId']}", self.ec2.delete_vpc, VpcId=vpc["VpcId"])
            removed.append(f"vpc {vpc['VpcId']}")
        return removed

    def _retry(self, what: str, call: Any, **kwargs: Any) -> None:
        """AWS releases network interfaces a while after instances terminate."""
        from botocore.exceptions import ClientError

        for attempt in range(30):
            try:
                call(**kwargs)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "DependencyViolation" or attempt == 29:
                    with self._errors(what):
                        raise
            time.sleep(min(10, 1 + attempt))

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        hosts = self.list_hosts(pod)
        leftovers = any(
            self._find(call, key, pod)
            for call, key in (
                ("describe_vpcs", "Vpcs"),
                ("describe_subnets", "Subnets"),
                ("describe_security_groups", "SecurityGroups"),
                ("describe_key_pairs", "KeyPairs"),
                ("describe_internet_gateways", "InternetGateways"),
            )
        )
        if not hosts and not leftovers:
            raise NotFound(f"pod {pod!r} does not exist on aws in {self.region}")
        result = DestroyResult()
        if hosts:
            for host in hosts:
                progress(f"terminating host {host.name} ({host.id})")
            self._terminate([h.id for h in hosts])
            result.removed += [f"instance {h.id} ({h.name})" for h in hosts]
        result.removed += self._remove_network(pod, progress)
        return result


def _known_regions() -> set[str]:
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return regions
