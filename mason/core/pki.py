"""The pod PKI in pure Python: identities, CSRs, certificates, rotation windows, status.

Each pod has one CA (made on its manager host; the key never leaves it). Every
service instance gets a short-lived leaf certificate naming its identity:

- URI SAN ``spiffe://<pod>/<app>/<service>`` (the identity proxies admit),
- DNS SAN ``<service>.<app>.<pod>.mason`` (what a calling proxy verifies),
- CN: the SPIFFE ID itself when it fits X.509's 64 characters, else
  ``mason:`` + a hash of it (:attr:`Identity.common_name`): HAProxy 2.6 matches
  client identities on the subject CN, so the CN must be unique per identity.

The CA signs the identity the *plan* gives, never what a CSR claims: a CSR
whose subject or SANs differ is refused (:func:`check_csr`, :func:`sign_csr`).
On hosts, Ansible's community.crypto does the same work from the same rules;
this module is what the controller, the tests and the benchmark use, and where
the rules are written down and tested.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mason.core import release, units
from mason.core.errors import InvalidInput
from mason.core.names import check_name

DEFAULT_LIFETIME = timedelta(hours=24)
CA_LIFETIME = timedelta(days=3650)
# Skew allowed between hosts' clocks: leaves are valid from a minute ago.
BACKDATE = timedelta(minutes=1)
MAX_CN = 64  # ub-common-name, RFC 5280
DNS_SUFFIX = "mason"
ASN1_TIME = "%Y%m%d%H%M%SZ"  # community.crypto's and X.509's UTC times

# States of a certificate, from fine to bad.
OK, ROTATE, EXPIRED, NOT_YET_VALID = "ok", "rotate", "expired", "not-yet-valid"
# A leaf on a host that nothing in the pod's ledger placed there (:func:`planned_requests`).
UNPLANNED = "unplanned"
# A leaf the pod CA's CRL revokes: every proxy refuses it (:func:`revocations`).
REVOKED = "revoked"
_RANK = {OK: 0, ROTATE: 1, NOT_YET_VALID: 2, EXPIRED: 3, UNPLANNED: 4, REVOKED: 5}
# States `mason pki status` reports as a problem (exit 8).
PROBLEMS = (EXPIRED, NOT_YET_VALID, UNPLANNED, REVOKED)


# -- durations -------------------------------------------------------------------
def parse_duration(value: str | int | float | timedelta, *, what: str = "duration") -> timedelta:
    """``"24h"``, ``"90m"``, ``"7d"``, ``3600`` (seconds) -> timedelta; must be positive."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise InvalidInput(f"invalid {what} {value!r}: expected e.g. 24h, 90m, 7d")
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    elif str(value).strip().isdigit():
        result = timedelta(seconds=int(str(value)))
    else:
        try:
            result = timedelta(milliseconds=units.parse_duration(value))
        except InvalidInput:
            raise InvalidInput(
                f"invalid {what} {value!r}: expected e.g. 24h, 90m, 7d or seconds"
            ) from None
    if result <= timedelta(0):
        raise InvalidInput(f"invalid {what} {value!r}: must be positive")
    return result


def default_window(lifetime: timedelta) -> timedelta:
    """Rotate when a third of a leaf's life is left (8 h of 24 h): two hourly runs may fail."""
    return lifetime / 3


def check_window(lifetime: timedelta, window: timedelta) -> None:
    if window >= lifetime:
        raise InvalidInput(
            f"rotation window {units.format_span(window.total_seconds())} must be shorter than "
            f"the certificate lifetime {units.format_span(lifetime.total_seconds())}: "
            "every new certificate would be due at once"
        )


def ansible_offset(delta: timedelta) -> str:
    """A community.crypto relative time (``+86400s``, ``-60s``)."""
    seconds = int(delta.total_seconds())
    return f"{'+' if seconds >= 0 else '-'}{abs(seconds)}s"


# -- identities ------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Identity:
    """Who a service instance is: all replicas of one service share it."""

    pod: str
    app: str
    service: str

    def __post_init__(self) -> None:
        check_name("pod", self.pod)
        check_name("app", self.app)
        check_name("service", self.service)

    @property
    def spiffe_id(self) -> str:
        return f"spiffe://{self.pod}/{self.app}/{self.service}"

    @property
    def common_name(self) -> str:
        uri = self.spiffe_id
        if len(uri) <= MAX_CN:
            return uri
        return "mason:" + hashlib.sha256(uri.encode()).hexdigest()[:40]

    @property
    def dns_name(self) -> str:
        return f"{self.service}.{self.app}.{self.pod}.{DNS_SUFFIX}"

    @classmethod
    def parse(cls, uri: str) -> Identity:
        m = re.fullmatch(r"spiffe://([^/]+)/([^/]+)/([^/]+)", uri or "")
        if not m:
            raise InvalidInput(f"invalid identity {uri!r}: expected spiffe://<pod>/<app>/<service>")
        return cls(*m.groups())

    def __str__(self) -> str:
        return self.spiffe_id

    def to_dict(self) -> dict[str, str]:
        return {
            "identity": self.spiffe_id,
            "common_name": self.common_name,
            "dns_name": self.dns_name,
            "pod": self.pod,
            "app": self.app,
            "service": self.service,
        }


# -- keys, CSRs, certificates ------------------------------------------------------
def new_private_key() -> ec.EllipticCurvePrivateKey:
    """ECDSA P-256: the fastest full TLS 1.3 handshakes OpenSSL offers with wide support."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(pem: bytes | str) -> x509.Certificate:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM certificate: {exc}") from None


def ca_name(pod: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mason pod CA {pod}")])


def build_ca(
    pod: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    now: datetime | None = None,
    lifetime: timedelta = CA_LIFETIME,
) -> x509.Certificate:
    """A self-signed pod CA that may sign leaves only (path length 0)."""
    check_name("pod", pod)
    now = now or datetime.now(UTC)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(ca_name(pod))
        .issuer_name(ca_name(pod))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _sans(identity: Identity) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [x509.UniformResourceIdentifier(identity.spiffe_id), x509.DNSName(identity.dns_name)]
    )


def san_der(identity: Identity) -> bytes:
    """The DER of the SAN extension as the pod CA issues it for ``identity`` (OID, then the
    OCTET STRING wrapping URI and DNS name): proxies find these exact bytes in a client's
    certificate to authorise it on its SPIFFE URI (HAProxy 2.6 has no SAN sample fetch)."""
    value = _sans(identity).public_bytes()
    return bytes.fromhex("0603551d11") + b"\x04" + _der_length(len(value)) + value


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def build_csr(
    key: ec.EllipticCurvePrivateKey, identity: Identity
) -> x509.CertificateSigningRequest:
    """The CSR a host makes for one of its service instances (the key stays on the host)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.common_name)]))
        .add_extension(_sans(identity), critical=False)
        .sign(key, hashes.SHA256())
    )


def csr_names(csr: x509.CertificateSigningRequest) -> tuple[str, list[str], list[str]]:
    """(CN, URI SANs, DNS SANs) a CSR asks for."""
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return cn, [], []
    return (
        cn,
        san.get_values_for_type(x509.UniformResourceIdentifier),
        san.get_values_for_type(x509.DNSName),
    )


# The only extensions a leaf CSR may ask for, and what each may say: the CA sets
# them itself (sign_csr); the role's signer (community.crypto's ownca, which
# copies a CSR's extensions) requires exactly these (roles/pki_cert/tasks/sign.yml).
_LEAF_EXTENSIONS = (
    x509.SubjectAlternativeName,
    x509.BasicConstraints,
    x509.KeyUsage,
    x509.ExtendedKeyUsage,
)
_LEAF_EKUS = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def _extension_problems(csr: x509.CertificateSigningRequest) -> list[str]:
    problems = []
    for ext in csr.extensions:
        value = ext.value
        if not isinstance(value, _LEAF_EXTENSIONS):
            problems.append(f"asks for extension {ext.oid.dotted_string}, not in a leaf's profile")
        elif isinstance(value, x509.BasicConstraints) and value.ca:
            problems.append("asks to be a CA (basicConstraints CA:TRUE)")
        elif isinstance(value, x509.KeyUsage) and (
            value.key_cert_sign
            or value.crl_sign
            or value.content_commitment
            or value.key_encipherment
            or value.data_encipherment
            or value.key_agreement
        ):
            problems.append("asks for key usages beyond digitalSignature")
        elif isinstance(value, x509.ExtendedKeyUsage) and set(value) - _LEAF_EKUS:
            problems.append("asks for extended key usages beyond serverAuth and clientAuth")
    return problems


def check_csr(csr: x509.CertificateSigningRequest, identity: Identity) -> list[str]:
    """Why this CSR must not be signed for ``identity`` (empty: it may).

    The subject must be exactly one CN, the identity's: a second CN (HAProxy reads
    the first, a mapping the last) or any other attribute is refused, and so is an
    extension outside a leaf's profile (a CA flag, keyCertSign, another EKU).
    """
    problems = []
    if not csr.is_signature_valid:
        problems.append("the CSR's signature does not verify")
    subject = [(a.oid, a.value) for a in csr.subject]
    if subject != [(NameOID.COMMON_NAME, identity.common_name)]:
        shown = csr.subject.rfc4514_string() or "empty"
        problems.append(f"subject {shown!r} is not exactly CN={identity.common_name}")
    _, uris, dns = csr_names(csr)
    if uris != [identity.spiffe_id]:
        problems.append(f"URI SANs {uris} are not [{identity.spiffe_id!r}]")
    if dns != [identity.dns_name]:
        problems.append(f"DNS SANs {dns} are not [{identity.dns_name!r}]")
    return problems + _extension_problems(csr)


def sign_csr(
    csr: x509.CertificateSigningRequest,
    identity: Identity,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    now: datetime | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """Sign a leaf for ``identity`` with the CSR's public key; refuse a CSR that claims otherwise.

    Subject, SANs, key usage, extended key usage and basic constraints come from
    ``identity`` and the leaf profile, never from the CSR (only its key is used).

    ``not_before``/``not_after`` override the window (tests make expired certificates).
    """
    problems = check_csr(csr, identity)
    if problems:
        raise InvalidInput(f"refusing to sign a CSR for {identity}: " + "; ".join(problems))
    now = now or datetime.now(UTC)
    start = not_before or now - BACKDATE
    end = not_after or now + lifetime
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(_sans(identity), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


# -- reading certificates and their status ---------------------------------------
def identity_of(cert: x509.Certificate) -> str:
    """The SPIFFE URI SAN of a certificate ('' for the CA or a foreign certificate)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    uris = [
        u
        for u in san.get_values_for_type(x509.UniformResourceIdentifier)
        if u.startswith("spiffe://")
    ]
    return uris[0] if uris else ""


def state_of(not_before: datetime, not_after: datetime, now: datetime, window: timedelta) -> str:
    if now >= not_after:
        return EXPIRED
    if now < not_before:
        return NOT_YET_VALID
    if not_after - now <= window:
        return ROTATE
    return OK


@dataclass(frozen=True)
class CertStatus:
    """One certificate on one host, as `mason pki status` shows it."""

    host: str
    path: str
    kind: str  # "ca" or "leaf"
    identity: str  # SPIFFE ID, or the CA's subject for the CA
    serial: str
    not_before: datetime
    not_after: datetime
    state: str
    instance: str = ""  # <app>-<service>-<replica> for leaves
    # The state its dates alone give: an unplanned certificate can be expired as well,
    # and the report says both.
    validity: str = ""

    def remaining(self, now: datetime) -> timedelta:
        return self.not_after - now

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "path": self.path,
            "kind": self.kind,
            "identity": self.identity,
            "instance": self.instance,
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "state": self.state,
            "validity": self.validity or self.state,
        }


@dataclass(frozen=True)
class PodPkiStatus:
    pod: str
    now: datetime
    window: timedelta
    certs: Sequence[CertStatus] = field(default_factory=tuple)

    @property
    def worst(self) -> str:
        return max((c.state for c in self.certs), key=_RANK.__getitem__, default=OK)

    @property
    def warnings(self) -> list[str]:
        out = []
        for c in self.certs:
            who = f"{c.host}: {c.identity}" + (f" ({c.instance})" if c.instance else "")
            expired = f"EXPIRED at {c.not_after:%Y-%m-%d %H:%M} UTC"
            if c.state == EXPIRED:
                out.append(f"{who}: {expired}")
            elif c.state == ROTATE:
                left = _human(c.not_after - self.now)
                out.append(f"{who}: expires in {left}, inside the rotation window")
            elif c.state == NOT_YET_VALID:
                out.append(
                    f"{who}: not valid before {c.not_before:%Y-%m-%d %H:%M} UTC (clock skew?)"
                )
            elif c.state == REVOKED:
                out.append(
                    f"{who}: REVOKED by the pod CA (serial {c.serial}): every proxy refuses it; "
                    "a deploy or `mason pki rotate` renews it where a release places it"
                )
            elif c.state == UNPLANNED:
                out.append(
                    f"{who}: UNPLANNED: no release in the pod's ledger puts this identity on "
                    f"{c.host}; the manager will not renew it"
                    + (f" (and {expired})" if c.validity == EXPIRED else "")
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "now": self.now.isoformat(),
            "rotation_window_seconds": int(self.window.total_seconds()),
            "state": self.worst,
            "certificates": [c.to_dict() for c in self.certs],
            "warnings": self.warnings,
        }


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest % 60:02d}s"


def _parse_time(value: Any) -> datetime:
    """community.crypto's ASN.1 times (``20250101120000Z``) or ISO 8601, as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if re.fullmatch(r"\d{14}Z", text):
        return datetime.strptime(text, ASN1_TIME).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pod_status(
    pod: str,
    records: Iterable[dict[str, Any]],
    *,
    now: datetime | None = None,
    window: timedelta | None = None,
    planned: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    revoked: Iterable[int | str] = (),
) -> PodPkiStatus:
    """Status of every certificate of a pod from the records the status playbook collects.

    A record: ``host``, ``path``, ``kind``, ``identity``, ``serial``, ``not_before``,
    ``not_after`` and, for leaves, ``instance``. The CA's own state ignores the leaf
    window: it is flagged when it has less than ``window`` x 30 left. With ``planned``
    (:func:`planned_requests`), a leaf whose host, instance and identity it does not hold
    is :data:`UNPLANNED`, whatever its dates; a leaf whose serial the CA's CRL lists
    (``revoked``, integers) is :data:`REVOKED`.
    """
    now = now or datetime.now(UTC)
    window = window or default_window(DEFAULT_LIFETIME)
    revoked = {int(n) for n in revoked}
    certs = []
    for r in records:
        nb, na = _parse_time(r["not_before"]), _parse_time(r["not_after"])
        kind = r.get("kind", "leaf")
        validity = state = state_of(nb, na, now, window * 30 if kind == "ca" else window)
        who = (r["host"], r.get("instance", ""), r.get("identity", ""))
        if kind != "ca" and planned is not None and not is_planned(planned, pod, *who):
            state = UNPLANNED
        if kind != "ca" and str(r.get("serial", "")).isdigit() and int(r["serial"]) in revoked:
            state = REVOKED
        certs.append(
            CertStatus(
                host=r["host"],
                path=r["path"],
                kind=kind,
                identity=r.get("identity", ""),
                serial=str(r.get("serial", "")),
                not_before=nb,
                not_after=na,
                state=state,
                instance=r.get("instance", ""),
                validity=validity,
            )
        )
    certs.sort(key=lambda c: (c.kind != "ca", c.identity, c.instance, c.host))
    return PodPkiStatus(pod=pod, now=now, window=window, certs=tuple(certs))


# -- which identities a host may hold ----------------------------------------------
def _request(identity: Identity, name: str, proxy_container: str) -> dict[str, str]:
    """What pki_cert renews for one instance (the shape of its identity.json)."""
    return {
        "name": name,
        "identity": identity.spiffe_id,
        "common_name": identity.common_name,
        "dns_name": identity.dns_name,
        "proxy_container": proxy_container,
    }


def planned_requests(
    pod: str,
    releases: Iterable[Mapping[str, Any]],
    hosts: Iterable[str],
    infrastructure: Iterable[tuple[str, str]] = (),
) -> dict[str, dict[str, dict[str, str]]]:
    """host -> instance name -> request: every identity the pod's own record allows a host.

    ``releases`` are the newest release record of every app in the ledger on the manager
    (``mason.core.release`` dicts): each replica of a service may hold its service's
    identity on the host its slot names, and every host may hold each app's edge identity.
    ``infrastructure`` adds (app, service) identities the pod runs on every host; addon
    instances (app ``addons``, not in the ledger yet) are allowed on every host of the pod
    (:func:`planned_request`). Nothing
    a host says about itself (its identity.json files) enters this set: the manager
    decides, so root on a worker cannot have another app's identity signed.
    """
    from mason.core.proxy import EDGE, instance_name  # here: proxy imports this module

    hosts = sorted(set(hosts))
    out: dict[str, dict[str, dict[str, str]]] = {h: {} for h in hosts}
    for data in releases:
        record = release.from_dict(dict(data), "release record")
        if not any(record.placement.values()):
            continue  # nothing of the app runs: not even its edge
        for service, slots in record.placement.items():
            identity = Identity(pod, record.app, service)
            for slot in slots:
                name = instance_name(record.app, service, slot.replica)
                out.setdefault(slot.host, {})[name] = _request(
                    identity, name, f"mason-proxy-{name}"
                )
        edge = Identity(pod, record.app, EDGE)
        for h in hosts:
            out[h][f"{record.app}-{EDGE}"] = _request(edge, f"{record.app}-{EDGE}", "")
    for app, service in infrastructure:
        identity = Identity(pod, app, service)
        for h in hosts:
            out[h][f"{app}-{service}"] = _request(identity, f"{app}-{service}", "")
    return out


def _infrastructure_request(pod: str, name: str, identity: str) -> dict[str, str] | None:
    """The request for an instance of a pod-wide infrastructure app (addons), which the
    ledger does not place yet: allowed on any host of the pod, its name and identity
    consistent (``<app>-<service>-<replica>`` and ``spiffe://<pod>/<app>/<service>``)."""
    from mason.core.proxy import ADDONS_APP, instance_name  # here: proxy imports this module

    try:
        ident = Identity.parse(identity)
    except InvalidInput:
        return None
    m = re.fullmatch(r".+-([0-9]{1,4})", name)
    if ident.pod != pod or ident.app != ADDONS_APP or not m:
        return None
    if name != instance_name(ident.app, ident.service, int(m.group(1))):
        return None
    return _request(ident, name, f"mason-proxy-{name}")


def planned_request(
    planned: Mapping[str, Mapping[str, Mapping[str, Any]]],
    pod: str,
    host: str,
    name: str,
    identity: str,
) -> dict[str, str] | None:
    """The request ``planned`` gives ``host`` for instance ``name`` holding ``identity``;
    None when nothing planned it there."""
    want = planned.get(host, {}).get(name)
    if want is not None:
        return dict(want) if want.get("identity") == identity else None
    if host not in planned:
        return None
    return _infrastructure_request(pod, name, identity)


def is_planned(
    planned: Mapping[str, Mapping[str, Mapping[str, Any]]],
    pod: str,
    host: str,
    name: str,
    identity: str,
) -> bool:
    """True when ``planned`` lets ``host`` hold ``identity`` as instance ``name``."""
    return planned_request(planned, pod, host, name, identity) is not None


def authorize(
    planned: Mapping[str, Mapping[str, Mapping[str, Any]]],
    pod: str,
    host: str,
    found: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, str]], list[str]]:
    """Split what a host asks to renew (its identity.json files) into the requests the
    manager signs (rebuilt from ``planned``, never copied from the host) and one refusal
    line per identity outside the plan, naming the host and the identity."""
    requests, refused = [], []
    seen: set[str] = set()
    for item in found:
        name, identity = str(item.get("name", "")), str(item.get("identity", ""))
        request = planned_request(planned, pod, host, name, identity)
        if request is not None:
            if name not in seen:
                seen.add(name)
                requests.append(request)
            continue
        refused.append(
            f"host {host}: refusing to sign {identity or '(no identity)'} "
            f"(instance {name or '?'}): no release in the pod's ledger places it there"
        )
    return requests, refused


# -- what the manager issued ---------------------------------------------------------
ISSUED_DIR = "issued"  # under the CA directory on the manager: <serial hex>.json, root 0600


def issued_record(pem: bytes | str, host: str, name: str) -> dict[str, Any]:
    """What the manager keeps about a certificate it signed (public data only): serial,
    identity, the host and instance it was issued to, validity. The log lets a lost
    host's or a removed app's certificates be found without reading any host."""
    cert = load_cert(pem)
    return {
        "serial": f"{cert.serial_number:x}",
        "identity": identity_of(cert),
        "host": host,
        "instance": name,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


# -- revocation ----------------------------------------------------------------------
REVOKED_DIR = "revoked"  # under the CA directory on the manager: <serial hex>.json, root 0600
# A CRL is valid this long; the manager signs a fresh one whenever less than
# CRL_REFRESH is left (every deploy and rotation looks). OpenSSL refuses every peer
# once a CRL has expired, so it outlives certificates by far: rotation runs daily.
CRL_LIFETIME = timedelta(days=30)
CRL_REFRESH = timedelta(days=20)
# Why a certificate was revoked (the reason text of its record on the manager).
RETIRED = "retired"  # no release in the ledger places it (moved, scaled down, host lost)
REMOVED = "app removed"
REPLACED = "replaced by `mason pki rotate --revoke`"  # a suspected key leak


def _asn1(when: datetime) -> str:
    return when.astimezone(UTC).strftime(ASN1_TIME)


def _record_app(record: Mapping[str, Any]) -> str | None:
    try:
        return Identity.parse(str(record.get("identity", ""))).app
    except InvalidInput:
        return None


def revocations(
    pod: str,
    issued: Iterable[Mapping[str, Any]],
    revoked: Iterable[Mapping[str, Any]],
    *,
    releases: Iterable[Mapping[str, Any]] | None = None,
    hosts: Iterable[str] = (),
    busy_apps: Iterable[str] = (),
    remove_apps: Iterable[str] = (),
    revoke_serials: Iterable[int] = (),
    crl_next_update: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What the manager revokes and publishes, from its own logs of what it issued
    (``issued/``) and revoked (``revoked/``): never from what a host says.

    A certificate not yet expired is revoked when:

    - its app is in ``remove_apps`` (`mason app remove`), or
    - its serial is in ``revoke_serials`` (the certificates a rotation replaced, when the
      old keys may have leaked: `mason pki rotate --revoke`), or
    - ``releases`` (the newest release of every app in the ledger) are given, its app
      has a release (or is the pod's addons), nobody is deploying that app right now
      (``busy_apps``: its lock is held, its new release is not recorded yet), and nothing
      in them places its identity as that instance on that host (:func:`is_planned`,
      with ``hosts`` the run's hosts): a replica moved or scaled away, the copies of a
      host that heal left out. Apps outside the ledger (hand-written link plans) are
      judged only by ``remove_apps``.

    Returns ``revoke`` (new records for ``revoked/``: the issued record, when and why),
    ``crl`` (the CRL's entries: every revoked certificate not yet expired), ``serials``
    (the same as integers), ``prune`` (records of expired certificates, which no check
    needs any more: ``issued/<serial>.json`` and ``revoked/<serial>.json`` paths) and
    ``refresh`` (True when the published CRL, whose nextUpdate is ``crl_next_update``,
    is missing or has less than :data:`CRL_REFRESH` left) and ``next_update`` (the new
    CRL's, :data:`CRL_LIFETIME` from now, as community.crypto's relative time).
    """
    now = now or datetime.now(UTC)
    remove_apps, busy = set(remove_apps), set(busy_apps)
    replaced = {int(n) for n in revoke_serials}
    planned, judged = None, set()
    if releases is not None:
        releases = list(releases)
        from mason.core.proxy import ADDONS_APP  # here: proxy imports this module

        planned = planned_requests(pod, releases, hosts)
        judged = {str(r.get("app")) for r in releases} | {ADDONS_APP}
    prune: list[str] = []
    kept: dict[str, dict[str, Any]] = {}
    for r in revoked:
        serial = str(r.get("serial", ""))
        if _parse_time(r["not_after"]) <= now:
            prune.append(f"{REVOKED_DIR}/{serial}.json")
        else:
            kept[serial] = dict(r)
    new: list[dict[str, Any]] = []
    for r in issued:
        serial = str(r.get("serial", ""))
        if _parse_time(r["not_after"]) <= now:
            prune.append(f"{ISSUED_DIR}/{serial}.json")
            continue
        if serial in kept:
            continue
        app = _record_app(r)
        reason = ""
        if app in remove_apps:
            reason = REMOVED
        elif int(serial, 16) in replaced:
            reason = REPLACED
        elif (
            planned is not None
            and app in judged
            and app not in busy
            and not is_planned(planned, pod, str(r["host"]), str(r["instance"]), str(r["identity"]))
        ):
            reason = f"{RETIRED}: no release in the pod's ledger places it on {r['host']}"
        if reason:
            record = {**dict(r), "revoked_at": now.isoformat(), "reason": reason}
            new.append(record)
            kept[serial] = record
    entries = sorted((int(s, 16), _asn1(_parse_time(r["revoked_at"]))) for s, r in kept.items())
    refresh = crl_next_update in (None, "") or _parse_time(crl_next_update) - now < CRL_REFRESH
    return {
        "revoke": sorted(new, key=lambda r: (r["host"], r["instance"], r["serial"])),
        "crl": [{"serial_number": n, "revocation_date": when} for n, when in entries],
        "serials": [n for n, _ in entries],
        "prune": sorted(prune),
        "refresh": bool(refresh),
        "next_update": ansible_offset(CRL_LIFETIME),
    }


def build_crl(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    serials: Iterable[int] = (),
    *,
    now: datetime | None = None,
    lifetime: timedelta = CRL_LIFETIME,
) -> x509.CertificateRevocationList:
    """A CRL of the pod CA revoking ``serials`` (what the manager's x509_crl task makes;
    the benchmark and the tests use this one)."""
    now = now or datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(now + lifetime)
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)
