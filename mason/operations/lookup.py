"""Finding a pod's provider, settings and hosts: the lookups every operation starts with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mason.core.errors import NotFound
from mason.core.names import check_pod_name
from mason.core.project import PodDefaults, load_project
from mason.providers import check_options, get_provider, provider_class
from mason.providers.base import Host, Provider


def provider_options(
    project_dir: Path, provider_name: str, pod_options: Mapping[str, Any]
) -> dict[str, Any]:
    """A pod's provider options from mason.yml, plus what the provider needs to know of the
    project (static pods are defined in mason.yml itself)."""
    options = dict(pod_options)
    if "project_dir" in provider_class(provider_name).option_keys:
        options.setdefault("project_dir", str(project_dir))
    return options


def provider_source(defaults: PodDefaults, named: str | None) -> str:
    """Where a pod's provider name came from, for errors: ``--provider`` or its mason.yml field."""
    if named:
        return "--provider"
    return f"{defaults.where}.provider" if defaults.where else ""


def provider_for(project_dir: Path, pod: str, provider_name: str | None = None) -> Provider:
    """The provider of ``pod``: explicit name, else mason.yml, else the local engine."""
    defaults = load_project(project_dir).pod(pod)
    name = provider_name or defaults.provider
    provider_class(name, where=provider_source(defaults, provider_name))
    provider = get_provider(
        name, provider_options(project_dir, name, defaults.options), where=defaults.where
    )
    provider.check()
    return provider


def hosts_of(
    project_dir: Path, pod: str, provider_name: str | None = None
) -> tuple[Provider, list[Host]]:
    """The provider and hosts of an existing pod; NotFound when it has none."""
    check_pod_name(pod)
    provider = provider_for(project_dir, pod, provider_name)
    hosts = provider.list_hosts(pod)
    if not hosts:
        raise NotFound(
            f"pod {pod!r} does not exist on provider {provider.name!r} (see `mason pod list`)"
        )
    return provider, hosts


def find_host(pod: str, hosts: Sequence[Host], ref: str, *, where: str = "") -> Host:
    """A host by full name (demo-h2), short name (h2) or index (2); ``where`` prefixes
    the error (the option that named it)."""
    wanted = {ref, f"{pod}-{ref}", f"{pod}-h{ref}"}
    match = next((h for h in hosts if h.name in wanted), None)
    if match is None:
        prefix = f"{where}: " if where else ""
        raise NotFound(
            f"{prefix}pod {pod!r} has no host {ref!r} (hosts: {', '.join(h.name for h in hosts)})"
        )
    return match


def inventory_of(project_dir: Path, pods: Sequence[str]) -> dict[str, Any]:
    """Runner arguments that make the inventory plugin ask each pod's own provider."""
    project = load_project(project_dir)
    options: dict[str, dict[str, Any]] = {}
    for pod in pods:
        defaults = project.pod(pod)
        provider_class(defaults.provider, where=provider_source(defaults, None))
        pod_options = provider_options(project_dir, defaults.provider, defaults.options)
        check_options(defaults.provider, pod_options, where=defaults.where)
        options.setdefault(defaults.provider, pod_options)
    return {"providers": list(options), "provider_options": {k: v for k, v in options.items() if v}}
