"""The aws provider: pods of EC2 instances, found again by their tags."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from mason.core.errors import InvalidInput, NotFound, ProviderError
from mason.providers.aws import instances
from mason.providers.aws.client import Ec2
from mason.providers.aws.instances import Launch
from mason.providers.aws.network import Network
from mason.providers.aws.options import OPTION_KEYS, AwsOptions, parse_options
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
    listed,
)

MAX_LABELS_JSON = 256  # an EC2 tag value holds at most 256 characters


class AwsProvider(Provider):
    """Pods of EC2 instances, found again by their tags."""

    name = "aws"
    option_keys = OPTION_KEYS
    #: hosts that do not answer SSH after create are kept and reported, not removed
    keep_unreachable = True

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.config = parse_options(self.options)
        self.api = Ec2(self.config)
        self.network = Network(self.api)

    @property
    def region(self) -> str:
        return self.api.region

    @property
    def ec2(self) -> Any:
        """The boto3 EC2 client (made on first use)."""
        return self.api.client

    @property
    def endpoint(self) -> str:
        return self.api.endpoint

    def check(self) -> None:
        with self.api.errors("check the region"):
            self.ec2.describe_availability_zones()

    # -- list ---------------------------------------------------------------------------
    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        return listed(
            [instances.host_of(i, self.config.address) for i in instances.find(self.api, pod)],
            environment,
        )

    # -- create -------------------------------------------------------------------------
    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        config = parse_options({**self.options, **spec.options})
        existing = self._check_create(spec, config)
        size, image = instances.size_of(self.api, config.size), instances.image_of(self.api, config)
        labels = json.dumps(dict(spec.labels), sort_keys=True)
        result = CreateResult(existing=existing)
        have = {h.index for h in existing}
        wanted = [i for i in range(1, spec.hosts + 1) if i not in have]
        made: list[str] = []
        try:
            # The network is reconciled on every run (cheap, and repairs a half-made pod).
            vpc_id = self.network.ensure_vpc(spec, config, progress)
            shared = Launch(
                image=image,
                subnets=self.network.ensure_subnets(spec, config, vpc_id, progress),
                group_id=self.network.ensure_group(spec, config, vpc_id, progress),
                key_name=self.network.ensure_key(spec, key, progress),
                size=size,
                labels=labels,
                user_data=instances.user_data(key.public_openssh),
            )
            if not wanted:
                return result
            for index in wanted:
                progress(
                    f"creating host {spec.name}-h{index} ({spec.zone_of(index)}, "
                    f"{spec.role_of(index)}, {config.size})"
                )
                made.append(instances.launch(self.api, spec, config, index, shared))
            progress(f"waiting for {len(made)} instance(s) to run")
            instances.wait_running(self.api, made)
        except BaseException:
            self._roll_back(spec.name, made, bool(existing), progress)
            raise
        result.created = [h for h in self.list_hosts(spec.name) if h.id in made]
        return result

    def _check_create(self, spec: PodSpec, config: AwsOptions) -> list[Host]:
        """Everything a create can refuse before it makes anything; the pod's hosts."""
        if not config.admin_networks and not self.api.find(
            "describe_security_groups", "SecurityGroups", spec.name
        ):
            raise InvalidInput(
                "aws options.admin_networks: expected at least one CIDR allowed to reach SSH "
                "(--admin-network 203.0.113.0/24 or options.admin_networks in mason.yml)"
            )
        if len(json.dumps(dict(spec.labels), sort_keys=True)) > MAX_LABELS_JSON:
            raise InvalidInput(
                f"--label: labels of an AWS host must fit {MAX_LABELS_JSON} characters as JSON"
            )
        existing = self.list_hosts(spec.name)
        check_growth(spec, existing)
        return existing

    def _roll_back(self, pod: str, made: list[str], grew: bool, progress: Progress) -> None:
        """Terminate what a failed create launched; remove the network of a pod it began."""
        if made:
            progress(f"rolling back: terminating {len(made)} instance(s) made by this run")
            instances.terminate(self.api, made)
        if not grew:
            with contextlib.suppress(NotFound, ProviderError):
                self.network.remove(pod, progress)

    # -- destroy ------------------------------------------------------------------------
    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        wanted = set(names)
        instances.terminate(self.api, [h.id for h in self.list_hosts(pod) if h.name in wanted])

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        hosts = self.list_hosts(pod)
        if not hosts and not self.network.leftovers(pod):
            raise NotFound(f"pod {pod!r} does not exist on aws in {self.region}")
        result = DestroyResult()
        if hosts:
            for host in hosts:
                progress(f"terminating host {host.name} ({host.id})")
            instances.terminate(self.api, [h.id for h in hosts])
            result.removed += [f"instance {h.id} ({h.name})" for h in hosts]
        result.removed += self.network.remove(pod, progress)
        return result
