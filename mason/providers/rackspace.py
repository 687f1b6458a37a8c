"""Pods on the Rackspace public cloud (OpenStack compute, Rackspace identity).

pyrax, Rackspace's own SDK, no longer imports on Python >= 3.10: mason speaks to
Cloud Servers through openstacksdk, with a small keystoneauth plugin for
Rackspace's identity v2.0 (username + API key, ``RAX-KSKEY:apiKeyCredentials``)
and the compute service of the catalog named ``cloudServersOpenStack``.

What a pod is made of (``destroy`` removes exactly this):

- servers ``<pod>-h<index>`` whose metadata holds ``mason:pod``,
  ``mason:provider=rackspace``, ``mason:environment``, ``mason:host``,
  ``mason:index``, ``mason:zone``, ``mason:role``, ``mason:cpu``, ``mason:memory``,
  ``mason:labels``: the metadata is the pod's only state;
- a key pair ``mason-<pod>`` (Nova key pairs carry no metadata: the name is mason's).

Zones: a Rackspace region (DFW, ORD, IAD, LON, HKG, SYD) has no availability
zones. Pod zones are kept as metadata and placement spreads replicas over them,
but inside one region they give no separation of failure domains; one pod lives
in one region (ServiceNet, the private network, does not cross regions).

Credentials come only from the environment (``RAX_USERNAME``, ``RAX_API_KEY``);
mason never stores or logs them. ``identity_url`` / ``RAX_IDENTITY_URL`` points at
another identity endpoint (mimic in tests).
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import fnmatch
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mason.core.errors import (
    EnvironmentProblem,
    InvalidInput,
    NotFound,
    ProviderError,
    describe,
)
from mason.core.names import ROLE_WORKER
from mason.core.validate import check_url
from mason.providers.aws import user_data
from mason.providers.base import (
    ADMIN_USER,
    DEFAULT_ENVIRONMENT,
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

COMPUTE_SERVICE = "cloudServersOpenStack"
DEFAULT_IDENTITY_URL = "https://identity.api.rackspacecloud.com/v2.0/"
DEFAULT_SIZE = "general1-2"
DEFAULT_IMAGE = "Debian 12*"
OPTION_KEYS = ("region", "identity_url", "size", "image", "address")
GONE_STATES = ("DELETED", "SOFT_DELETED")


def _credentials() -> tuple[str, str]:
    username, api_key = os.environ.get("RAX_USERNAME"), os.environ.get("RAX_API_KEY")
    if not username or not api_key:
        missing = [n for n, v in (("RAX_USERNAME", username), ("RAX_API_KEY", api_key)) if not v]
        raise EnvironmentProblem(
            f"rackspace: no credentials ({' and '.join(missing)} not set)",
            hint="export RAX_USERNAME and RAX_API_KEY (the API key from the control panel); "
            "mason never stores them",
        )
    return username, api_key


def _api_key_plugin(auth_url: str, username: str, api_key: str) -> Any:
    from keystoneauth1.identity import v2

    class RaxApiKey(v2.Auth):
        """Rackspace identity v2.0 with an API key instead of a password."""

        def get_auth_data(self, headers: Any = None) -> dict[str, Any]:
            del headers  # v2.Auth's signature; the API key needs no header
            return {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}

    return RaxApiKey(auth_url=auth_url)


def _metadata(spec: PodSpec, index: int, cpu: float, memory: int, labels: str) -> dict[str, str]:
    """Host ``index``'s server metadata: what ``list_hosts`` finds the pod by again."""
    return {
        "mason:pod": spec.name,
        "mason:provider": "rackspace",
        "mason:environment": spec.environment,
        "mason:host": f"{spec.name}-h{index}",
        "mason:index": str(index),
        "mason:zone": spec.zone_of(index),
        "mason:role": spec.role_of(index),
        "mason:cpu": f"{cpu:g}",
        "mason:memory": str(memory),
        "mason:labels": labels,
    }


class RackspaceProvider(Provider):
    """Pods of Rackspace Cloud Servers, found again by their metadata."""

    name = "rackspace"
    option_keys = OPTION_KEYS
    #: hosts that do not answer SSH after create are kept and reported, not removed
    keep_unreachable = True

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)  # rejects unknown option keys
        for key in OPTION_KEYS:
            value = self.options.get(key)
            if value is not None and (
                not isinstance(value, str) or not value.strip() or not value.isprintable()
            ):
                raise InvalidInput(
                    f"rackspace options.{key}: expected a non-empty string, got {describe(value)}"
                )
        if self.options.get("identity_url") is not None:
            check_url(self.options["identity_url"], "rackspace options.identity_url")
        if self.options.get("address", "public") not in ("public", "private"):
            raise InvalidInput(
                "rackspace options.address: expected 'public' or 'private', "
                f"got {self.options['address']!r}"
            )
        self._conn: Any = None

    # -- connection ---------------------------------------------------------------
    @property
    def region(self) -> str:
        region = self.options.get("region") or os.environ.get("RAX_REGION")
        if not region:
            raise InvalidInput(
                "rackspace region: none given (set --region, options.region in mason.yml "
                "or RAX_REGION; e.g. DFW, ORD, IAD, LON)"
            )
        if not isinstance(region, str) or not region.isalnum():
            raise InvalidInput(
                f"rackspace region: expected a region code such as DFW, got {describe(region)}"
            )
        return region.upper()

    @property
    def identity_url(self) -> str:
        if self.options.get("identity_url"):
            return str(self.options["identity_url"])
        if os.environ.get("RAX_IDENTITY_URL"):
            return check_url(os.environ["RAX_IDENTITY_URL"], "RAX_IDENTITY_URL")
        return DEFAULT_IDENTITY_URL

    @property
    def conn(self) -> Any:
        if self._conn is None:
            import openstack
            from keystoneauth1 import session as ks_session

            username, api_key = _credentials()
            region = self.region
            session = ks_session.Session(
                auth=_api_key_plugin(self.identity_url, username, api_key), app_name="mason"
            )
            with self._errors("log in to Rackspace identity"):
                catalog = session.auth.get_access(session).service_catalog
                regions = sorted(
                    {
                        e.get("region")
                        for s in catalog.catalog
                        if s.get("name") == COMPUTE_SERVICE
                        for e in s.get("endpoints", [])
                    }
                    - {None}
                )
            if region not in regions:
                raise InvalidInput(
                    f"rackspace region: unknown region {region!r} for Cloud Servers "
                    f"(expected one of: {', '.join(regions) or 'none in the catalog'})"
                )
            self._conn = openstack.connection.Connection(
                session=session,
                region_name=region,
                compute_service_name=COMPUTE_SERVICE,
                compute_api_version="2",
            )
        return self._conn

    def check(self) -> None:
        _ = self.conn

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn openstacksdk's and keystoneauth's errors into one clear mason error."""
        from keystoneauth1 import exceptions as ks_exc
        from openstack import exceptions as os_exc

        try:
            yield
        except ks_exc.Unauthorized as exc:
            raise EnvironmentProblem(
                f"rackspace refused the credentials ({_first_line(exc)})",
                hint="check RAX_USERNAME and RAX_API_KEY",
            ) from None
        except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.DiscoveryFailure) as exc:
            raise EnvironmentProblem(
                f"rackspace: cannot reach {self.identity_url} ({_first_line(exc)})",
                hint="check the network and identity_url / RAX_IDENTITY_URL",
            ) from None
        except os_exc.HttpException as exc:
            detail = f"HTTP {exc.status_code}: {_details(exc)}"
            if exc.status_code == 401:
                raise EnvironmentProblem(
                    f"rackspace refused the credentials ({detail})",
                    hint="check RAX_USERNAME and RAX_API_KEY",
                ) from None
            text = detail.lower()
            if exc.status_code in (403, 413) and ("quota" in text or "limit" in text):
                raise ProviderError(
                    f"rackspace quota reached while trying to {what} ({detail})",
                    hint="ask for fewer servers or raise the account's limits with Rackspace",
                ) from None
            raise ProviderError(f"rackspace refused to {what} ({detail})") from None
        except (os_exc.SDKException, ks_exc.ClientException) as exc:
            raise ProviderError(f"rackspace: cannot {what}: {_first_line(exc)}") from None

    # -- list -------------------------------------------------------------------
    def _servers(self, pod: str | None) -> list[Any]:
        with self._errors("list servers"):
            servers = list(self.conn.compute.servers(details=True))
        found = []
        for server in servers:
            meta = server.metadata or {}
            if meta.get("mason:provider") != "rackspace" or "mason:pod" not in meta:
                continue
            if pod and meta["mason:pod"] != pod:
                continue
            if (server.status or "").upper() in GONE_STATES:
                continue
            found.append(server)
        return found

    def list_hosts(self, pod: str | None = None, environment: str | None = None) -> list[Host]:
        return listed([self._host_of(s) for s in self._servers(pod)], environment)

    def _host_of(self, server: Any) -> Host:
        meta = server.metadata or {}
        addresses = server.addresses or {}

        def v4(network: str) -> str:
            return next(
                (a["addr"] for a in addresses.get(network, []) if a.get("version") == 4), ""
            )

        public = server.access_ipv4 or v4("public")
        private = v4("private")
        use_private = self.options.get("address") == "private"
        return Host(
            name=meta.get("mason:host", server.name),
            pod=meta["mason:pod"],
            provider="rackspace",
            environment=meta.get("mason:environment", DEFAULT_ENVIRONMENT),
            zone=meta.get("mason:zone", ""),
            role=meta.get("mason:role", ROLE_WORKER),
            index=int(meta.get("mason:index", "0")),
            address=private if use_private or not public else public,
            ssh_port=22,
            ssh_user=ADMIN_USER,
            cpu=float(meta.get("mason:cpu", "0")),
            memory=int(meta.get("mason:memory", "0")),
            labels=json.loads(meta.get("mason:labels", "{}")),
            state=(server.status or "").lower(),
            id=server.id,
            private_address=private,
        )

    # -- create -----------------------------------------------------------------
    def _flavor(self, size: str) -> Any:
        with self._errors("list flavors"):
            flavors = list(self.conn.compute.flavors(details=True))
        for flavor in flavors:
            if size in (flavor.id, flavor.name):
                return flavor
        near = difflib.get_close_matches(size, [f.id for f in flavors], n=3)
        raise InvalidInput(
            f"rackspace size: unknown flavor {size!r} in {self.region} "
            f"(expected a flavor id such as {', '.join(near) or DEFAULT_SIZE})"
        )

    def _image(self, wanted: str) -> Any:
        with self._errors("list images"):
            images = list(self.conn.compute.images(details=True))
        exact = [i for i in images if wanted in (i.id, i.name)]
        matches = exact or [i for i in images if fnmatch.fnmatchcase(i.name or "", wanted)]
        if not matches:
            raise InvalidInput(
                f"rackspace image: no image matches {wanted!r} in {self.region} "
                "(set --image or options.image to an image id, name or name pattern)"
            )
        return max(matches, key=lambda i: (i.created_at or "", i.name or ""))

    def create_hosts(
        self, spec: PodSpec, key: KeyPair, progress: Progress = _quiet
    ) -> CreateResult:
        options = {**self.options, **spec.options}
        existing = self.list_hosts(spec.name)
        check_growth(spec, existing)
        result = CreateResult(existing=existing)
        have = {h.index for h in existing}
        wanted = [i for i in range(1, spec.hosts + 1) if i not in have]
        key_name = self._ensure_key(spec.name, key, progress)
        if not wanted:
            return result
        flavor = self._flavor(str(options.get("size") or DEFAULT_SIZE))
        image = self._image(str(options.get("image") or DEFAULT_IMAGE))
        cpu, memory = float(flavor.vcpus or 0), int(flavor.ram or 0) * 2**20
        labels = json.dumps(dict(spec.labels), sort_keys=True)
        if len(labels) > 255:
            raise InvalidInput("--label: labels of a rackspace host must fit 255 characters (JSON)")
        script = base64.b64encode(user_data(key.public_openssh).encode()).decode()
        made: list[Any] = []
        try:
            for index in wanted:
                name = f"{spec.name}-h{index}"
                progress(f"creating host {name} ({spec.zone_of(index)}, {flavor.id})")
                with self._errors(f"create server {name}"):
                    made.append(
                        self.conn.compute.create_server(
                            name=name,
                            flavor_id=flavor.id,
                            image_id=image.id,
                            key_name=key_name,
                            metadata=_metadata(spec, index, cpu, memory, labels),
                            user_data=script,
                            config_drive=True,
                        )
                    )
            progress(f"waiting for {len(made)} server(s) to become active")
            with self._errors("wait for the servers to become active"):
                for server in made:
                    self.conn.compute.wait_for_server(
                        server, status="ACTIVE", failures=["ERROR"], interval=5, wait=900
                    )
        except BaseException:
            if made:
                progress(f"rolling back: deleting {len(made)} server(s) made by this run")
                self._delete_servers([s.id for s in made])
            if not existing:
                with contextlib.suppress(ProviderError):
                    self._delete_key(spec.name)
            raise
        ids = {s.id for s in made}
        result.created = [h for h in self.list_hosts(spec.name) if h.id in ids]
        return result

    def _ensure_key(self, pod: str, key: KeyPair, progress: Progress) -> str:
        name = f"mason-{pod}"
        with self._errors("list key pairs"):
            names = {k.name for k in self.conn.compute.keypairs()}
        if name not in names:
            progress(f"importing key pair {name}")
            with self._errors(f"import key pair {name}"):
                self.conn.compute.create_keypair(name=name, public_key=key.public_openssh)
        return name

    # -- destroy ----------------------------------------------------------------
    def _delete_servers(self, ids: list[str]) -> None:
        from openstack import exceptions as os_exc

        with self._errors("delete servers"):
            for server_id in ids:
                with contextlib.suppress(os_exc.NotFoundException):
                    self.conn.compute.delete_server(server_id)
            for server_id in ids:
                with contextlib.suppress(os_exc.NotFoundException):
                    self.conn.compute.wait_for_delete(
                        self.conn.compute.get_server(server_id), interval=5, wait=900
                    )

    def _delete_key(self, pod: str) -> bool:
        name = f"mason-{pod}"
        with self._errors("list key pairs"):
            if name not in {k.name for k in self.conn.compute.keypairs()}:
                return False
        with self._errors(f"delete key pair {name}"):
            self.conn.compute.delete_keypair(name)
        return True

    def remove_hosts(self, pod: str, names: Iterable[str]) -> None:
        wanted = set(names)
        self._delete_servers([h.id for h in self.list_hosts(pod) if h.name in wanted])

    def destroy_pod(self, pod: str, progress: Progress = _quiet) -> DestroyResult:
        hosts = self.list_hosts(pod)
        result = DestroyResult()
        for host in hosts:
            progress(f"deleting host {host.name} ({host.id})")
        self._delete_servers([h.id for h in hosts])
        result.removed += [f"server {h.id} ({h.name})" for h in hosts]
        if self._delete_key(pod):
            result.removed.append(f"key pair mason-{pod}")
        if not result.removed:
            raise NotFound(f"pod {pod!r} does not exist on rackspace in {self.region}")
        return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _details(exc: Any) -> str:
    details = getattr(exc, "details", None) or ""
    body = ""
    response = getattr(exc, "response", None)
    if response is not None:
        with contextlib.suppress(Exception):
            data = response.json()
            inner = next(iter(data.values())) if isinstance(data, dict) and data else {}
            body = inner.get("message", "") if isinstance(inner, dict) else ""
    return (body or str(details) or _first_line(exc)).strip().splitlines()[0]
