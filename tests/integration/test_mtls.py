"""Mutual-TLS links on a real 3-host pod: only declared links get through.

Two apps (shop, blog) of two services each (web links to api), spread over the
pod's hosts, behind real HAProxy sidecars. Every refusal is checked next to a
positive control with the same client code, so a broken setup cannot pass.
Traffic goes only to the pod's own containers and network.
"""

from __future__ import annotations

import json
import shlex
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest
from cryptography import x509

from mason.core import pki, release
from mason.core.proxy import instances, plan_from_dict
from mason.providers.docker.sidecar import PROXY, sidecar_image
from mason.runner import run_playbook
from tests.conftest import REPO, unique_pod_name
from tests.integration.conftest import ansible_playbook, mason
from tests.integration.sidecars import load_into_hosts
from tests.sidecars import TESTSVC, service_image

pytestmark = pytest.mark.integration
CERTS = "/etc/mason/pki/certs"


def sh(*args: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{shlex.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def on_host(host: str, *args: str, check: bool = True, timeout: float = 60):
    """A command in a host's own namespace (as root), like an operator on the machine."""
    return sh("docker", "exec", f"mason-{host}", *args, check=check, timeout=timeout)


def in_container(host: str, container: str, *args: str, check: bool = True, timeout: float = 60):
    return on_host(host, "docker", "exec", container, *args, check=check, timeout=timeout)


class Pod:
    def __init__(self, name: str, project: Path, hosts: dict, plan: dict, images: dict) -> None:
        self.name = name
        self.project = project
        self.hosts = hosts  # name -> private address
        self.plan = plan
        self.images = images
        built = plan_from_dict(plan, pod=name, addresses=hosts)
        self.instances = {i.name: i for i in instances(built)}

    def h(self, n: int) -> str:
        return f"{self.name}-h{n}"


@pytest.fixture(scope="module")
def pod(tmp_path_factory) -> Pod:
    client = docker.from_env()
    images = {PROXY: sidecar_image(client, PROXY), TESTSVC: service_image(client)}
    name = unique_pod_name("mtls")
    project = tmp_path_factory.mktemp("mtls-proj")
    try:
        out = mason("--json", "pod", "create", name, "--hosts", "3", project=project)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        hosts = {h["name"]: h["private_address"] for h in data["hosts"]}
        load_into_hosts([f"mason-{h}" for h in hosts], images.values())
        svc = images[TESTSVC]
        h = lambda n: f"{name}-h{n}"  # noqa: E731
        plan = {
            "apps": {
                "shop": {
                    "web": {"port": 8080, "scheme": "http", "image": svc, "links": ["api"],
                            "hosts": [h(1)]},
                    "api": {"port": 8080, "scheme": "http", "image": svc, "hosts": [h(2), h(3)]},
                },
                "blog": {
                    "web": {"port": 8080, "scheme": "http", "image": svc, "links": ["api"],
                            "hosts": [h(3)]},
                    "api": {"port": 8080, "scheme": "http", "image": svc, "hosts": [h(2)]},
                },
            }
        }  # fmt: skip
        result = run_playbook(
            "links.yml",
            project_dir=project,
            pods=[name],
            extravars={"mason_links_plan": plan, "mason_links_proxy_image": images[PROXY]},
        )
        assert result.ok, [vars(f) for f in result.failures]
        built = Pod(name, project, hosts, plan, images)
        record_in_ledger(built)
        yield built
    finally:
        mason("pod", "destroy", name, "--yes", project=project, check=False)


def record_in_ledger(pod: Pod) -> None:
    """Write the links plan into the ledger on the manager as `mason app deploy` would: the
    manager signs (rotate) only identities the ledger places on a host."""
    placement: dict[str, dict[str, list[dict]]] = {}
    for inst in pod.instances.values():
        slot = {"replica": inst.replica, "host": inst.host, "zone": "z1"}
        placement.setdefault(inst.app, {}).setdefault(inst.service, []).append(slot)
    for app, services in placement.items():
        record = release.make_record(
            None, app=app, kind="deploy", manifest_hash="0" * 64, who="test@mtls",
            images={svc: pod.images[TESTSVC] for svc in services}, placement=services,
        )  # fmt: skip
        directory = f"/etc/mason/releases/{app}"
        on_host(pod.h(1), "install", "-d", "-m", "0700", "/etc/mason/releases", directory)
        sh("docker", "exec", "-i", f"mason-{pod.h(1)}", "sh", "-c",
           f"umask 077 && cat > {directory}/000001.json",
           input=json.dumps(record.to_dict(), indent=2))  # fmt: skip


# -- clients -----------------------------------------------------------------------
def fetch_pem(host: str, path: str, dest: Path) -> Path:
    """Copy a file off a host for the test's own TLS client (kept 0600 in tmp)."""
    data = on_host(host, "cat", path).stdout
    dest.write_text(data)
    dest.chmod(0o600)
    return dest


def tls_get(
    address: str,
    port: int,
    *,
    ca: Path,
    server_name: str,
    bundle: Path | None,
    max_version: ssl.TLSVersion | None = None,
) -> str:
    """GET / over TLS; the status line, or why it failed ('refused: ...')."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if max_version:
        ctx.maximum_version = max_version
    if bundle:
        ctx.load_cert_chain(bundle)
    try:
        with (
            socket.create_connection((address, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as conn,
        ):
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except (OSError, ssl.SSLError) as exc:
        return f"refused: {type(exc).__name__}: {exc}"
    if not data:
        return "refused: closed without an answer"
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def plaintext_get(address: str, port: int) -> str:
    with socket.create_connection((address, port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        conn.settimeout(5)
        try:
            data = conn.recv(4096)
        except OSError as exc:
            return f"refused: {exc}"
    return data.decode(errors="replace")[:40] or "refused: closed without an answer"


def run_test_playbook(pod: Pod, playbook: str, extravars: dict, tmp: Path):
    """Run one of tests/integration/playbooks against the pod, as an operator would."""
    return ansible_playbook(
        pod.name, REPO / "tests/integration/playbooks" / playbook, extravars, tmp, timeout=300
    )


@pytest.fixture(scope="module")
def certs(pod: Pod, tmp_path_factory) -> dict[str, Path]:
    """Client certificates: real ones of the pod's instances, an expired one, another CA's."""
    d = tmp_path_factory.mktemp("certs")
    d.chmod(0o700)
    out = {
        "ca": fetch_pem(pod.h(2), f"{CERTS}/shop-api-1/ca.pem", d / "ca.pem"),
        "shop-web": fetch_pem(pod.h(1), f"{CERTS}/shop-web-1/proxy.pem", d / "shop-web.pem"),
        "shop-api": fetch_pem(pod.h(3), f"{CERTS}/shop-api-2/proxy.pem", d / "shop-api.pem"),
        "blog-web": fetch_pem(pod.h(3), f"{CERTS}/blog-web-1/proxy.pem", d / "blog-web.pem"),
    }
    # An expired certificate of the *linked* identity, signed by the pod CA on the manager.
    web = pki.Identity(pod.name, "shop", "web")
    request = {"name": "expired-web", **{k: v for k, v in web.to_dict().items()}}
    extravars = {
        "pki_cert_requests": [request],
        "pki_cert_base_dir": "/root/mason-test-certs",
        "pki_cert_not_before": "-7200s",
        "pki_cert_not_after": "-3600s",
    }
    proc = run_test_playbook(pod, "issue_test_cert.yml", extravars, d)
    assert proc.returncode == 0, proc.stdout[-3000:]
    out["expired"] = fetch_pem(
        pod.h(1), "/root/mason-test-certs/expired-web/proxy.pem", d / "e.pem"
    )
    expired = pki.load_cert(out["expired"].read_bytes())
    assert expired.not_valid_after_utc < datetime.now(UTC)
    assert pki.identity_of(expired) == web.spiffe_id
    # The same linked identity, from a CA the pod never heard of.
    other_key = pki.new_private_key()
    other_ca = pki.build_ca(pod.name, other_key)
    key = pki.new_private_key()
    cert = pki.sign_csr(pki.build_csr(key, web), web, other_ca, other_key)
    out["other-ca"] = d / "other-ca.pem"
    out["other-ca"].write_bytes(pki.cert_pem(cert) + pki.key_pem(key))
    out["other-ca"].chmod(0o600)
    return out


def call_api(pod: Pod) -> dict:
    """One request from shop/web's container to its declared link, through both proxies."""
    proc = in_container(pod.h(1), "mason-shop-web-1", "python3", "/usr/local/bin/mason-testsvc",
                        "call", "api")  # fmt: skip
    return json.loads(proc.stdout)


# -- tests --------------------------------------------------------------------------
def test_declared_link_works_across_hosts_through_both_proxies(pod: Pod):
    env = in_container(pod.h(1), "mason-shop-web-1", "env").stdout
    assert "MASON_LINK_API_URL=http://mason-proxy:15001" in env
    # links.yml returns before the proxies' health checks have converged: for a
    # few seconds after a deploy a replica (or all of them, answering 503) can be
    # out of rotation while its inbound proxy resolves its service. Wait for that,
    # bounded, then require every call to succeed and both replicas to answer.
    deadline = time.monotonic() + 30
    while in_container(pod.h(1), "mason-shop-web-1", "python3", "/usr/local/bin/mason-testsvc",
                       "call", "api", check=False).returncode != 0:  # fmt: skip
        assert time.monotonic() < deadline, "the declared link never answered within 30 s"
        time.sleep(0.5)
    answers = [call_api(pod) for _ in range(6)]
    while {a["host"] for a in answers} != {pod.h(2), pod.h(3)} and time.monotonic() < deadline:
        time.sleep(0.5)
        answers.append(call_api(pod))
    assert {a["service"] for a in answers} == {"api"}
    assert {a["app"] for a in answers} == {"shop"}
    # Balanced over both replicas, on the two other hosts.
    assert {a["host"] for a in answers} == {pod.h(2), pod.h(3)}
    # No service port is published on any host: only proxies listen there.
    for host in pod.hosts:
        ps = on_host(host, "docker", "ps", "--format", "{{.Names}} {{.Ports}}").stdout
        for line in ps.splitlines():
            name, _, ports = line.partition(" ")
            assert name.startswith("mason-proxy-") or not ports.strip(), line


@pytest.mark.parametrize(
    ("client", "max_version", "expected"),
    [
        ("shop-web", None, "HTTP/1.1 200"),  # control: the declared link
        ("shop-web", ssl.TLSVersion.TLSv1_2, "refused"),  # TLS 1.2
        (None, None, "refused"),  # no client certificate
        ("blog-web", None, "refused"),  # another app's identity
        ("shop-api", None, "refused"),  # same app, no link to api
        ("expired", None, "refused"),  # the linked identity, expired
        ("other-ca", None, "refused"),  # the linked identity, another CA
    ],
)
def test_inbound_admits_only_linked_identities(pod, certs, client, max_version, expected):
    api = pod.instances["shop-api-1"]
    result = tls_get(
        api.address,
        api.proxy_port,
        ca=certs["ca"],
        server_name=api.identity.dns_name,
        bundle=certs[client] if client else None,
        max_version=max_version,
    )
    assert result.startswith(expected), result


def test_plaintext_to_a_proxy_port_is_refused(pod, certs):
    api = pod.instances["shop-api-1"]
    answer = plaintext_get(api.address, api.proxy_port)
    assert not answer.startswith("HTTP/"), answer
    # Control: the same port answers a linked TLS client.
    ok = tls_get(api.address, api.proxy_port, ca=certs["ca"],
                 server_name=api.identity.dns_name, bundle=certs["shop-web"])  # fmt: skip
    assert ok.startswith("HTTP/1.1 200"), ok


def test_other_apps_containers_cannot_reach_a_service_directly(pod: Pod):
    h2 = pod.h(2)
    inspect = on_host(h2, "docker", "inspect", "mason-shop-api-1").stdout
    address = json.loads(inspect)[0]["NetworkSettings"]["Networks"]["mason-shop-api-1"]["IPAddress"]
    probe = (
        "import socket,sys\n"
        "try:\n"
        f"    socket.create_connection(({address!r}, 8080), timeout=3).close(); print('open')\n"
        "except OSError as e:\n"
        "    print('closed', e)\n"
    )
    # Control: from the service's own private network the address answers.
    own = on_host(h2, "docker", "run", "--rm", "--network", "mason-shop-api-1",
                  pod.images[TESTSVC], "python3", "-c", probe).stdout  # fmt: skip
    assert own.startswith("open"), own
    # From blog's container on the same host: unreachable.
    other = in_container(h2, "mason-blog-api-1", "python3", "-c", probe).stdout
    assert other.startswith("closed"), other


def _serials(pod: Pod) -> dict[str, int]:
    out = {}
    for inst in pod.instances.values():
        pem = on_host(inst.host, "cat", f"{CERTS}/{inst.name}/cert.pem").stdout
        out[inst.name] = pki.load_cert(pem).serial_number
    return out


def test_rotation_while_a_client_loops_drops_nothing(pod: Pod, certs, tmp_path):
    """`--force --revoke` (a suspected leak): new keys everywhere, the old ones refused,
    and not one request of a client looping through it all fails."""
    before = _serials(pod)
    stop = "/tmp/mason-loop-stop"  # inside the test service's container
    loop = subprocess.Popen(
        ["docker", "exec", f"mason-{pod.h(1)}", "docker", "exec", "mason-shop-web-1",
         "python3", "/usr/local/bin/mason-testsvc", "loop", "http://mason-proxy:15001/",
         "--count", "20000", "--rate", "40", "--seconds", "240", "--stop-file", stop],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(2)
        rotated = mason("pki", "rotate", pod.name, "--force", "--revoke",
                        project=pod.project, timeout=400)  # fmt: skip
        time.sleep(2)
    finally:
        in_container(pod.h(1), "mason-shop-web-1", "touch", stop, check=False)
        out, _ = loop.communicate(timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    after = _serials(pod)
    assert all(after[name] != before[name] for name in before), rotated.stderr[-2000:]
    assert result["ok"] > 40, result  # the loop really ran across the rotation
    assert result["failed"] == 0, result
    assert call_api(pod)["service"] == "api"
    # the old key of shop/web (copied off its host before) is refused now; its new one
    # (the module's from here on) is admitted
    api = pod.instances["shop-api-1"]
    tmp_path.chmod(0o700)
    new = fetch_pem(pod.h(1), f"{CERTS}/shop-web-1/proxy.pem", tmp_path / "shop-web.pem")
    old_get, new_get = (
        tls_get(api.address, api.proxy_port, ca=certs["ca"],
                server_name=api.identity.dns_name, bundle=bundle)
        for bundle in (certs["shop-web"], new)
    )  # fmt: skip
    assert "CERTIFICATE_REVOKED" in old_get, old_get
    assert new_get.startswith("HTTP/1.1 200"), new_get
    certs["shop-web"] = new


def test_ca_key_stays_on_the_manager_and_out_of_logs(pod: Pod):
    manager = pod.h(1)
    mode = on_host(manager, "stat", "-c", "%a %U %G", "/etc/mason/pki/ca/ca.key").stdout.split()
    assert mode == ["400", "root", "root"]
    assert on_host(manager, "stat", "-c", "%a", "/etc/mason/pki/ca").stdout.strip() == "700"
    key = on_host(manager, "cat", "/etc/mason/pki/ca/ca.key").stdout
    # 40 characters from inside one base64 line of the PEM (lines are 64 wide).
    lines = [line for line in key.splitlines() if line and "-----" not in line]
    needle = max(lines, key=len)[12:52]
    assert len(needle) == 40
    for host in pod.hosts:
        where = ["/etc", "/root", "/home", "/tmp", "/var/log", "/var/lib/docker/containers"]
        found = on_host(host, "grep", "-rlF", needle, *where, check=False)
        expected = {"/etc/mason/pki/ca/ca.key"} if host == manager else set()
        assert set(found.stdout.split()) == expected, (host, found.stdout)
        names = on_host(host, "find", "/", "-xdev", "-name", "ca.key", check=False).stdout.split()
        assert names == (["/etc/mason/pki/ca/ca.key"] if host == manager else []), (host, names)
        journal = on_host(host, "journalctl", "--no-pager", "-q", check=False).stdout
        assert needle not in journal
        assert "PRIVATE KEY" not in journal
    # Run artifacts: no private key of any kind, the CA's least of all.
    runs = pod.project / ".mason" / "runs"
    assert any(runs.iterdir())
    for path in runs.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert needle not in text, path
            assert "PRIVATE KEY" not in text, path


# -- issue 17: the holes an outside probe found, attacked the same way ---------------
PROBE = (
    "import socket,sys\n"
    "a, p = sys.argv[1], int(sys.argv[2])\n"
    "try:\n"
    "    c = socket.create_connection((a, p), timeout=4)\n"
    "    c.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
    "    c.settimeout(4)\n"
    "    print('open', c.recv(200).decode(errors='replace').split('\\r\\n')[0] or 'no answer')\n"
    "except OSError as e:\n"
    "    print('closed', type(e).__name__, e)\n"
)  # connect, send a plaintext GET, print 'open <status line>' or 'closed <why>'


def probe_from_host(host: str, address: str, port: int) -> str:
    return on_host(host, "python3", "-c", PROBE, address, str(port)).stdout.strip()


def probe_from_container(host: str, container: str, address: str, port: int) -> str:
    return in_container(host, container, "python3", "-c", PROBE, address, str(port)).stdout.strip()


def probe_from_network(pod: Pod, host: str, network: str, address: str, port: int) -> str:
    """From a fresh container on ``network`` of ``host`` (another tenant's foothold)."""
    return on_host(host, "docker", "run", "--rm", "--network", network, pod.images[TESTSVC],
                   "python3", "-c", PROBE, address, str(port)).stdout.strip()  # fmt: skip


def address_on(host: str, container: str, network: str) -> str:
    inspect = json.loads(on_host(host, "docker", "inspect", container).stdout)[0]
    return inspect["NetworkSettings"]["Networks"][network]["IPAddress"]


def test_link_listener_answers_only_its_own_service(pod: Pod):
    """Item 1: the caller's plaintext link listener, reached from the edge network or
    routed through the host from the pod network, would speak to api *as shop/web*."""
    web = pod.instances["shop-web-1"]
    h1, h2 = web.host, pod.h(2)
    edge_ip = address_on(h1, web.proxy_container, web.edge_network)
    # Control: from its own service container the listener answers, plaintext.
    own = probe_from_container(h1, web.container, "mason-proxy", 15001)
    assert own.startswith("open HTTP/1.1 200"), own
    # A container on the app's edge network, on the same host.
    edge = probe_from_network(pod, h1, web.edge_network, edge_ip, 15001)
    assert edge.startswith("closed"), edge
    # Another machine of the pod network routing the edge address via h1 (no
    # certificate at all): neither the link listener nor the TLS port answers.
    on_host(h2, "ip", "route", "replace", f"{edge_ip}/32", "via", pod.hosts[h1])
    try:
        routed = probe_from_host(h2, edge_ip, 15001)
        routed_tls = probe_from_host(h2, edge_ip, 8443)
        # Control: the same machine reaches the published port on h1 (DNATed).
        published = probe_from_host(h2, web.address, web.proxy_port)
    finally:
        on_host(h2, "ip", "route", "del", f"{edge_ip}/32", check=False)
    assert routed.startswith("closed"), routed
    assert routed_tls.startswith("closed"), routed_tls
    assert published.startswith("open"), published  # TLS port: answers, refuses plaintext


def test_tenant_containers_do_not_reach_their_hosts_own_addresses(pod: Pod):
    """Item 7: before any hardening, containers on 'internal' networks reached sshd."""
    web = pod.instances["shop-web-1"]
    h1 = web.host
    gateway = on_host(h1, "docker", "network", "inspect", web.network, "-f",
                      "{{(index .IPAM.Config 0).Gateway}}").stdout.strip()  # fmt: skip
    assert gateway
    # Control: sshd answers on both addresses from the host itself.
    for address in (gateway, pod.hosts[h1]):
        assert probe_from_host(h1, address, 22).startswith("open SSH-"), address
    for address in (gateway, pod.hosts[h1]):
        got = probe_from_container(h1, web.container, address, 22)
        assert got.startswith("closed"), (address, got)
        got = probe_from_network(pod, h1, web.edge_network, address, 22)
        assert got.startswith("closed"), (address, got)
    # Control: from the edge network the published proxy port of the host still answers.
    got = probe_from_network(pod, h1, web.edge_network, web.address, web.proxy_port)
    assert got.startswith("open"), got
    assert call_api(pod)["service"] == "api"


def test_a_silent_client_is_dropped_within_the_handshake_bound(pod, certs):
    """Item 5: a connection that never sends a ClientHello was held 300 s (maxconn 4096)."""
    api = pod.instances["shop-api-1"]
    started = time.monotonic()
    with socket.create_connection((api.address, api.proxy_port), timeout=30) as idle:
        # Control, meanwhile: a real client gets through.
        ok = tls_get(api.address, api.proxy_port, ca=certs["ca"],
                     server_name=api.identity.dns_name, bundle=certs["shop-web"])  # fmt: skip
        assert ok.startswith("HTTP/1.1 200"), ok
        try:
            data = idle.recv(1)
        except TimeoutError:
            data = b"<still open after 30 s>"
    waited = time.monotonic() - started
    assert data == b"" and waited < 15, (data, waited)


def _misissued(pod: Pod, cn: list[str], uri: str, tmp: Path) -> Path:
    """A certificate the pod CA signs directly on the manager (a mis-issue): subject ``cn``
    (one CN each), SANs of ``uri`` (its URI and DNS name), its key made there; returned
    as a 0600 bundle."""
    script = (
        "import sys, json\n"
        "from cryptography import x509\n"
        "from cryptography.hazmat.primitives import hashes, serialization\n"
        "from cryptography.hazmat.primitives.asymmetric import ec\n"
        "from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID\n"
        "import datetime as dt\n"
        "cns, uri, dns = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
        "d = '/etc/mason/pki/ca/'\n"
        "ca = x509.load_pem_x509_certificate(open(d + 'ca.pem', 'rb').read())\n"
        "ca_key = serialization.load_pem_private_key(open(d + 'ca.key', 'rb').read(), None)\n"
        "key = ec.generate_private_key(ec.SECP256R1())\n"
        "now = dt.datetime.now(dt.timezone.utc)\n"
        "cert = (x509.CertificateBuilder()\n"
        "  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, c) for c in cns]))\n"
        "  .issuer_name(ca.subject).public_key(key.public_key())\n"
        "  .serial_number(x509.random_serial_number())\n"
        "  .not_valid_before(now - dt.timedelta(minutes=1))\n"
        "  .not_valid_after(now + dt.timedelta(hours=1))\n"
        "  .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri),\n"
        "      x509.DNSName(dns)]), critical=False)\n"
        "  .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),\n"
        "      critical=False)\n"
        "  .sign(ca_key, hashes.SHA256()))\n"
        "sys.stdout.buffer.write(cert.public_bytes(serialization.Encoding.PEM)\n"
        "  + key.private_bytes(\n"
        "  serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,\n"
        "  serialization.NoEncryption()))\n"
    )
    dns = pki.Identity.parse(uri).dns_name
    pem = on_host(pod.h(1), "python3", "-c", script, json.dumps(cn), uri, dns).stdout
    path = tmp / f"misissued-{len(list(tmp.iterdir()))}.pem"
    path.write_text(pem)
    path.chmod(0o600)
    return path


def test_inbound_authorises_on_the_uri_and_one_matching_cn(pod, certs, tmp_path):
    """Items 4 and 3 at the proxy: a CN alone (or a second CN) no longer admits anyone."""
    tmp_path.chmod(0o700)
    api = pod.instances["shop-api-1"]
    web, blog = f"spiffe://{pod.name}/shop/web", f"spiffe://{pod.name}/blog/web"

    def get(cn: list[str], uri: str) -> str:
        bundle = _misissued(pod, cn, uri, tmp_path)
        return tls_get(api.address, api.proxy_port, ca=certs["ca"],
                       server_name=api.identity.dns_name, bundle=bundle)  # fmt: skip

    # Control: the same mis-issuing path with the linked CN and URI together is admitted.
    assert get([web], web).startswith("HTTP/1.1 200")
    # The linked CN with another identity's URI: refused (was admitted on the CN alone).
    assert get([web], blog).startswith("refused")
    # The linked URI under another identity's CN: refused.
    assert get([blog], web).startswith("refused")
    # Two CNs, the linked one first (HAProxy reads the first): refused.
    assert get([web, blog], web).startswith("refused")


def _csr_pem(pod: Pod, subject: list[str], *extensions) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    ident = pki.Identity(pod.name, "shop", "web")
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in subject])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(ident.spiffe_id), x509.DNSName(ident.dns_name)]
        ),
        critical=False,
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    csr = builder.sign(pki.new_private_key(), hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _leaf_profile(key_cert_sign: bool = False, ca: bool = False):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    usages = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "crl_sign", "encipher_only", "decipher_only"), False)  # fmt: skip
    return [
        (x509.BasicConstraints(ca=ca, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=key_cert_sign, **usages), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ]  # fmt: skip


def test_manager_signs_only_one_cn_and_the_leaf_profile(pod, tmp_path):
    """Items 3 and 6: the CSR a compromised worker hands the manager's signer."""
    tmp_path.chmod(0o700)
    ident = pki.Identity(pod.name, "shop", "web")
    request = {"name": "attack", **ident.to_dict()}
    blog = f"spiffe://{pod.name}/blog/web"

    csrs = {
        # Control: the profile the hosts' requests carry.
        "control": _csr_pem(pod, [ident.common_name], *_leaf_profile()),
        # Two CNs (the manager read the last, HAProxy the first), in either order.
        "two-cns-linked-last": _csr_pem(pod, [blog, ident.common_name], *_leaf_profile()),
        "two-cns-linked-first": _csr_pem(pod, [ident.common_name, blog], *_leaf_profile()),
        # keyCertSign, or CA:TRUE.
        "key-cert-sign": _csr_pem(pod, [ident.common_name], *_leaf_profile(key_cert_sign=True)),
        "ca-true": _csr_pem(pod, [ident.common_name], *_leaf_profile(ca=True)),
    }
    proc = run_test_playbook(pod, "sign_test_csr.yml",
                             {"test_request": request, "test_csrs": csrs}, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = json.loads(on_host(pod.h(1), "cat", "/root/mason-test-signed.json").stdout)
    on_host(pod.h(1), "rm", "-f", "/root/mason-test-signed.json")
    cert = pki.load_cert(out.pop("control"))
    assert pki.identity_of(cert) == ident.spiffe_id
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for label, outcome in out.items():
        assert outcome.startswith("refused: "), (label, outcome[:200])
        assert "refusing to sign attack" in outcome, (label, outcome[:2000])
