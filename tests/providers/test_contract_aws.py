"""The aws provider against the provider contract, and its CLI behaviour, on moto_server.

Every call goes to the moto_server the session fixture started on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mason.core.errors import InvalidInput, NotFound
from mason.providers.aws import AwsProvider
from tests.conftest import unique_pod_name
from tests.integration.conftest import mason
from tests.providers.conftest import assert_loopback
from tests.providers.contract import ProviderContract

REGION = "eu-west-1"
SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
ADMIN = "127.0.0.1/32"


def ec2_client() -> Any:
    endpoint = assert_loopback(os.environ["AWS_ENDPOINT_URL"])
    return boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)


def moto_image() -> str:
    images = ec2_client().describe_images(
        Filters=[{"Name": "name", "Values": ["amzn2-ami-hvm-*-x86_64-gp2"]}]
    )["Images"]
    return images[0]["ImageId"]


def tagged(pod: str) -> list[str]:
    """Every resource of every type mason makes that still carries the pod's tag."""
    ec2 = ec2_client()
    by_tag = [{"Name": "tag:mason:pod", "Values": [pod]}]
    found = []
    for reservation in ec2.describe_instances(Filters=by_tag)["Reservations"]:
        found += [
            f"instance {i['InstanceId']}"
            for i in reservation["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
    found += [f"vpc {v['VpcId']}" for v in ec2.describe_vpcs(Filters=by_tag)["Vpcs"]]
    found += [f"subnet {s['SubnetId']}" for s in ec2.describe_subnets(Filters=by_tag)["Subnets"]]
    found += [
        f"security group {g['GroupId']}"
        for g in ec2.describe_security_groups(Filters=by_tag)["SecurityGroups"]
    ]
    found += [
        f"internet gateway {g['InternetGatewayId']}"
        for g in ec2.describe_internet_gateways(Filters=by_tag)["InternetGateways"]
    ]
    found += [
        f"key pair {k['KeyName']}"
        for k in ec2.describe_key_pairs()["KeyPairs"]
        if k["KeyName"] == f"mason-{pod}"
    ]
    found += [f"volume {v['VolumeId']}" for v in ec2.describe_volumes(Filters=by_tag)["Volumes"]]
    return found


@pytest.fixture(scope="module")
def aws_env(moto: dict[str, str]):
    with pytest.MonkeyPatch.context() as mp:
        for key, value in moto.items():
            mp.setenv(key, value)
        assert_loopback(moto["AWS_ENDPOINT_URL"])
        yield moto


@pytest.fixture(scope="module")
def image(aws_env) -> str:
    return moto_image()


class TestAwsContract(ProviderContract):
    name = "aws"

    image: str = ""

    @pytest.fixture(scope="class")
    @classmethod
    def provider(cls, aws_env, image) -> AwsProvider:
        cls.image = image
        provider = AwsProvider(cls.options())
        provider.check()
        return provider

    @classmethod
    def options(cls) -> dict[str, Any]:
        return {
            "region": REGION,
            "image": cls.image,
            "size": "t3.small",
            "admin_networks": [ADMIN],
        }

    @classmethod
    def inventory_options(cls) -> dict[str, Any]:
        return {"region": REGION}

    def leftovers(self, provider: AwsProvider, pod: str) -> list[str]:
        return tagged(pod)


# -- the CLI on aws: what a user sees ------------------------------------------------------


def write_project(project: Path, pod: str, **options: Any) -> None:
    body = {"provider": "aws", "options": {"region": REGION, **options}}
    (project / "mason.yml").write_text(yaml.safe_dump({"version": 1, "pods": {pod: body}}))


def last_json(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def aws_cli(moto, cloud_env, image, tmp_path: Path):
    """A project directory and a pod name, with the pod destroyed afterwards."""
    cloud_env(moto)
    pod = unique_pod_name("aws")
    yield tmp_path, pod
    with contextlib.suppress(NotFound):
        AwsProvider({"region": REGION}).destroy_pod(pod)


def test_no_wait_creates_and_tags_only(aws_cli, image: str) -> None:
    project, pod = aws_cli
    write_project(project, pod, image=image)
    proc = mason(
        "--json", "pod", "create", pod, "--hosts", "3", "--zones", "zone-a,zone-b",
        "--admin-network", ADMIN, "--env", "prod", "--no-wait", project=project,
    )  # fmt: skip
    out = last_json(proc.stdout)
    assert out["created"] == [f"{pod}-h1", f"{pod}-h2", f"{pod}-h3"]
    assert "waiting for SSH" not in proc.stderr
    ec2 = ec2_client()
    instances = [
        i
        for r in ec2.describe_instances(Filters=[{"Name": "tag:mason:pod", "Values": [pod]}])[
            "Reservations"
        ]
        for i in r["Instances"]
    ]
    tags = sorted(
        (t["mason:host"], t["mason:zone"], t["mason:role"], t["mason:environment"])
        for t in ({x["Key"]: x["Value"] for x in i["Tags"]} for i in instances)
    )
    assert tags == [
        (f"{pod}-h1", "zone-a", "manager", "prod"),
        (f"{pod}-h2", "zone-b", "worker", "prod"),
        (f"{pod}-h3", "zone-a", "worker", "prod"),
    ]
    # Pod zones map to availability zones in order, one subnet each.
    subnets = {
        s["AvailabilityZone"]: {t["Key"]: t["Value"] for t in s["Tags"]}["mason:zone"]
        for s in ec2.describe_subnets(Filters=[{"Name": "tag:mason:pod", "Values": [pod]}])[
            "Subnets"
        ]
    }
    assert subnets == {"eu-west-1a": "zone-a", "eu-west-1b": "zone-b"}
    by_zone = {}
    for i in instances:
        by_zone.setdefault(i["Placement"]["AvailabilityZone"], []).append(i["InstanceId"])
    assert sorted(len(v) for v in by_zone.values()) == [1, 2]
    # SSH only from the admin network; pod ports only from the pod's own group.
    group = ec2.describe_security_groups(Filters=[{"Name": "tag:mason:pod", "Values": [pod]}])[
        "SecurityGroups"
    ][0]
    for perm in group["IpPermissions"]:
        cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        groups = [g["GroupId"] for g in perm.get("UserIdGroupPairs", [])]
        if perm["FromPort"] == 22:
            assert (cidrs, groups) == ([ADMIN], [])
        else:
            assert (cidrs, groups) == ([], [group["GroupId"]])
    assert any(p["FromPort"] == 22 for p in group["IpPermissions"])
    # The user data makes the same admin user as every provider, with the pod key.
    data = ec2.describe_instance_attribute(
        InstanceId=instances[0]["InstanceId"], Attribute="userData"
    )["UserData"]["Value"]
    import base64

    script = base64.b64decode(data).decode()
    assert "name: mason" in script and "mason-ssh" in script and "ssh-ed25519 " in script
    # A second run is a no-op; the listing shows the pod.
    again = last_json(mason("--json", "pod", "create", pod, "--no-wait", project=project).stdout)
    assert again["created"] == [] and len(again["hosts"]) == 3
    listed = json.loads(mason("--json", "pod", "list", "--provider", "aws", project=project).stdout)
    assert {"name": pod, "hosts": 3, "provider": "aws"}.items() <= next(
        r for r in listed if r["name"] == pod
    ).items()
    proc = mason("--json", "pod", "destroy", pod, "--yes", project=project)
    assert tagged(pod) == []
    assert any(r.startswith("vpc ") for r in last_json(proc.stdout)["removed"])


def test_unreachable_hosts_are_reported_and_kept(aws_cli, image: str) -> None:
    """Emulated instances have no SSH. Their private addresses are put in 127.42/16 so
    the SSH wait probes only loopback addresses (nothing listens there)."""
    project, pod = aws_cli
    write_project(project, pod, image=image, cidr="127.42.0.0/16", address="private")
    proc = mason(
        "pod", "create", pod, "--hosts", "2", "--admin-network", ADMIN, "--ssh-timeout", "2",
        project=project, check=False,
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("mason: error:")]
    assert len(error) == 1
    assert f"{pod}-h1" in error[0] and f"{pod}-h2" in error[0] and "hosts kept" in error[0]
    assert "Traceback" not in proc.stderr
    hosts = AwsProvider({"region": REGION, "address": "private"}).list_hosts(pod)
    assert [h.name for h in hosts] == [f"{pod}-h1", f"{pod}-h2"]
    assert all(h.address.startswith("127.42.") for h in hosts)


def test_existing_vpc_is_used_and_never_deleted(aws_cli, image: str) -> None:
    project, pod = aws_cli
    ec2 = ec2_client()
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    write_project(project, pod, image=image)
    mason(
        "pod", "create", pod, "--hosts", "1", "--vpc-id", vpc, "--admin-network", ADMIN,
        "--no-wait", project=project,
    )  # fmt: skip
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    # One subnet per pod zone (zone-a, zone-b, zone-c by default), in free /24s.
    assert sorted(s["CidrBlock"] for s in subnets) == [f"10.77.{i}.0/24" for i in range(3)]
    mason("pod", "destroy", pod, "--yes", project=project)
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["VpcId"] == vpc
    assert ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"] == []
    assert tagged(pod) == []


def test_quota_error_is_one_clear_line_and_leaves_nothing(aws_cli, image: str) -> None:
    """AWS allows 60 inbound rules per security group; moto enforces the same quota."""
    project, pod = aws_cli
    networks = [f"198.51.100.{i}/32" for i in range(61)]
    write_project(project, pod, image=image, admin_networks=networks)
    proc = mason("pod", "create", pod, "--hosts", "1", "--no-wait", project=project, check=False)
    assert proc.returncode == 10, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("mason: error: aws quota reached")
    assert "RulesPerSecurityGroupLimitExceeded" in error
    assert "Traceback" not in proc.stderr
    assert tagged(pod) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--region", "mars-1"], 3, "aws region: unknown region 'mars-1'"),
        (["--size", "t9.nope"], 3, "aws size: unknown instance type 't9.nope'"),
        (["--vpc-id", "vpc-0000"], 3, "aws vpc_id: no VPC 'vpc-0000'"),
    ],
)
def test_bad_input_is_one_clear_line(aws_cli, image, args, code, message) -> None:
    project, pod = aws_cli
    write_project(project, pod, image=image, admin_networks=[ADMIN])
    proc = mason("pod", "create", pod, "--no-wait", *args, project=project, check=False)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert tagged(pod) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"region": "eu-west1"},
            "aws region: unknown region 'eu-west1' (did you mean 'eu-west-1'?)",
        ),
        ({"admin_networks": ["10.0.0.0/33"]}, "aws options.admin_networks[0]: expected a CIDR"),
        ({"pod_ports": ["80-70"]}, "aws options.pod_ports[0]: expected a port or a range"),
        ({"adress": "private"}, "aws options.adress: unknown key (did you mean 'address'?)"),
        ({"cidr": "10.0.0.0/8"}, "aws options.cidr: expected an IPv4 block from /16 to /28"),
    ],
)
def test_bad_options_name_the_field(aws_env, options, message) -> None:
    with pytest.raises(InvalidInput) as caught:
        _ = AwsProvider(options).region
    assert message in str(caught.value)


def test_missing_credentials_exit_5(aws_cli, image) -> None:
    project, pod = aws_cli
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    write_project(project, pod, image=image, admin_networks=[ADMIN])
    proc = mason("pod", "create", pod, "--no-wait", project=project, check=False, env=env)
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.startswith("mason: error: aws: no credentials found")
    assert "testing" not in proc.stderr


def test_docker_rejects_cloud_flags(tmp_path: Path) -> None:
    proc = mason("pod", "create", "mtx-nope", "--region", "eu-west-1", project=tmp_path,
                 check=False)  # fmt: skip
    assert proc.returncode == 3
    assert "--region: not an option of provider 'docker'" in proc.stderr
