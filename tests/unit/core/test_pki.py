"""mason.core.pki: identities, CSR checks, signing, rotation windows, status."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mason.core import pki, release
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


def _leaf_files(ca, tmp_path: Path) -> tuple[x509.Certificate, Path]:
    """A leaf of WEB signed by ``ca``: its bundle (certificate + key) and ca.pem beside."""
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    cert = pki.sign_csr(pki.build_csr(key, WEB), WEB, ca_cert, ca_key)
    bundle = tmp_path / "leaf.pem"
    bundle.write_bytes(pki.cert_pem(cert) + pki.key_pem(key))
    (tmp_path / "ca.pem").write_bytes(pki.cert_pem(ca_cert))
    return cert, bundle


def test_leaf_verifies_against_the_ca_with_openssl(ca, tmp_path):
    """The chain is one a real TLS stack accepts (Python's ssl is OpenSSL)."""
    _, bundle = _leaf_files(ca, tmp_path)
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


def _csr(key, names, *extensions):
    """A hand-made CSR: subject attributes ``names`` (oid, value), WEB's SANs, ``extensions``."""
    from cryptography.hazmat.primitives import hashes

    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(oid, value) for oid, value in names])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(WEB.spiffe_id), x509.DNSName(WEB.dns_name)]
        ),
        critical=False,
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(
    "names",
    [
        # Two CNs: a mapping reads the last (WEB), HAProxy the first (blog's web).
        [(NameOID.COMMON_NAME, "spiffe://demo/blog/web"), (NameOID.COMMON_NAME, WEB.common_name)],
        [(NameOID.COMMON_NAME, WEB.common_name), (NameOID.COMMON_NAME, "spiffe://demo/blog/web")],
        [(NameOID.COMMON_NAME, WEB.common_name), (NameOID.ORGANIZATION_NAME, "x")],
        [],
    ],
    ids=["two-cns-target-last", "two-cns-target-first", "extra-attribute", "empty"],
)
def test_csr_subject_must_be_exactly_one_cn(ca, names):
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    problems = pki.check_csr(_csr(key, names), WEB)
    assert any("subject" in p and "is not exactly CN=" in p for p in problems), problems
    with pytest.raises(InvalidInput, match="refusing to sign"):
        pki.sign_csr(_csr(key, names), WEB, ca_cert, ca_key)
    # Control: the same CSR with the one right CN passes.
    assert pki.check_csr(_csr(key, [(NameOID.COMMON_NAME, WEB.common_name)]), WEB) == []


_KU = dict.fromkeys(
    ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
     "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
    False,
)  # fmt: skip


@pytest.mark.parametrize(
    ("extension", "why"),
    [
        ((x509.BasicConstraints(ca=True, path_length=None), True), "asks to be a CA"),
        ((x509.KeyUsage(**{**_KU, "digital_signature": True, "key_cert_sign": True}), True),
         "key usages beyond"),
        ((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False), "extended key usages"),
        ((x509.OCSPNoCheck(), False), "not in a leaf's profile"),
    ],
    ids=["ca-true", "key-cert-sign", "code-signing", "other-extension"],
)  # fmt: skip
def test_csr_asking_for_more_than_a_leaf_is_refused(ca, extension, why):
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    csr = _csr(key, [(NameOID.COMMON_NAME, WEB.common_name)], extension)
    assert any(why in p for p in pki.check_csr(csr, WEB)), pki.check_csr(csr, WEB)
    with pytest.raises(InvalidInput, match="refusing to sign"):
        pki.sign_csr(csr, WEB, ca_cert, ca_key)


def test_ca_sets_the_leaf_profile_itself(ca):
    """A CSR with leaf-compatible extensions of its own (non-critical, EKU serverAuth only)
    gets the CA's profile, not what it asked for."""
    ca_cert, ca_key = ca
    key = pki.new_private_key()
    csr = _csr(
        key,
        [(NameOID.COMMON_NAME, WEB.common_name)],
        (x509.BasicConstraints(ca=False, path_length=None), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    )
    cert = pki.sign_csr(csr, WEB, ca_cert, ca_key, now=NOW)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


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


def test_not_yet_valid_is_flagged():
    assert pki.state_of(NOW + timedelta(hours=1), NOW + timedelta(hours=2), NOW, timedelta(0)) == (
        pki.NOT_YET_VALID
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("90m", 5400), ("7d", 604800), ("1w", 604800), ("45", 45), (30, 30)],
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


# -- which identities a host may hold (the ledger decides) -----------------------------
def _release(app: str, placement: dict[str, list[tuple[int, str]]]) -> dict:
    return release.make_record(
        None,
        app=app,
        kind="deploy",
        manifest_hash="a" * 64,
        images={svc: f"{app}-{svc}:1" for svc in placement},
        placement={
            svc: [{"replica": r, "host": h, "zone": "z1"} for r, h in slots]
            for svc, slots in placement.items()
        },
        who="test@here",
    ).to_dict()


def _planned():
    releases = [
        _release("shop", {"web": [(1, "h1")], "api": [(1, "h2"), (2, "h3")]}),
        _release("blog", {"web": [(1, "h3")]}),
    ]
    return pki.planned_requests("p", releases, ["h1", "h2", "h3"])


def test_planned_requests_place_replicas_on_their_slots_and_edges_everywhere():
    planned = _planned()
    assert sorted(planned["h1"]) == ["blog-edge", "shop-edge", "shop-web-1"]
    assert sorted(planned["h3"]) == ["blog-edge", "blog-web-1", "shop-api-2", "shop-edge"]
    api = planned["h2"]["shop-api-1"]
    ident = pki.Identity("p", "shop", "api")
    assert api == {
        "name": "shop-api-1",
        "identity": ident.spiffe_id,
        "common_name": ident.common_name,
        "dns_name": ident.dns_name,
        "proxy_container": "mason-proxy-shop-api-1",
    }
    assert planned["h2"]["blog-edge"]["identity"] == "spiffe://p/blog/edge"


def test_authorize_refuses_another_apps_identity_planted_on_a_host():
    planned = _planned()
    found = [
        {"name": "shop-web-1", "identity": "spiffe://p/shop/web", "dns_name": "evil.example"},
        {"name": "blog-web-1", "identity": "spiffe://p/blog/web"},  # planted: blog runs on h3
        {"name": "shop-web-1", "identity": "spiffe://p/blog/web"},  # a planned name, wrong id
    ]
    requests, refused = pki.authorize(planned, "p", "h1", found)
    # The planned one is signed as the plan says, not as the host's file says.
    assert requests == [planned["h1"]["shop-web-1"]]
    assert refused == [
        "host h1: refusing to sign spiffe://p/blog/web (instance blog-web-1): "
        "no release in the pod's ledger places it there",
        "host h1: refusing to sign spiffe://p/blog/web (instance shop-web-1): "
        "no release in the pod's ledger places it there",
    ]


def test_authorize_with_an_empty_ledger_refuses_everything():
    requests, refused = pki.authorize(
        {}, "p", "h1", [{"name": "x-y-1", "identity": "spiffe://p/x/y"}]
    )
    assert requests == [] and len(refused) == 1 and "h1" in refused[0]


def test_status_flags_an_unplanned_leaf_as_a_problem():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = {"kind": "leaf", "serial": "1", "not_before": now - timedelta(hours=1)}
    records = [
        {**base, "host": "h1", "path": "/a", "identity": "spiffe://p/shop/web",
         "instance": "shop-web-1", "not_after": now + timedelta(hours=20)},
        {**base, "host": "h1", "path": "/b", "identity": "spiffe://p/blog/web",
         "instance": "blog-web-1", "not_after": now + timedelta(hours=20)},
    ]  # fmt: skip
    report = pki.pod_status("p", records, now=now, planned=_planned())
    states = {c.instance: c.state for c in report.certs}
    assert states == {"shop-web-1": pki.OK, "blog-web-1": pki.UNPLANNED}
    assert report.worst == pki.UNPLANNED and report.worst in pki.PROBLEMS
    assert report.warnings == [
        "h1: spiffe://p/blog/web (blog-web-1): UNPLANNED: no release in the pod's ledger "
        "puts this identity on h1; the manager will not renew it"
    ]
    # Without a plan, no such judgement (the old behaviour, for callers that have none).
    assert pki.pod_status("p", records, now=now).worst == pki.OK


def test_an_unplanned_leaf_that_has_expired_is_reported_as_both():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    old = {"kind": "leaf", "serial": "1", "host": "h1", "path": "/c", "instance": "old-1",
           "identity": "spiffe://p/old/web", "not_before": now - timedelta(days=2),
           "not_after": now - timedelta(days=1)}  # fmt: skip
    report = pki.pod_status("p", [old], now=now, planned=_planned())
    (cert,) = report.certs
    assert (cert.state, cert.validity) == (pki.UNPLANNED, pki.EXPIRED)
    assert cert.to_dict()["validity"] == pki.EXPIRED
    assert report.warnings[0].endswith("will not renew it (and EXPIRED at 2025-12-31 00:00 UTC)")


def test_addons_are_allowed_on_every_host_of_the_pod_with_a_consistent_name():
    planned = _planned()
    ok = {"name": "addons-postgresql-1", "identity": "spiffe://p/addons/postgresql"}
    requests, refused = pki.authorize(planned, "p", "h2", [ok])
    assert refused == [] and requests[0]["dns_name"] == "postgresql.addons.p.mason"
    assert requests[0]["proxy_container"] == "mason-proxy-addons-postgresql-1"
    for bad in (
        {"name": "addons-redis-1", "identity": "spiffe://p/addons/postgresql"},  # name differs
        {"name": "addons-postgresql-1", "identity": "spiffe://other/addons/postgresql"},
        {"name": "addons-postgresql-x", "identity": "spiffe://p/addons/postgresql"},
    ):
        assert pki.authorize(planned, "p", "h2", [bad])[0] == [], bad
    # Not on a host outside the pod.
    assert pki.authorize(planned, "p", "h9", [ok])[0] == []


def test_an_app_whose_newest_release_places_nothing_has_no_identity_anywhere():
    planned = pki.planned_requests("p", [_release("gone", {"web": []})], ["h1"])
    assert planned == {"h1": {}}


def test_issued_record_names_serial_identity_host_and_instance():
    ca_key = pki.new_private_key()
    ca = pki.build_ca("p", ca_key)
    ident = pki.Identity("p", "shop", "web")
    cert = pki.sign_csr(pki.build_csr(pki.new_private_key(), ident), ident, ca, ca_key)
    record = pki.issued_record(pki.cert_pem(cert), "h1", "shop-web-1")
    assert record["serial"] == f"{cert.serial_number:x}"
    assert (record["identity"], record["host"], record["instance"]) == (
        ident.spiffe_id, "h1", "shop-web-1",
    )  # fmt: skip
    assert record["not_after"] == cert.not_valid_after_utc.isoformat()


# -- revocation ----------------------------------------------------------------------
def _issued(serial: str, host: str, instance: str, identity: str, hours_left: float = 10):
    return {
        "serial": serial,
        "identity": identity,
        "host": host,
        "instance": instance,
        "not_before": (NOW - timedelta(hours=1)).isoformat(),
        "not_after": (NOW + timedelta(hours=hours_left)).isoformat(),
    }


ISSUED = [
    _issued("a1", "h1", "shop-web-1", "spiffe://p/shop/web"),  # planned
    _issued("a2", "h2", "shop-web-2", "spiffe://p/shop/web"),  # scaled away
    _issued("a3", "h4", "blog-edge", "spiffe://p/blog/edge"),  # a host the run left out
    _issued("a4", "h2", "blog-edge", "spiffe://p/blog/edge"),  # planned
    _issued("a5", "h2", "addons-postgresql-1", "spiffe://p/addons/postgresql"),  # addon
    _issued("a6", "h4", "addons-redis-1", "spiffe://p/addons/redis"),  # addon, host left out
    _issued("a7", "h1", "lab-web-1", "spiffe://p/lab/web"),  # not in the ledger: untouched
    _issued("a8", "h1", "shop-web-1", "spiffe://p/shop/web", hours_left=-1),  # expired
]


def _revocations(**kw):
    releases = [
        _release("shop", {"web": [(1, "h1")], "api": [(1, "h2"), (2, "h3")]}),
        _release("blog", {"web": [(1, "h3")]}),
    ]
    args = {"releases": releases, "hosts": ["h1", "h2", "h3"], "now": NOW}
    return pki.revocations("p", ISSUED, [], **{**args, **kw})


def test_revocations_revoke_what_no_release_places_any_more():
    out = _revocations()
    assert [(r["serial"], r["reason"].split(":")[0]) for r in out["revoke"]] == [
        ("a2", pki.RETIRED),
        ("a6", pki.RETIRED),
        ("a3", pki.RETIRED),
    ]
    assert out["revoke"][0]["revoked_at"] == NOW.isoformat()
    assert out["serials"] == [0xA2, 0xA3, 0xA6]
    assert out["crl"][0] == {"serial_number": 0xA2, "revocation_date": "20260101120000Z"}
    # the expired certificate's record is forgotten; nothing else
    assert out["prune"] == ["issued/a8.json"]
    assert out["refresh"] and out["next_update"] == "+2592000s"


def test_revocations_leave_an_app_being_deployed_alone_and_revoke_a_removed_one():
    out = _revocations(busy_apps=["shop"], remove_apps=["lab"])
    assert [(r["serial"], r["reason"]) for r in out["revoke"]][:1] == [("a7", pki.REMOVED)]
    assert "a2" not in [r["serial"] for r in out["revoke"]]  # shop's lock is held
    # without releases nothing is judged by plan: only the removed app goes
    alone = pki.revocations("p", ISSUED, [], remove_apps=["blog"], now=NOW)
    assert sorted(r["serial"] for r in alone["revoke"]) == ["a3", "a4"]


def test_revocations_keep_what_was_revoked_until_it_expires():
    before = _revocations()["revoke"]
    late = NOW + timedelta(hours=1)
    expired = {**before[0], "not_after": (NOW + timedelta(minutes=30)).isoformat()}
    out = pki.revocations(
        "p",
        ISSUED,
        [expired, *before[1:]],
        releases=[],
        hosts=["h1", "h2", "h3"],
        crl_next_update=(late + timedelta(days=25)).strftime("%Y%m%d%H%M%SZ"),
        now=late,
    )
    assert out["revoke"] == []  # nothing new: the rest are revoked already
    assert out["serials"] == [0xA3, 0xA6]  # a2's certificate has expired meanwhile
    assert "revoked/a2.json" in out["prune"]
    assert not out["refresh"]  # 25 days left
    stale = (late + timedelta(days=19)).strftime("%Y%m%d%H%M%SZ")
    assert pki.revocations("p", [], [], crl_next_update=stale, now=late)["refresh"]


def _handshake(ca_pem: Path, crl: bytes | None, bundle: Path) -> str:
    """A TLS 1.3 handshake with a client certificate, both ends OpenSSL (Python's ssl),
    the server checking the client against the CA and, given one, the CRL (as HAProxy's
    crl-file does). Returns "ok" or the server's verification error."""
    import socket
    import threading

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(bundle)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(ca_pem)
    if crl is not None:
        crl_file = bundle.with_suffix(".crl.pem")
        crl_file.write_bytes(crl)
        server.load_verify_locations(crl_file)
        server.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.load_verify_locations(ca_pem)
    client.load_cert_chain(bundle)
    a, b = socket.socketpair()
    result: list[str] = []

    def serve():
        try:
            with server.wrap_socket(a, server_side=True) as s:
                s.sendall(b"x")
            result.append("ok")
        except ssl.SSLError as exc:
            result.append(getattr(exc, "verify_message", "") or exc.reason or str(exc))

    t = threading.Thread(target=serve)
    t.start()
    try:
        with client.wrap_socket(b) as c:
            c.recv(1)
    except (ssl.SSLError, OSError):
        pass
    t.join(10)
    return result[0]


def test_a_revoked_certificate_is_refused_by_openssl_with_the_crl_mason_signs(ca, tmp_path):
    ca_cert, ca_key = ca
    cert, bundle = _leaf_files(ca, tmp_path)
    empty = pki.crl_pem(pki.build_crl(ca_cert, ca_key))
    revoked = pki.crl_pem(pki.build_crl(ca_cert, ca_key, [cert.serial_number]))
    assert _handshake(tmp_path / "ca.pem", None, bundle) == "ok"  # control: no CRL
    assert _handshake(tmp_path / "ca.pem", empty, bundle) == "ok"  # control: not revoked
    assert _handshake(tmp_path / "ca.pem", revoked, bundle) == "certificate revoked"


def test_status_flags_a_revoked_leaf_as_a_problem():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        {"kind": "leaf", "serial": str(n), "not_before": now - timedelta(hours=1),
         "host": "h1", "path": f"/{n}", "identity": "spiffe://p/shop/web",
         "instance": "shop-web-1", "not_after": now + timedelta(hours=20)}
        for n in (7, 8)
    ]  # fmt: skip
    report = pki.pod_status("p", records, now=now, planned=_planned(), revoked=[8])
    assert [c.state for c in report.certs if c.serial == "8"] == [pki.REVOKED]
    assert [c.state for c in report.certs if c.serial == "7"] == [pki.OK]
    assert report.worst == pki.REVOKED and report.worst in pki.PROBLEMS
    assert report.warnings[0].startswith("h1: spiffe://p/shop/web (shop-web-1): REVOKED")
