"""A pod's instances on EC2: found by tag, read back as hosts, launched, terminated."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from mason.core.errors import InvalidInput
from mason.core.names import ROLE_WORKER
from mason.providers.aws.client import Ec2, pod_filter, tag_map, tags
from mason.providers.aws.network import base_tags
from mason.providers.aws.options import AwsOptions
from mason.providers.base import ADMIN_USER, DEFAULT_ENVIRONMENT, Host, PodSpec

LIVE_STATES = ("pending", "running", "stopping", "stopped")


class Size(NamedTuple):
    """What an instance type offers placement."""

    cpu: float  # cores
    memory: int  # bytes


class Launch(NamedTuple):
    """What every instance of one create shares."""

    image: str
    key_name: str
    subnets: Mapping[str, str]  # pod zone -> subnet id
    group_id: str
    size: Size
    labels: str  # JSON
    user_data: str


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
        f"  - name: {ADMIN_USER}\n"
        "    groups: [mason-ssh]\n"
        "    shell: /bin/bash\n"
        "    lock_passwd: true\n"
        "    sudo: 'ALL=(ALL) NOPASSWD:ALL'\n"
        f"    ssh_authorized_keys: [{json.dumps(public_key.strip())}]\n"
    )


def find(ec2: Ec2, pod: str | None) -> list[dict[str, Any]]:
    """Live instances of ``pod`` (of every pod when None)."""
    filters = [*pod_filter(pod), {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
    found = []
    with ec2.errors("list instances"):
        for page in ec2.client.get_paginator("describe_instances").paginate(Filters=filters):
            for reservation in page["Reservations"]:
                found.extend(reservation["Instances"])
    return found


def _number(text: str | None, kind: type[int] | type[float]) -> Any:
    """A number from a tag; a tag someone edited by hand reads as 0, not a crash."""
    try:
        return kind(text or 0)
    except ValueError:
        return kind(0)


def _labels(text: str | None) -> dict[str, str]:
    try:
        labels = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def host_of(instance: Mapping[str, Any], address: str) -> Host:
    """An instance as a host; ``address`` says whether SSH uses its public address."""
    tagged = tag_map(instance)
    public = instance.get("PublicIpAddress") or ""
    private = instance.get("PrivateIpAddress") or ""
    use_public = address == "public" and public
    return Host(
        name=tagged.get("mason:host", instance["InstanceId"]),
        pod=tagged["mason:pod"],
        provider="aws",
        environment=tagged.get("mason:environment", DEFAULT_ENVIRONMENT),
        zone=tagged.get("mason:zone", ""),
        role=tagged.get("mason:role", ROLE_WORKER),
        index=_number(tagged.get("mason:index"), int),
        address=public if use_public else private,
        ssh_port=22,
        ssh_user=ADMIN_USER,
        cpu=_number(tagged.get("mason:cpu"), float),
        memory=_number(tagged.get("mason:memory"), int),
        labels=_labels(tagged.get("mason:labels")),
        state=instance.get("State", {}).get("Name", ""),
        id=instance["InstanceId"],
        private_address=private,
    )


def size_of(ec2: Ec2, size: str) -> Size:
    from botocore.exceptions import ClientError

    try:
        reply = ec2.client.describe_instance_types(InstanceTypes=[size])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidInstanceType":
            raise InvalidInput(
                f"aws size: unknown instance type {size!r} in {ec2.region} "
                "(expected e.g. t3.small, m6i.large)"
            ) from None
        with ec2.errors("describe the instance type"):
            raise
    info = reply["InstanceTypes"][0]
    return Size(
        float(info["VCpuInfo"]["DefaultVCpus"]), int(info["MemoryInfo"]["SizeInMiB"]) * 2**20
    )


def image_of(ec2: Ec2, config: AwsOptions) -> str:
    """The AMI: an ``ami-`` id as given, else the newest image matching the name pattern."""
    with ec2.errors("find the image"):
        if config.image.startswith("ami-"):
            images = ec2.client.describe_images(ImageIds=[config.image])["Images"]
        else:
            images = ec2.client.describe_images(
                Owners=[config.image_owner],
                Filters=[
                    {"Name": "name", "Values": [config.image]},
                    {"Name": "architecture", "Values": ["x86_64"]},
                ],
            )["Images"]
    if not images:
        raise InvalidInput(
            f"aws image: no AMI matches {config.image!r} (owner {config.image_owner}) in "
            f"{ec2.region} (set --image ami-... or options.image)"
        )
    return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]


def launch(ec2: Ec2, spec: PodSpec, config: AwsOptions, index: int, shared: Launch) -> str:
    """Start host ``index`` of the pod; its instance id."""
    name, zone, role = f"{spec.name}-h{index}", spec.zone_of(index), spec.role_of(index)
    tagged = {
        **base_tags(spec, name),
        "mason:host": name,
        "mason:index": str(index),
        "mason:zone": zone,
        "mason:role": role,
        "mason:cpu": f"{shared.size.cpu:g}",
        "mason:memory": str(shared.size.memory),
        "mason:labels": shared.labels,
    }
    with ec2.errors(f"create instance {name}"):
        reply = ec2.client.run_instances(
            ImageId=shared.image,
            InstanceType=config.size,
            MinCount=1,
            MaxCount=1,
            KeyName=shared.key_name,
            UserData=shared.user_data,
            NetworkInterfaces=[
                {
                    "DeviceIndex": 0,
                    "SubnetId": shared.subnets[zone],
                    "Groups": [shared.group_id],
                    "AssociatePublicIpAddress": config.address == "public",
                }
            ],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": tags(tagged)},
                {"ResourceType": "volume", "Tags": tags(base_tags(spec, name))},
            ],
        )
    return reply["Instances"][0]["InstanceId"]


def wait_running(ec2: Ec2, ids: list[str]) -> None:
    with ec2.errors("wait for the instances to run"):
        ec2.client.get_waiter("instance_running").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 60}
        )


def terminate(ec2: Ec2, ids: list[str]) -> None:
    if not ids:
        return
    with ec2.errors("terminate instances"):
        ec2.client.terminate_instances(InstanceIds=ids)
        ec2.client.get_waiter("instance_terminated").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
