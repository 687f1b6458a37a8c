"""The docker provider (the embedded default) against the provider contract, on the real engine."""

from __future__ import annotations

import docker
import pytest

from mason.providers.docker import DockerProvider
from tests.providers.contract import ProviderContract

pytestmark = pytest.mark.integration


class TestDockerContract(ProviderContract):
    name = "docker"

    @pytest.fixture(scope="class")
    @classmethod
    def provider(cls) -> DockerProvider:
        provider = DockerProvider()
        provider.check()
        return provider

    def leftovers(self, provider: DockerProvider, pod: str) -> list[str]:
        engine = docker.from_env()
        label = {"label": f"mason.pod={pod}"}
        return (
            [f"container {c.name}" for c in engine.containers.list(all=True, filters=label)]
            + [f"volume {v.name}" for v in engine.volumes.list(filters=label)]
            + [f"network {n.name}" for n in engine.networks.list(filters=label)]
        )
