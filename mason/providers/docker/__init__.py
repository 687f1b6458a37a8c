"""The embedded default provider: hosts are containers on the local Docker engine."""

from mason.providers.docker.provider import DockerProvider

__all__ = ["DockerProvider"]
