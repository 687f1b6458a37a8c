"""The pod registry: set it up, build an app's images on the controller, push them by digest.

The registry runs on the pod's manager (``playbooks/registry.yml``), published on
its private address only. Its own image is the one image that cannot come from a
registry: it reaches the manager's engine by ``docker save | ssh ... docker load``.
Everything else is pushed from the controller through an SSH forwarded port
(``127.0.0.1:<free port>`` to the manager's private address, port 5443) with
``skopeo``, verifying the registry's certificate against the pod CA: the
controller's Docker engine treats every 127.0.0.0/8 registry as insecure (it skips
TLS verification there), so it is not used for the push. What is returned, and
what hosts pull, is the reference by digest, never by tag.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import docker.errors

from mason.core.catalog import CatalogEntry, list_entries, search_path
from mason.core.errors import (
    EnvironmentProblem,
    HostsUnreachable,
    InvalidInput,
    NotFound,
    ProviderError,
)
from mason.core.manifest.model import App
from mason.core.names import ROLE_MANAGER
from mason.operations import delivery
from mason.operations.lookup import hosts_of
from mason.operations.remote import registry_tunnel, run_on
from mason.operations.runs import run
from mason.operations.session import Session
from mason.providers.base import REGISTRY_PORT, Host
from mason.providers.docker.provider import DockerProvider
from mason.providers.docker.sidecar import REGISTRY, sidecar_image

PLAYBOOK = "registry"
REGISTRY_CONTAINER = "mason-registry"
TLS_DIR = "/etc/mason/registry/tls"  # roles/pod_registry defaults
CA_DIR = "/etc/mason/pki/ca"  # roles/pki_ca defaults
SKOPEO_TIMEOUT = 900


def registry_name(pod: str) -> str:
    """The name hosts know the pod registry by (an /etc/hosts line on each)."""
    return f"registry.mason.{pod}"


def registry_prefix(pod: str) -> str:
    """``registry.mason.<pod>:5443``: what image references on the pod start with."""
    return f"{registry_name(pod)}:{REGISTRY_PORT}"


def ca_path(pod: str) -> str:
    """Where every host keeps the pod CA for the registry (the engine's certs.d)."""
    return f"/etc/docker/certs.d/{registry_prefix(pod)}/ca.crt"


def repository(local: str) -> tuple[str, str]:
    """A local image reference as (repository, tag) in the pod registry: any registry
    part and digest dropped, ``latest`` when it has no tag."""
    name = local.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if not repo:
        raise InvalidInput(f"not an image reference: {local!r}")
    return repo.lower(), tag or "latest"


def digest_ref(pod: str, repo: str, digest: str) -> str:
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise ProviderError(f"pod registry returned no usable digest for {repo}: {digest!r}")
    return f"{registry_prefix(pod)}/{repo}@{digest}"


def manager_of(pod: str, hosts: list[Host]) -> Host:
    manager = next((h for h in hosts if h.role == ROLE_MANAGER), None)
    if manager is None:
        raise NotFound(f"pod {pod} has no manager host to run its registry")
    return manager


def _skopeo() -> str:
    binary = shutil.which("skopeo")
    if binary is None:
        raise EnvironmentProblem(
            "skopeo not found (it pushes images to the pod registry)",
            hint="apt-get install skopeo, or run scripts/setup.sh",
        )
    return binary


def load_registry_image(session: Session, manager: Host, image: str) -> bool:
    """Put the registry image into the manager's engine unless it is there (the bootstrap
    exception: docker save | ssh docker load). True when it was loaded."""
    probe = run_on(manager, ["sudo", "-n", "docker", "image", "inspect", "-f", "{{.Id}}", image])
    if probe.returncode == 0:
        return False
    if probe.returncode == 255:
        raise HostsUnreachable(f"cannot reach {manager.name} over SSH to load the registry image")
    session.say(f"loading {image} into {manager.name} (docker save | docker load)")
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    try:
        load = run_on(manager, ["sudo", "-n", "docker", "load", "-q"], stdin=save.stdout)
    finally:
        if save.stdout is not None:
            save.stdout.close()
        save.wait()
    if save.returncode != 0 or load.returncode != 0:
        detail = load.stderr.decode(errors="replace").strip() or "docker save failed"
        raise ProviderError(f"cannot load {image} into {manager.name}: {detail}")
    return True


RENEW_WITHIN = 30 * 86400  # seconds; the role re-issues the certificate within this


def manager_check(pod: str, image: str, address: str) -> str:
    """Shell run (as root) on the manager: true when the registry runs ``image``, its
    certificate is the pod CA's for longer than the renewal window, the engine trusts
    that CA and the name resolves to ``address``."""
    name = registry_name(pod)
    return (
        "set -e; "
        f"test \"$(docker inspect -f '{{{{.State.Running}}}} {{{{.Config.Image}}}}' "
        f'{REGISTRY_CONTAINER})" = {shlex.quote("true " + image)}; '
        f"openssl x509 -checkend {RENEW_WITHIN} -noout -in {TLS_DIR}/cert.pem >/dev/null; "
        f"openssl verify -CAfile {shlex.quote(ca_path(pod))} {TLS_DIR}/cert.pem >/dev/null; "
        f"cmp -s {CA_DIR}/ca.pem {shlex.quote(ca_path(pod))}; "
        f"grep -qx {shlex.quote(address + ' ' + name)} /etc/hosts"
    )


def registry_ready(pod: str, manager: Host, hosts: list[Host], image: str) -> bool:
    """The fast path: is everything registry.yml makes already in place? (one SSH
    command per host; any doubt means no, and the playbook runs)."""
    address = manager.private_address
    probe = run_on(manager, ["sudo", "-n", "sh", "-c", manager_check(pod, image, address)])
    if probe.returncode != 0:
        return False
    ca = run_on(manager, ["cat", ca_path(pod)]).stdout
    line = f"{address} {registry_name(pod)}"
    for host in hosts:
        if host is manager:
            continue
        seen = run_on(
            host,
            [
                "sh",
                "-c",
                f"grep -qx {shlex.quote(line)} /etc/hosts && cat {shlex.quote(ca_path(pod))}",
            ],
        )
        if seen.returncode != 0 or seen.stdout != ca:
            return False
    return True


def ensure_registry(
    session: Session,
    pod_name: str,
    *,
    provider_name: str | None = None,
    force: bool = False,
) -> str:
    """Run the pod registry on the manager and make every host trust and resolve it
    (registry.yml, idempotent; skipped when a quick check finds it all in place, unless
    ``force``); the prefix hosts use in references."""
    _, hosts = hosts_of(session.project_dir, pod_name, provider_name)
    manager = manager_of(pod_name, hosts)
    image = sidecar_image(DockerProvider().client, REGISTRY, session.say)
    load_registry_image(session, manager, image)
    if not force and registry_ready(pod_name, manager, hosts, image):
        session.say(f"pod registry of {pod_name} is up: {registry_prefix(pod_name)}")
        return registry_prefix(pod_name)
    run(
        session,
        PLAYBOOK,
        title=f"registry on {pod_name}",
        pods=[pod_name],
        extravars={"pod_registry_image": image},
    )
    return registry_prefix(pod_name)


def build_images(
    session: Session,
    app: App,
    *,
    manifest: Path | None = None,
    entries: Mapping[str, CatalogEntry] | None = None,
) -> dict[str, str]:
    """Build on the controller's engine every image ``app`` needs; {key: local tag}.

    Keys are service names, ``addons/<name>`` for its addons and ``mason/proxy`` for
    the sidecar (:func:`mason.operations.delivery.build_images` does the building).
    ``manifest`` defaults to the app's source in the project; ``entries`` to the
    project's and the built-in catalog.
    """
    if manifest is None:
        if not app.source:
            raise InvalidInput(f"app {app.name}: no manifest path to resolve build: directories")
        manifest = session.project_dir / app.source
    if entries is None:
        entries = list_entries(search_path(session.project_dir))
    return delivery.build_images(session, app, manifest, entries)


def _image_id(ref: str) -> str:
    try:
        return DockerProvider().client.images.get(ref).id
    except docker.errors.ImageNotFound as exc:
        raise NotFound(f"image {ref} is not on this machine's engine") from exc


def _probe(port: int, ca_file: Path, pod: str, manager: Host) -> None:
    """The registry answers through the tunnel, with a certificate the pod CA signed."""
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/v2/", context=context, timeout=10
        ) as reply:
            reply.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HostsUnreachable(
            f"pod registry of {pod} is not reachable through the SSH tunnel: {reason}",
            hint=f"it runs on {manager.name}, {manager.private_address}:{REGISTRY_PORT}; "
            "SSH on the manager must let the mason user forward to that port",
        ) from exc


def _pushed_digest(dest: str, cert_dir: Path, image_id: str) -> str | None:
    """The digest of ``dest`` when the registry already holds this very image, else None."""
    proc = subprocess.run(
        [_skopeo(), "inspect", "--raw", "--cert-dir", str(cert_dir), "--tls-verify=true", dest],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        return None
    try:
        config = json.loads(proc.stdout).get("config", {}).get("digest")
    except (ValueError, AttributeError):
        return None
    if config != image_id:
        return None
    return "sha256:" + hashlib.sha256(proc.stdout).hexdigest()


def _copy(session: Session, image_id: str, local: str, dest: str, cert_dir: Path) -> str:
    digest_file = cert_dir / "digest"
    session.say(f"pushing {local}")
    proc = subprocess.run(
        [
            _skopeo(),
            "copy",
            "--quiet",
            "--format",
            "v2s2",
            "--dest-cert-dir",
            str(cert_dir),
            "--dest-tls-verify=true",
            "--digestfile",
            str(digest_file),
            f"docker-daemon:{image_id}",
            dest,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=SKOPEO_TIMEOUT,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        raise ProviderError(f"pushing {local} to the pod registry failed: {lines[-1]}")
    return digest_file.read_text().strip()


def push_images(
    session: Session,
    pod_name: str,
    tags: Mapping[str, str],
    *,
    provider_name: str | None = None,
) -> dict[str, str]:
    """Push local images into the pod registry through an SSH tunnel; {key: reference by
    digest} (``registry.mason.<pod>:5443/<repo>@sha256:...``), what hosts pull."""
    _, hosts = hosts_of(session.project_dir, pod_name, provider_name)
    manager = manager_of(pod_name, hosts)
    ids = {local: _image_id(local) for local in dict.fromkeys(tags.values())}
    _skopeo()
    read = run_on(manager, ["cat", ca_path(pod_name)], timeout=60)
    if read.returncode == 255:
        raise HostsUnreachable(f"cannot reach {manager.name} over SSH")
    if read.returncode != 0 or b"BEGIN CERTIFICATE" not in read.stdout:
        raise HostsUnreachable(
            f"pod {pod_name} has no registry yet ({ca_path(pod_name)} missing on {manager.name})",
            hint=f"set it up with `mason image push APP --pod {pod_name}`",
        )
    pushed: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="mason-registry-") as tmp,
        registry_tunnel(manager) as port,
    ):
        cert_dir = Path(tmp)  # 0700: the CA is public, but the digest file is ours
        (cert_dir / "ca.crt").write_bytes(read.stdout)
        _probe(port, cert_dir / "ca.crt", pod_name, manager)
        for local, image_id in ids.items():
            repo, tag = repository(local)
            dest = f"docker://127.0.0.1:{port}/{repo}:{tag}"
            digest = _pushed_digest(dest, cert_dir, image_id) or _copy(
                session, image_id, local, dest, cert_dir
            )
            pushed[local] = digest_ref(pod_name, repo, digest)
    return {key: pushed[local] for key, local in tags.items()}


def push_app(
    session: Session,
    pod_name: str,
    app: App,
    *,
    extra: Mapping[str, str] | None = None,
    manifest: Path | None = None,
    entries: Mapping[str, CatalogEntry] | None = None,
    provider_name: str | None = None,
) -> dict[str, str]:
    """Set up the registry, build ``app``'s images, push them (and ``extra`` local tags);
    {key: reference by digest}."""
    hosts_of(session.project_dir, pod_name, provider_name)  # an unknown pod: before building
    tags = build_images(session, app, manifest=manifest, entries=entries)  # before the pod
    ensure_registry(session, pod_name, provider_name=provider_name)
    tags.update(extra or {})
    return push_images(session, pod_name, tags, provider_name=provider_name)
