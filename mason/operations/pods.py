"""Pods: find a pod's provider and hosts, create or grow a pod all or nothing, destroy it.

The "all or nothing" rule lives here: if a host made by a create never answers
SSH or fails provisioning, every host that create made is removed again (the
whole pod if the create made it), so a pod is never silently left half-made.
Cloud providers that set ``keep_unreachable`` keep unreachable hosts instead
(slow and costly to re-make; mostly an admin network is missing) and say how on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mason.core.errors import HostsUnreachable, InvalidInput, MasonError, NotFound
from mason.core.names import ROLE_MANAGER, check_name, check_pod_name
from mason.core.project import load_project, parse_memory
from mason.core.validate import (
    MAX_HOSTS,
    check_cloud_flags,
    check_count,
    check_seconds,
    parse_cores,
)
from mason.operations.lookup import provider_options, provider_source
from mason.operations.runs import run
from mason.operations.session import Session
from mason.providers import get_provider, provider_class
from mason.providers.base import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_HOSTS,
    DEFAULT_ZONES,
    CreateResult,
    DestroyResult,
    Host,
    PodSpec,
    Provider,
)
from mason.providers.keys import forget_pod, pod_key
from mason.providers.wait import wait_for_ssh

# Provider options that have a flag of their own on `mason pod create` (cloud
# providers): each feeds the pod's ``options`` (mason.yml) under the same key.
CLOUD_FLAGS = {
    "region": "--region",
    "size": "--size",
    "image": "--image",
    "endpoint_url": "--endpoint-url",
    "vpc_id": "--vpc-id",
    "admin_networks": "--admin-network",
}


@dataclass(frozen=True)
class PodRequest:
    """What the user asked of `pod create`; None means "from mason.yml, else the default"."""

    name: str
    provider: str | None = None
    hosts: int | None = None
    zones: Sequence[str] | None = None
    environment: str | None = None
    cpu: float | None = None
    memory: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  # from CLOUD_FLAGS
    wait: bool = True  # wait for SSH and provision
    ssh_timeout: float = 90.0


@dataclass
class PodCreated:
    provider: Provider
    spec: PodSpec
    result: CreateResult
    hosts: list[Host]  # every host of the pod afterwards
    changes: int  # what provisioning changed
    elapsed: float


def resolve(project_dir: Path, request: PodRequest) -> tuple[Provider, PodSpec, list[Host]]:
    """The pod's full spec: request over mason.yml over defaults, every field checked
    before the provider is touched (bad input never leaves anything behind)."""
    check_pod_name(request.name)
    defaults = load_project(project_dir).pod(request.name)
    provider_name = request.provider or defaults.provider
    if request.hosts is not None:
        check_count(request.hosts, "--hosts", low=1, high=MAX_HOSTS)
    if request.cpu is not None:
        parse_cores(request.cpu, "--cpu")
    check_seconds(request.ssh_timeout, "--ssh-timeout")
    check_cloud_flags(request.options, CLOUD_FLAGS)
    zones = (
        tuple(check_name("zone", z, where="--zones") for z in request.zones)
        if request.zones
        else defaults.zones or DEFAULT_ZONES
    )
    memory = (
        parse_memory(request.memory, "--memory") if request.memory else defaults.memory or 2**30
    )
    if request.environment:
        check_name("environment", request.environment, where="--env")
    named_by = provider_source(defaults, request.provider)
    accepted = provider_class(provider_name, where=named_by).option_keys
    for key, value in request.options.items():
        if value and key not in accepted:
            raise InvalidInput(
                f"{CLOUD_FLAGS.get(key, key)}: not an option of provider {provider_name!r}"
            )
    options = {**defaults.options, **{k: v for k, v in request.options.items() if v}}
    options = provider_options(project_dir, provider_name, options)
    provider = get_provider(provider_name, options, where=defaults.where)
    provider.check()
    existing = provider.list_hosts(request.name)
    environment = (
        request.environment
        or defaults.environment
        or (existing[0].environment if existing else DEFAULT_ENVIRONMENT)
    )
    spec = PodSpec(
        name=request.name,
        provider=provider.name,
        environment=check_name("environment", environment, where="--env"),
        hosts=request.hosts or defaults.hosts or len(existing) or DEFAULT_HOSTS,
        zones=zones,
        cpu=request.cpu or defaults.cpu or 1.0,
        memory=memory,
        labels={**defaults.labels, **request.labels},
        options=options,
    )
    return provider, spec, existing


def create_pod(session: Session, request: PodRequest) -> PodCreated:
    """Create or grow a pod, wait for SSH and provision its new hosts: all or nothing."""
    provider, spec, existing = resolve(session.project_dir, request)
    started = time.monotonic()
    key = pod_key(provider.name, spec.name)
    try:
        result = provider.create_hosts(spec, key, progress=session.say)
    except BaseException:
        # The provider rolled back its own hosts; a pod this create began leaves no key.
        if not existing:
            forget_pod(provider.name, spec.name)
        raise
    changes = 0
    if request.wait:
        try:
            changes = _bring_up(session, provider, spec, result, request.ssh_timeout)
        except (MasonError, KeyboardInterrupt) as exc:
            _roll_back(session, provider, spec.name, result, exc)
            raise
    return PodCreated(
        provider=provider,
        spec=spec,
        result=result,
        hosts=provider.list_hosts(spec.name),
        changes=changes,
        elapsed=time.monotonic() - started,
    )


def _bring_up(
    session: Session, provider: Provider, spec: PodSpec, result: CreateResult, timeout: float
) -> int:
    """Wait for SSH on new hosts, then provision them (every host on a no-op re-run)."""
    if result.created:
        session.say(f"waiting for SSH on {len(result.created)} host(s)")
        unreachable = wait_for_ssh(result.created, timeout=timeout)
        if unreachable:
            raise HostsUnreachable(
                f"not reachable over SSH after {timeout:g}s: "
                + ", ".join(h.name for h in unreachable)
            )
    targets = result.created or result.hosts
    outcome = run(
        session,
        "provision",
        title=f"provision {spec.name}",
        pods=[spec.name],
        providers=[provider.name],
        provider_options={provider.name: spec.options},
        limit=",".join(h.name for h in targets),
    )
    return outcome.changed


def _roll_back(
    session: Session, provider: Provider, pod: str, result: CreateResult, exc: BaseException
) -> None:
    """Undo what a failed create made, or (cloud providers) keep unreachable hosts and say so."""
    if isinstance(exc, HostsUnreachable) and provider.keep_unreachable:
        raise HostsUnreachable(
            exc.message,
            hint=f"hosts kept; allow SSH from here and re-run `mason pod create {pod}` "
            f"to provision them, or `mason pod destroy {pod}`",
        ) from None
    if not result.created:
        return
    session.say(f"rolling back: removing the {len(result.created)} host(s) made by this run")
    if result.existing:
        provider.remove_hosts(pod, [h.name for h in result.created])
    else:
        with contextlib.suppress(NotFound):
            provider.destroy_pod(pod)
        forget_pod(provider.name, pod)


def destroy_pod(session: Session, provider: Provider, pod: str) -> DestroyResult:
    """Remove the pod, everything mason made for it, and its key."""
    result = provider.destroy_pod(pod, progress=session.say)
    forget_pod(provider.name, pod)
    return result


@dataclass(frozen=True)
class PodSummary:
    name: str
    environment: str
    provider: str
    hosts: int
    zones: list[str]
    managers: list[str]
    state: str


def list_pods(
    session: Session, environment: str | None = None, providers: Sequence[str] = ()
) -> list[PodSummary]:
    """Pods of the given providers (default: docker and those named in mason.yml).

    A provider that cannot be reached is skipped with a message, unless it is the
    only one asked.
    """
    project = load_project(session.project_dir)
    asked = bool(providers)
    if not providers:
        providers = list(dict.fromkeys(["docker", *(p.provider for p in project.pods.values())]))
    made = []  # every provider made (input checked) before any is asked anything
    for name in providers:
        # settings (region, endpoint) of the first pod mason.yml puts on this provider
        first = next((p for p in project.pods.values() if p.provider == name), None)
        where = first.where if first else ""
        provider_class(name, where="--provider" if asked else f"{where}.provider" if where else "")
        options = provider_options(session.project_dir, name, first.options if first else {})
        made.append(get_provider(name, options, where=where))
    rows = []
    for name, provider in zip(providers, made, strict=True):
        try:
            provider.check()
        except MasonError:
            if len(providers) == 1:
                raise
            session.say(f"skipping provider {name}: not reachable")
            continue
        for pod, hosts in sorted(provider.list_pods(environment=environment).items()):
            states = sorted({h.state for h in hosts})
            rows.append(
                PodSummary(
                    name=pod,
                    environment=hosts[0].environment,
                    provider=name,
                    hosts=len(hosts),
                    zones=sorted({h.zone for h in hosts}),
                    managers=[h.name for h in hosts if h.role == ROLE_MANAGER],
                    state=states[0] if len(states) == 1 else "mixed: " + ",".join(states),
                )
            )
    return rows
