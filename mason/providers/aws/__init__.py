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

Modules: ``options`` (the provider options, checked), ``client`` (the EC2 client of a
region and its errors), ``network`` (VPC, subnets, security group, key pair),
``instances`` (find, read back, launch, terminate), ``provider`` (the Provider).
"""

from mason.providers.aws.instances import user_data
from mason.providers.aws.options import OPTION_KEYS, AwsOptions, parse_options
from mason.providers.aws.provider import AwsProvider

__all__ = ["OPTION_KEYS", "AwsOptions", "AwsProvider", "parse_options", "user_data"]
