"""`mason up` / `mason app deploy` on a real local pod: the sample app answers through its
edge and mTLS proxies with data in PostgreSQL and Redis; redeploys change nothing; every
container carries the CIS Docker section 5 settings; apps cannot read each other's data."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, unique_pod_name
from tests.integration.conftest import Deployed, mason

pytestmark = pytest.mark.integration

GUESTBOOK = REPO / "examples" / "guestbook"


def get(url: str, timeout: float = 10) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - the pod's own address
        return json.loads(resp.read())


def test_the_sample_app_answers_on_every_host_with_its_data(deployed: Deployed):
    urls = deployed.up["endpoints"]
    assert len(urls) == 3 and all(u.endswith(":8080/") for u in urls)
    signed = get(urls[0] + "sign?msg=hello-from-test")
    assert signed["id"] >= 1
    seen = [get(u) for u in urls]
    # the message stored in PostgreSQL through one host is read back through the others
    assert all("hello-from-test" in s["messages"] for s in seen)
    # visits counted in Redis: one counter, increasing, whichever replica served
    visits = [s["visits"] for s in seen]
    assert visits == sorted(visits) and len(set(visits)) == 3
    # two replicas in two zones
    web = [
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.service") == "web" and c["labels"].get("mason.part") == "service"
    ]
    zones = {deployed.hosts[c["host"]]["zone"] for c in web}
    assert len(web) == 2 and len(zones) == 2


def test_running_up_again_changes_nothing(deployed: Deployed, tmp_path: Path):
    before = {n: c["started"] for n, c in deployed.containers().items()}
    proc = deployed.mason("--json", "up", "--pod", deployed.name)
    again = json.loads(proc.stdout.strip().splitlines()[-1])
    assert again["deployed"] is False and again["hardened_now"] is False
    assert again["plan"]["counts"]["keep"] == 2
    assert {n: c["started"] for n, c in deployed.containers().items()} == before
    # the nightly check of a pod that runs apps: the ports they publish (dockerd holds
    # them itself) are not a daemon TCP socket (MSN-DKR-07 reported them as drift)
    report = tmp_path / "docker.json"
    deployed.mason(
        "harden", deployed.name, "--check", "--only", "docker", "--report", "json", str(report)
    )
    (control,) = [c for c in json.loads(report.read_text())["controls"] if c["id"] == "MSN-DKR-07"]
    assert {h: v["status"] for h, v in control["hosts"].items()} == dict.fromkeys(
        deployed.hosts, "pass"
    ), control


def test_a_forced_redeploy_changes_nothing_on_any_host(deployed: Deployed):
    before = {n: c["id"] for n, c in deployed.containers().items()}
    app = str(GUESTBOOK / "guestbook.yml")
    proc = deployed.mason(
        "--json", "app", "deploy", app, "--pod", deployed.name, "--yes", "--force"
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["run"]["status"] == "successful"
    # A forced run is a deploy: it takes the lock and records a release on the manager.
    # Nothing else changes anywhere.
    changed = set()
    for path in Path(result["run"]["artifact_dir"]).glob("job_events/*.json"):
        data = json.loads(path.read_text()).get("event_data", {})
        if (data.get("res") or {}).get("changed"):
            changed.add(data.get("task", ""))
    assert changed and all(t.startswith("Ledger ") for t in changed), sorted(changed)
    assert {n: c["id"] for n, c in deployed.containers().items()} == before


def test_every_app_container_has_the_cis_section_5_settings(deployed: Deployed):
    services = [
        c for c in deployed.containers().values() if c["labels"].get("mason.part") == "service"
    ]
    assert {c["labels"]["mason.service"] for c in services} == {"web", "postgresql", "redis"}
    for c in services:
        i, hc = c["inspect"], c["inspect"]["HostConfig"]
        name = i["Name"]
        assert hc["CapDrop"] == ["ALL"], name
        assert not hc["CapAdd"], name
        assert hc["Privileged"] is False, name
        assert hc["ReadonlyRootfs"] is True, name
        assert "no-new-privileges" in hc["SecurityOpt"], name
        assert hc["Memory"] > 0 and hc["NanoCpus"] > 0 and hc["PidsLimit"] > 0, name
        assert hc["NetworkMode"].startswith("mason-"), name  # its private network, never host
        assert (
            hc["PidMode"] == ""
            and hc["UTSMode"] == ""
            and hc["IpcMode"] in ("private", "shareable")
        ), name
        assert not hc["PortBindings"], name  # only proxies and edges publish ports
        assert hc["RestartPolicy"]["Name"] == "unless-stopped", name
        assert hc["Init"] is True, name  # stops on its signal (test_a_replica_stops_when_asked)
        assert all("docker.sock" not in (m.get("Source") or "") for m in i["Mounts"]), name
        assert i["Config"]["User"] not in ("", "root", "0"), name
        assert i["Config"]["Healthcheck"]["Test"][0] == "CMD", name
        assert i["State"]["Health"]["Status"] == "healthy", name
        assert i["Config"]["Labels"]["mason.image"] == i["Config"]["Image"], name


def test_a_replica_stops_on_its_signal(deployed: Deployed):
    """The guestbook sets no SIGTERM handler. Run as PID 1 it would ignore the signal and
    every stop (a rollout's, a scale's, a heal's) would end in SIGKILL after Docker's 10 s
    (exit 137). Under Docker's init it ends on the signal itself (128 + 15)."""
    web = next(
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.service") == "web" and c["labels"].get("mason.part") == "service"
    )
    name, host = web["inspect"]["Name"].lstrip("/"), web["host"]
    deployed.on_host(host, "docker", "stop", name)
    try:
        code = deployed.on_host(host, "docker", "inspect", "-f", "{{.State.ExitCode}}", name)
        assert code.stdout.strip() == "143", code.stdout
    finally:
        deployed.on_host(host, "docker", "start", name)
    status = ""
    for _ in range(30):  # healthy again before the next test (the edge routed around it)
        status = deployed.on_host(
            host, "docker", "inspect", "-f", "{{.State.Health.Status}}", name
        ).stdout.strip()
        if status == "healthy":
            break
        time.sleep(2)
    assert status == "healthy", status


def test_addon_passwords_never_reach_the_controller(deployed: Deployed):
    host = next(
        c["host"]
        for c in deployed.containers().values()
        if c["labels"].get("mason.service") == "web" and c["labels"].get("mason.part") == "service"
    )
    name = next(
        n
        for n, c in deployed.containers().items()
        if c["host"] == host
        and c["labels"].get("mason.service") == "web"
        and c["labels"].get("mason.part") == "service"
    )
    env = dict(e.split("=", 1) for e in deployed.containers()[name]["inspect"]["Config"]["Env"])
    password = env["MASON_POSTGRESQL_PASSWORD"]
    assert len(password) == 48
    runs = deployed.project / ".mason" / "runs"
    leaks = [p for p in runs.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert leaks == []
    secret = deployed.on_host(
        deployed.host(1), "stat", "-c", "%a %U", "/etc/mason/secrets/guestbook/postgresql"
    )
    assert secret.stdout.split() == ["600", "root"]


@pytest.fixture(scope="module")
def other_app(deployed: Deployed, tmp_path_factory) -> Path:
    """A second app, 'other', built from the same web service, using PostgreSQL only."""
    root = tmp_path_factory.mktemp("other")
    shutil.copytree(GUESTBOOK / "web", root / "web")
    text = (GUESTBOOK / "guestbook.yml").read_text()
    text = text.replace("name: guestbook", "name: other").replace(
        "addons: [postgresql, redis]", "addons: [postgresql]"
    )
    text = (
        text.replace('"8080:8080"', '"8081:8080"')
        .replace("replicas: 2", "replicas: 1")
        .replace("    ha: zone\n", "")
    )
    (root / "other.yml").write_text(text)
    deployed.mason("app", "deploy", str(root / "other.yml"), "--pod", deployed.name, "--yes")
    return root


def _in_other(deployed: Deployed, code: str):
    c = next(
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.app") == "other" and c["labels"].get("mason.part") == "service"
    )
    return deployed.on_host(
        c["host"],
        "docker",
        "exec",
        c["inspect"]["Name"].lstrip("/"),
        "python3",
        "-c",
        code,
        check=False,
    )


def test_an_app_reaches_its_own_database_but_not_another_apps(deployed: Deployed, other_app: Path):
    own = _in_other(
        deployed,
        "import os, psycopg2\n"
        "psycopg2.connect(os.environ['MASON_POSTGRESQL_URL']).close()\n"
        "print('own ok')",
    )
    assert "own ok" in own.stdout, own.stderr
    theirs = _in_other(
        deployed,
        "import os, psycopg2\n"
        "url = os.environ['MASON_POSTGRESQL_URL'].rsplit('/', 1)[0] + '/guestbook'\n"
        "psycopg2.connect(url)\n",
    )
    assert theirs.returncode != 0 and "guestbook" in theirs.stderr, theirs.stderr


def test_an_app_without_an_addon_has_no_way_to_it(deployed: Deployed, other_app: Path):
    # 'other' did not ask for redis: no variable, and its proxy has no listener for it
    code = "import os; print('MASON_REDIS_URL' in os.environ)"
    assert _in_other(deployed, code).stdout.strip() == "False"
    c = next(
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.app") == "addons"
        and c["labels"].get("mason.service") == "redis"
        and c["labels"].get("mason.part") == "proxy"
    )
    port = int(c["labels"]["mason.proxy_port"])
    address = deployed.address(c["host"])
    # straight at the redis proxy's published port: TLS with a client certificate is required
    probe = _in_other(
        deployed,
        f"import socket; s = socket.create_connection(('{address}', {port}), 5); "
        "s.sendall(b'PING\\r\\n'); print(repr(s.recv(100)))",
    )
    assert "PONG" not in probe.stdout


def _key_of_a(deployed: Deployed, app: str, dest: Path) -> Path:
    """A copy of the certificate and key of one of ``app``'s web replicas."""
    c = next(
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.app") == app
        and c["labels"].get("mason.service") == "web"
        and c["labels"].get("mason.part") == "service"
    )
    return deployed.key_of(c["host"], c["inspect"]["Name"].removeprefix("/mason-"), dest)


def test_remove_purge_drops_the_app_its_database_and_its_certificates(
    deployed: Deployed, other_app: Path, tmp_path: Path
):
    # a copy of 'other's key outlives the app (a backup, a host that was away): while
    # the app runs, it reaches PostgreSQL's sidecar as 'other' (the positive control)
    stolen = _key_of_a(deployed, "other", tmp_path / "other")
    assert deployed.probe_postgresql(stolen) == "answered"
    deployed.mason("app", "remove", "other", "--pod", deployed.name, "--purge", "--yes")
    # revoked at once, not valid until it expires: the sidecar refuses it in the handshake
    assert "CERTIFICATE_REVOKED" in deployed.probe_postgresql(stolen)
    assert deployed.probe_postgresql(_key_of_a(deployed, "guestbook", tmp_path / "gb")) == (
        "answered"
    )
    assert not [
        c for c in deployed.containers().values() if c["labels"].get("mason.app") == "other"
    ]
    pg = next(
        c
        for c in deployed.containers().values()
        if c["labels"].get("mason.service") == "postgresql"
        and c["labels"].get("mason.part") == "service"
    )
    roles = deployed.on_host(
        pg["host"],
        "docker",
        "exec",
        pg["inspect"]["Name"].lstrip("/"),
        "psql",
        "-tA",
        "-d",
        "postgres",
        "-c",
        "select rolname from pg_roles",
    )
    assert "other" not in roles.stdout.split() and "guestbook" in roles.stdout.split()
    # the guestbook still answers
    assert get(deployed.up["endpoints"][0])["app"] == "guestbook"


def test_reloaded_proxies_leave_no_old_worker_behind(deployed: Deployed):
    """Deploying and removing 'other' reloaded the PostgreSQL sidecar twice (its admitted
    callers changed). An old worker that never stops keeps taking connections with the
    old configuration (a removed caller still admitted, a drained server still used):
    each proxy and edge must come back to one master and one worker, within the
    60 s an old worker is given to finish its sessions."""
    counts: dict[str, int] = {}
    for _ in range(45):
        counts = deployed.haproxy_processes()
        if counts and all(n == 2 for n in counts.values()):
            break
        time.sleep(2)
    assert counts and all(n == 2 for n in counts.values()), counts


def test_status_and_list_read_what_runs(deployed: Deployed):
    status = json.loads(
        deployed.mason("--json", "app", "status", "guestbook", "--pod", deployed.name)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert [r["health"] for r in status["replicas"]] == ["healthy", "healthy"]
    apps = json.loads(
        deployed.mason("--json", "app", "list", "--pod", deployed.name)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert {a["app"] for a in apps} >= {"guestbook", "addons"}


def test_bad_deploys_change_nothing(deployed: Deployed, tmp_path: Path):
    before = {n: c["id"] for n, c in deployed.containers().items()}
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\naddons: [nosuchdb]\nservices:\n  web: {image: x, ports: [80]}\n")
    proc = deployed.mason("app", "deploy", str(bad), "--pod", deployed.name, "--yes", check=False)
    assert proc.returncode == 3 and "nosuchdb" in proc.stderr, proc.stderr
    huge = tmp_path / "huge.yml"
    shutil.copytree(GUESTBOOK / "web", tmp_path / "web")
    huge.write_text(
        (GUESTBOOK / "guestbook.yml")
        .read_text()
        .replace("name: guestbook", "name: huge")
        .replace("cpu: 200m", "cpu: 64")
        .replace('"8080:8080"', '"8082:8080"')
    )
    proc = deployed.mason("app", "deploy", str(huge), "--pod", deployed.name, "--yes", check=False)
    assert proc.returncode == 9 and "fit nowhere" in proc.stderr, proc.stderr
    assert {n: c["id"] for n, c in deployed.containers().items()} == before


def test_an_unhardened_pod_is_refused(engine, tmp_path: Path):
    name = unique_pod_name("u")
    try:
        mason("pod", "create", name, "--hosts", "1", project=tmp_path)
        proc = mason(
            "app",
            "deploy",
            str(GUESTBOOK / "guestbook.yml"),
            "--pod",
            name,
            "--yes",
            project=tmp_path,
            check=False,
        )
        assert proc.returncode == 5 and "not hardened" in proc.stderr, proc.stderr
    finally:
        mason("pod", "destroy", name, "--yes", project=tmp_path, check=False)
