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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mason.core.errors import InvalidInput
from mason.core.names import check_name

DEFAULT_LIFETIME = timedelta(hours=24)
CA_LIFETIME = timedelta(days=3650)
# Skew allowed between hosts' clocks: leaves are valid from a minute ago.
BACKDATE = timedelta(minutes=1)
MAX_CN = 64  # ub-common-name, RFC 5280
DNS_SUFFIX = "mason"

# States of a certificate, from fine to bad.
OK, ROTATE, EXPIRED, NOT_YET_VALID = "ok", "rotate", "expired", "not-yet-valid"
_RANK = {OK: 0, ROTATE: 1, NOT_YET_VALID: 2, EXPIRED: 3}

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# -- durations -------------------------------------------------------------------
def parse_duration(value: str | int | float | timedelta, *, what: str = "duration") -> timedelta:
    """``"24h"``, ``"90m"``, ``"7d"``, ``3600`` (seconds) -> timedelta; must be positive."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise InvalidInput(f"invalid {what} {value!r}: expected e.g. 24h, 90m, 7d")
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise InvalidInput(f"invalid {what} {value!r}: expected e.g. 24h, 90m, 7d or seconds")
        result = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2) or "s"])
    if result <= timedelta(0):
        raise InvalidInput(f"invalid {what} {value!r}: must be positive")
    return result


def default_window(lifetime: timedelta) -> timedelta:
    """Rotate when a third of a leaf's life is left (8 h of 24 h): two hourly runs may fail."""
    return lifetime / 3


def check_window(lifetime: timedelta, window: timedelta) -> None:
    if window >= lifetime:
        raise InvalidInput(
            f"rotation window {window} must be shorter than the certificate lifetime {lifetime}: "
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


def check_csr(csr: x509.CertificateSigningRequest, identity: Identity) -> list[str]:
    """Why this CSR must not be signed for ``identity`` (empty: it may)."""
    problems = []
    if not csr.is_signature_valid:
        problems.append("the CSR's signature does not verify")
    cn, uris, dns = csr_names(csr)
    if cn != identity.common_name:
        problems.append(f"CN {cn!r} is not {identity.common_name!r}")
    if uris != [identity.spiffe_id]:
        problems.append(f"URI SANs {uris} are not [{identity.spiffe_id!r}]")
    if dns != [identity.dns_name]:
        problems.append(f"DNS SANs {dns} are not [{identity.dns_name!r}]")
    return problems


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


def rotation_due(not_after: datetime, now: datetime, window: timedelta) -> bool:
    """True when a certificate expires within ``window`` of ``now`` (or already has)."""
    return not_after - now <= window


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
            if c.state == EXPIRED:
                out.append(f"{who}: EXPIRED at {c.not_after:%Y-%m-%d %H:%M} UTC")
            elif c.state == ROTATE:
                left = _human(c.not_after - self.now)
                out.append(f"{who}: expires in {left}, inside the rotation window")
            elif c.state == NOT_YET_VALID:
                out.append(
                    f"{who}: not valid before {c.not_before:%Y-%m-%d %H:%M} UTC (clock skew?)"
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
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pod_status(
    pod: str,
    records: Iterable[dict[str, Any]],
    *,
    now: datetime | None = None,
    window: timedelta | None = None,
) -> PodPkiStatus:
    """Status of every certificate of a pod from the records the status playbook collects.

    A record: ``host``, ``path``, ``kind``, ``identity``, ``serial``, ``not_before``,
    ``not_after`` and, for leaves, ``instance``. The CA's own state ignores the leaf
    window: it is flagged when it has less than ``window`` x 30 left.
    """
    now = now or datetime.now(UTC)
    window = window or default_window(DEFAULT_LIFETIME)
    certs = []
    for r in records:
        nb, na = _parse_time(r["not_before"]), _parse_time(r["not_after"])
        kind = r.get("kind", "leaf")
        certs.append(
            CertStatus(
                host=r["host"],
                path=r["path"],
                kind=kind,
                identity=r.get("identity", ""),
                serial=str(r.get("serial", "")),
                not_before=nb,
                not_after=na,
                state=state_of(nb, na, now, window * 30 if kind == "ca" else window),
                instance=r.get("instance", ""),
            )
        )
    certs.sort(key=lambda c: (c.kind != "ca", c.identity, c.instance, c.host))
    return PodPkiStatus(pod=pod, now=now, window=window, certs=tuple(certs))
