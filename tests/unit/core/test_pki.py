"""mason.core.pki: identities, CSR checks, signing, rotation windows, status."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mason.core import pki
from mason.core.errors import InvalidInput

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WEB = pki.Identity("demo", "shop", "web")


@pytest.fixture(scope="module")
def ca():
    key = pki.new_private_key()
    return pki.build_ca("demo", key, now=NOW), key


def test_identity_names():
    assert WEB.spiffe_id == "spiffe://demo/shop/web"
    assert WEB.common_name == WEB.spiffe_id
    assert WEB.dns_name == "web.shop.demo.mason"
    assert pki.Identity.parse("spiffe://demo/shop/web") == WEB


def test_long_identity_gets_a_hashed_unique_common_name():
    a = pki.Identity("p" * 30, "a" * 40, "s" * 40)
    b = pki.Identity("p" * 30, "a" * 40, "s" * 39 + "t")
    assert len(a.spiffe_id) > pki.MAX_CN
    assert len(a.common_name) <= pki.MAX_CN
    assert a.common_name.startswith("mason:")
    assert a.common_name != b.common_name


@pytest.mark.parametrize(
    "bad", ["", "spiffe://demo/shop", "http://demo/shop/web", "spiffe://d/S/w"]
)
def test_identity_parse_refuses_malformed(bad):
    with pytest.raises(InvalidInput):
        pki.Identity.parse(bad)


def test_ca_is_a_leaf_only_ca(ca):
    cert, _ = ca
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and not ku.digital_signature


def test_signed_leaf_names_the_identity_and_is_short_lived(ca):
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    cert = pki.sign_csr(pki.build_csr(key, WEB), WEB, ca_cert, ca_key, now=NOW)
    assert pki.identity_of(cert) == WEB.spiffe_id
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == WEB.common_name
    assert cert.not_valid_after_utc - NOW == pki.DEFAULT_LIFETIME
    assert NOW - cert.not_valid_before_utc == pki.BACKDATE
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca_cert)


def test_leaf_verifies_against_the_ca_with_openssl(ca, tmp_path):
    """The chain is one a real TLS stack accepts (Python's ssl is OpenSSL)."""
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    cert = pki.sign_csr(pki.build_csr(key, WEB), WEB, ca_cert, ca_key)
    bundle = tmp_path / "leaf.pem"
    bundle.write_bytes(pki.cert_pem(cert) + pki.key_pem(key))
    (tmp_path / "ca.pem").write_bytes(pki.cert_pem(ca_cert))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(bundle)  # key and certificate match
    ctx.load_verify_locations(tmp_path / "ca.pem")


def test_csr_claiming_another_identity_is_refused(ca):
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    api = pki.Identity("demo", "shop", "api")
    csr = pki.build_csr(key, api)
    assert pki.check_csr(csr, WEB)
    with pytest.raises(InvalidInput, match="refusing to sign"):
        pki.sign_csr(csr, WEB, ca_cert, ca_key)


def test_csr_with_extra_san_is_refused(ca):
    from cryptography.hazmat.primitives import hashes

    key = pki.new_private_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, WEB.common_name)]))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.UniformResourceIdentifier(WEB.spiffe_id),
                    x509.UniformResourceIdentifier("spiffe://demo/blog/web"),
                    x509.DNSName(WEB.dns_name),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    problems = pki.check_csr(csr, WEB)
    assert any("URI SANs" in p for p in problems)


@pytest.mark.parametrize(
    ("left", "state"),
    [
        (timedelta(hours=20), pki.OK),
        (timedelta(hours=8, seconds=1), pki.OK),
        (timedelta(hours=8), pki.ROTATE),
        (timedelta(minutes=1), pki.ROTATE),
        (timedelta(0), pki.EXPIRED),
        (timedelta(hours=-1), pki.EXPIRED),
    ],
)
def test_state_follows_the_rotation_window(left, state):
    window = pki.default_window(pki.DEFAULT_LIFETIME)
    assert window == timedelta(hours=8)
    assert pki.state_of(NOW - timedelta(hours=1), NOW + left, NOW, window) == state
    assert pki.rotation_due(NOW + left, NOW, window) == (state != pki.OK)


def test_not_yet_valid_is_flagged():
    assert pki.state_of(NOW + timedelta(hours=1), NOW + timedelta(hours=2), NOW, timedelta(0)) == (
        pki.NOT_YET_VALID
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("90m", 5400), ("7d", 604800), ("45", 45), (30, 30)]
)
def test_parse_duration(text, seconds):
    assert pki.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "0h", "-1h", "1y", "h", True])
def test_parse_duration_refuses(bad):
    with pytest.raises(InvalidInput):
        pki.parse_duration(bad)


def test_window_must_be_shorter_than_lifetime():
    with pytest.raises(InvalidInput, match="shorter"):
        pki.check_window(timedelta(hours=1), timedelta(hours=1))
    pki.check_window(timedelta(hours=24), timedelta(hours=8))


def test_ansible_offset():
    assert pki.ansible_offset(timedelta(hours=24)) == "+86400s"
    assert pki.ansible_offset(timedelta(minutes=-1)) == "-60s"


def test_pod_status_warns_inside_the_window_and_for_expired():
    records = [
        {"host": "demo-h1", "path": "/etc/mason/pki/ca/ca.pem", "kind": "ca",
         "identity": "mason pod CA demo", "serial": 1,
         "not_before": "20250101000000Z", "not_after": "20350101000000Z"},
        {"host": "demo-h2", "path": "/x/shop-web-1/cert.pem", "kind": "leaf",
         "identity": WEB.spiffe_id, "instance": "shop-web-1", "serial": 2,
         "not_before": (NOW - timedelta(hours=20)).isoformat(),
         "not_after": (NOW + timedelta(hours=4)).isoformat()},
        {"host": "demo-h3", "path": "/x/shop-api-1/cert.pem", "kind": "leaf",
         "identity": "spiffe://demo/shop/api", "instance": "shop-api-1", "serial": 3,
         "not_before": (NOW - timedelta(hours=2)).isoformat(),
         "not_after": (NOW + timedelta(hours=22)).isoformat()},
    ]  # fmt: skip
    status = pki.pod_status("demo", records, now=NOW)
    states = {c.instance or c.kind: c.state for c in status.certs}
    assert states == {"ca": pki.OK, "shop-web-1": pki.ROTATE, "shop-api-1": pki.OK}
    assert status.worst == pki.ROTATE
    assert len(status.warnings) == 1
    assert "shop-web-1" in status.warnings[0] and "4h00m" in status.warnings[0]
    assert status.certs[0].kind == "ca"
    data = status.to_dict()
    assert data["state"] == pki.ROTATE and len(data["certificates"]) == 3

    records[2]["not_after"] = (NOW - timedelta(minutes=1)).isoformat()
    expired = pki.pod_status("demo", records, now=NOW)
    assert expired.worst == pki.EXPIRED
    assert any("EXPIRED" in w for w in expired.warnings)


def test_ca_near_its_end_is_flagged_long_before_leaves_would_be():
    rec = {"host": "h", "path": "/ca.pem", "kind": "ca", "identity": "CA", "serial": 1,
           "not_before": "20200101000000Z",
           "not_after": (NOW + timedelta(days=5)).isoformat()}  # fmt: skip
    assert pki.pod_status("demo", [rec], now=NOW).worst == pki.ROTATE
