"""Operating an app on a real pod: a bad release is reverted by itself, scaling up
restarts nothing else, a rolling update of 6 replicas over 3 zones under load drops no
request, the ledger records and verifies every release, rollback runs a recorded release by
digest, a second deploy is refused while one holds the lock, a host that restarts brings
back what it ran, and heal re-places a lost host's replicas."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from mason.operations.deploy import release_manifest_hash
from tests.conftest import REPO
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

GUESTBOOK = REPO / "examples" / "guestbook"


class Client(threading.Thread):
    """Calls the app's public port in a loop (bounded), counting what failed; given
    several addresses, each in turn."""

    def __init__(self, urls: str | list[str], limit: float = 900) -> None:
        super().__init__(daemon=True)
        self.urls = [urls] if isinstance(urls, str) else urls
        self.limit = limit
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        end = time.monotonic() + self.limit
        calls = itertools.cycle(self.urls)
        while not self.stop.is_set() and time.monotonic() < end:
            started = time.monotonic()
            try:
                with urllib.request.urlopen(next(calls), timeout=10) as resp:  # noqa: S310
                    json.loads(resp.read())
                self.ok += 1
                self.latencies.append(time.monotonic() - started)
            except Exception as exc:  # every kind of failure counts
                self.failed += 1
                self.errors.append(repr(exc)[:120])
            time.sleep(0.05)


def variant(root: Path, code: str = "", **replace: str) -> Path:
    """The guestbook's manifest with some text replaced, beside a copy of its web service
    (``code`` appended to its program: another image)."""
    if not (root / "web").exists():
        shutil.copytree(GUESTBOOK / "web", root / "web")
    if code:
        with (root / "web" / "guestbook.py").open("a") as program:
            program.write(code)
    text = (GUESTBOOK / "guestbook.yml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = root / "guestbook.yml"
    path.write_text(text)
    return path


def releases(deployed: Deployed) -> dict:
    proc = deployed.mason(
        "--json", "app", "releases", "guestbook", "--pod", deployed.name, check=False
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def web_containers(deployed: Deployed) -> dict[str, dict]:
    return {
        n: c
        for n, c in deployed.containers().items()
        if c["labels"].get("mason.service") == "web" and c["labels"].get("mason.part") == "service"
    }


def scale(deployed: Deployed, n: str, manifest: Path = GUESTBOOK / "guestbook.yml", check=True):
    return deployed.mason(
        "app", "scale", str(manifest), "web", n, "--pod", deployed.name, "--yes", check=check
    )  # fmt: skip


def unchanged(before: dict[str, dict], now: dict[str, dict]) -> list[str]:
    """Containers of ``before`` that ``now`` runs restarted or replaced."""
    return [
        n for n, c in before.items() if (now[n]["id"], now[n]["started"]) != (c["id"], c["started"])
    ]


@pytest.fixture(scope="module")
def release_2(tmp_path_factory) -> Path:
    """The guestbook's next release: another image, 6 replicas (two in each zone: the
    edge holds the public port, so replicas of a public service share hosts)."""
    return variant(
        tmp_path_factory.mktemp("release2"),
        "# release 2\n",
        **{
            "replicas: 2": "replicas: 6",
            "    security:\n": '    env:\n      GUESTBOOK_VERSION: "2"\n    security:\n',
        },
    )


def test_a_release_that_fails_its_health_gate_is_reverted_by_itself(
    deployed: Deployed, tmp_path: Path
):
    """At the 2 replicas test_deploy leaves (a revert is the same at 6, and costs less
    here): only its health check changes."""
    before = {n: c["id"] for n, c in web_containers(deployed).items()}
    count = len(releases(deployed)["releases"])
    manifest = variant(
        tmp_path,
        **{
            "test: [python3, /app/guestbook.py, --check]": (
                "test: [python3, -c, 'raise SystemExit(1)']"
            ),
        },
    )
    client = Client(deployed.up["endpoints"][1])
    client.start()
    proc = deployed.mason(
        "app", "deploy", str(manifest), "--pod", deployed.name, "--yes", check=False
    )
    client.stop.set()
    client.join()
    assert proc.returncode == 6 and "reverted" in proc.stderr, proc.stderr
    # the previous release serves throughout, from the very containers it ran in
    assert client.failed == 0, client.errors[:5]
    assert {n: c["id"] for n, c in web_containers(deployed).items()} == before
    assert all(
        c["inspect"]["State"]["Health"]["Status"] == "healthy"
        for c in web_containers(deployed).values()
    )
    # started first, the failed containers ran beside the old ones, which were never
    # stopped; nothing of the attempt is left
    assert not [n for n in deployed.containers() if n.endswith((".prev", ".next"))]
    # the ledger records the failed attempt: reverted, why, and the release it returned to
    ledger = releases(deployed)
    assert ledger["verified"], ledger["problems"]
    assert len(ledger["releases"]) == count + 1
    before_it, revert = ledger["releases"][-2], ledger["releases"][-1]
    assert revert["kind"] == "revert" and revert["changes"] == [], revert
    assert "failed its health gate" in revert["note"] and "did not become healthy" in revert["note"]
    assert revert["note"].endswith(f"back to release {before_it['number']}"), revert["note"]
    table = deployed.mason("app", "releases", "guestbook", "--pod", deployed.name).stdout
    assert "revert" in table and "verified" in table, table
    print(table)


def test_scale_up_starts_replicas_and_restarts_nothing_else(deployed: Deployed):
    # scale runs the newest release, whose manifest must be the one given (test_deploy
    # leaves it; a forced deploy records it when a test ran alone left another)
    ledger = releases(deployed)
    if ledger["releases"][-1]["manifest_hash"] != release_manifest_hash(
        GUESTBOOK / "guestbook.yml"
    ):
        deployed.mason(
            "app", "deploy", str(GUESTBOOK / "guestbook.yml"), "--pod", deployed.name,
            "--yes", "--force",
        )  # fmt: skip
        ledger = releases(deployed)
    before = deployed.containers()
    count = len(ledger["releases"])
    # a bad count: one line, its exit code, nothing changed
    for bad, code in (("0", 3), ("-1", 3), ("two", 3), ("40", 9)):
        proc = scale(deployed, bad, check=False)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("mason: error:")]
        assert proc.returncode == code and len(errors) == 1, (bad, proc.stderr)
    assert not unchanged(before, deployed.containers())
    started = time.monotonic()
    print(scale(deployed, "6").stdout)
    took = time.monotonic() - started
    webs = web_containers(deployed)
    zones = [deployed.hosts[c["host"]]["zone"] for c in webs.values()]
    assert len(webs) == 6 and sorted(Counter(zones).values()) == [2, 2, 2], zones
    # no container that ran was restarted or replaced: replicas, sidecars, addons, edges
    assert not unchanged(before, deployed.containers())
    for host in deployed.hosts:
        assert "messages" in answers(endpoint(deployed, host))
    ledger = releases(deployed)
    assert ledger["verified"], ledger["problems"]
    (up,) = ledger["releases"][count:]
    assert up["kind"] == "scale" and up["note"].startswith("web: 2 -> 6"), up
    assert [len(c["added"]) for c in up["changes"]] == [4]
    print(f"scale web 2 -> 6: {took:.1f}s")


def test_a_rolling_update_of_6_replicas_over_3_zones_fails_no_request(
    deployed: Deployed, release_2: Path
):
    before = web_containers(deployed)
    assert len(before) == 6
    # the client calls every host's public port in turn
    client = Client([endpoint(deployed, h) for h in deployed.hosts])
    client.start()
    time.sleep(2)
    started = time.monotonic()
    proc = deployed.mason(
        "--json", "app", "deploy", str(release_2), "--pod", deployed.name, "--yes",
        "--max-parallel", "2",
    )  # fmt: skip
    took = time.monotonic() - started
    client.stop.set()
    client.join()
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\n".join(result["rollout"]))
    # one zone at a time, two replicas a batch: the two of each zone together
    assert len(result["rollout"]) == 3, result["rollout"]
    for line in result["rollout"]:
        assert len(set(re.findall(r"\((zone-\w+),", line))) == 1 and line.count("web#") == 2, line
    after = web_containers(deployed)
    assert len(after) == 6
    assert {c["id"] for c in after.values()}.isdisjoint({c["id"] for c in before.values()})
    assert client.failed == 0, client.errors[:5]
    assert client.ok > 20
    latencies = sorted(client.latencies)
    print(
        f"rollout of 6 replicas: {took:.1f}s, {client.ok} requests, 0 failed, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms"
    )
    ledger = releases(deployed)
    assert ledger["verified"] and ledger["releases"][-1]["kind"] == "deploy"


def web_images(deployed: Deployed) -> set[str]:
    return {c["inspect"]["Config"]["Image"] for c in web_containers(deployed).values()}


def test_rollback_runs_a_recorded_release_by_digest(deployed: Deployed):
    """After the rolling update of 6 replicas (another image): back to release 1, its
    image and its 2 replicas, one in each of two zones (the 4 removed leave the two that
    stay where they ran: test_scale.py shows the plan)."""
    ledger = releases(deployed)
    first = ledger["releases"][0]
    assert web_images(deployed) != {first["images"]["web"]}  # release 2's image runs
    deployed.mason(
        "app",
        "rollback",
        str(GUESTBOOK / "guestbook.yml"),
        "--pod",
        deployed.name,
        "--to",
        str(first["number"]),
        "--yes",
    )
    ledger = releases(deployed)
    newest = ledger["releases"][-1]
    assert ledger["verified"] and newest["kind"] == "rollback", newest
    # release 1's image, by digest, on every replica (nothing was built), as many as then
    assert web_images(deployed) == {first["images"]["web"]}
    webs = web_containers(deployed)
    assert len(webs) == 2 and len({deployed.hosts[c["host"]]["zone"] for c in webs.values()}) == 2
    assert "@sha256:" in first["images"]["web"]


def test_deny_weaker_refuses_a_capability_before_anything_changes(
    deployed: Deployed, tmp_path: Path
):
    manifest = variant(
        tmp_path,
        **{"      user: guestbook\n": "      user: guestbook\n      capabilities: [SETUID]\n"},
    )
    before = {n: c["started"] for n, c in deployed.containers().items()}
    count = len(releases(deployed)["releases"])
    plan = deployed.mason("--json", "app", "plan", str(manifest), "--pod", deployed.name)
    planned = json.loads(plan.stdout.strip().splitlines()[-1])
    posture = planned["posture"]
    # placed against what runs (read off the hosts): the running replicas stay
    assert {p["action"] for p in planned["placements"]} == {"keep"}, planned["placements"]
    assert posture["weaker"] and posture["changes"][0]["text"] == (
        "web: capability SETUID added (weaker)"
    ), posture
    proc = deployed.mason(
        "app",
        "deploy",
        str(manifest),
        "--pod",
        deployed.name,
        "--yes",
        "--deny-weaker",
        check=False,
    )
    assert proc.returncode == 11, proc.stderr
    print(proc.stdout, proc.stderr)
    print(deployed.mason("app", "plan", str(manifest), "--pod", deployed.name).stdout)
    assert "web: capability SETUID added (weaker)" in proc.stderr and "nothing was changed" in (
        proc.stderr
    )
    assert {n: c["started"] for n, c in deployed.containers().items()} == before
    assert len(releases(deployed)["releases"]) == count


def test_a_second_deploy_is_refused_while_the_lock_is_held(deployed: Deployed):
    manager = deployed.host(1)
    claim = json.dumps(
        {
            "app": "guestbook",
            "who": "alice@laptop",
            "when": "2026-12-03T07:00:00Z",
            "run_id": "other-run",
        }
    )
    deployed.on_host(
        manager,
        "sh",
        "-c",
        f"umask 077; mkdir -p /etc/mason/locks; echo '{claim}' > /etc/mason/locks/guestbook.json",
    )
    try:
        proc = deployed.mason(
            "app",
            "deploy",
            str(GUESTBOOK / "guestbook.yml"),
            "--pod",
            deployed.name,
            "--yes",
            "--force",
            check=False,
        )
        assert proc.returncode == 6 and "alice@laptop" in proc.stderr, proc.stderr
    finally:
        deployed.on_host(manager, "rm", "-f", "/etc/mason/locks/guestbook.json")


def test_an_edited_record_is_caught(deployed: Deployed):
    manager = deployed.host(1)
    path = "/etc/mason/releases/guestbook/000001.json"
    deployed.on_host(manager, "sed", "-i", 's/"deploy"/"rollback"/', path)
    ledger = releases(deployed)
    assert not ledger["verified"] and any("edited" in p for p in ledger["problems"]), ledger


def answers(url: str, tries: int = 60) -> dict:
    """The app's answer at ``url``, waiting (bounded) while a host comes back."""
    last: Exception | None = None
    for _ in range(tries):
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310
                return json.loads(resp.read())
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(2)
    raise AssertionError(f"{url} never answered: {last!r}")


def endpoint(deployed: Deployed, host: str) -> str:
    return f"http://{deployed.address(host)}:8080/"


def running_on(deployed: Deployed, host: str) -> dict[str, str]:
    """Each mason container running on ``host``, name -> id, as its engine lists them
    (listed per host: every host runs an edge of the same name). Empty while the host's
    engine is not answering."""
    proc = deployed.on_host(
        host, "docker", "ps", "--filter", "label=mason.app", "--format", "{{.Names}} {{.ID}}",
        check=False,
    )  # fmt: skip
    return dict(line.split() for line in proc.stdout.splitlines()) if proc.returncode == 0 else {}


def test_a_host_that_restarts_brings_back_everything_it_ran(deployed: Deployed):
    """No heal, no deploy: the host's systemd starts its engine, which starts its
    replicas, sidecars and edge again (their restart policy), and the app answers there."""
    host = deployed.host(2)
    before = running_on(deployed, host)
    parts = {n.split("-")[1] for n in before}
    assert "edge" in parts and len(before) >= 3, before
    count = len(releases(deployed)["releases"])
    subprocess.run(["docker", "restart", "-t", "10", f"mason-{host}"], check=True, timeout=120)
    assert "messages" in answers(endpoint(deployed, host), tries=60)
    deadline = time.monotonic() + 120
    while running_on(deployed, host) != before and time.monotonic() < deadline:
        time.sleep(2)
    # the very containers it ran (restarted, not replaced), and nothing else
    assert running_on(deployed, host) == before
    for h in deployed.hosts:
        assert "messages" in answers(endpoint(deployed, h))
    assert len(releases(deployed)["releases"]) == count  # nothing was redeployed


def test_heal_replaces_a_lost_hosts_replicas_and_a_returning_host_rejoins(
    deployed: Deployed, tmp_path: Path
):
    """Last user of the shared pod in this module: it stops a host and brings it back."""
    stateful = {"postgresql", "redis"}
    webs = web_containers(deployed)
    addon_hosts = {
        c["host"]
        for c in deployed.containers().values()
        if c["labels"].get("mason.app") == "addons"
        and c["labels"].get("mason.part") == "service"
        and c["labels"].get("mason.service") in stateful
    }
    workers = sorted({c["host"] for c in webs.values()} - {deployed.host(1)})
    assert workers, webs
    # a worker that runs only web replicas when there is one, else one that holds data too
    victim = next((h for h in workers if h not in addon_hosts), workers[0])
    holds_data = victim in addon_hosts
    others = [h for h in deployed.hosts if h != victim]
    # the lost host's key (the host may have been taken): it reaches PostgreSQL today
    lost_web = next(n for n, c in webs.items() if c["host"] == victim).removeprefix("mason-")
    stolen = deployed.key_of(victim, lost_web, tmp_path / "lost")
    assert deployed.probe_postgresql(stolen, avoid=victim) == "answered"
    subprocess.run(["docker", "stop", "-t", "5", f"mason-{victim}"], check=True, timeout=60)
    try:
        if holds_data:
            # its database would start empty elsewhere: refused, with the reason
            proc = deployed.mason("--json", "pod", "heal", deployed.name, "--yes", check=False)
            assert proc.returncode == 8, proc.stderr
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            assert "data on a lost host" in out["apps"][0]["degraded"]
        started = time.monotonic()
        extra = ["--move-stateful"] if holds_data else []
        proc = deployed.mason("--json", "pod", "heal", deployed.name, "--yes", *extra)
        took = time.monotonic() - started
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert victim in out["lost"] and out["healed"] == ["guestbook"], out
        # two web replicas again, on two surviving hosts in two zones (anti-affinity holds)
        now = web_containers(deployed)
        hosts = [c["host"] for c in now.values()]
        assert len(now) == 2 and victim not in hosts and len(set(hosts)) == 2
        assert len({deployed.hosts[h]["zone"] for h in hosts}) == 2
        # replicas that were not on the lost host were not restarted
        for name, c in webs.items():
            if c["host"] != victim:
                assert now[name]["id"] == c["id"], name
        for host in others:
            assert "messages" in answers(endpoint(deployed, host))
        ledger = releases(deployed)
        assert ledger["releases"][-1]["kind"] == "heal", ledger["releases"][-1]
        print(f"heal after losing {victim}: {took:.1f}s")
        # the heal revoked the lost host's certificates: its key is refused everywhere
        assert "CERTIFICATE_REVOKED" in deployed.probe_postgresql(stolen, avoid=victim)
    finally:
        subprocess.run(["docker", "start", f"mason-{victim}"], check=True, timeout=60)
    # the host came back by itself with its old containers, sidecars and edge, which
    # the other hosts' proxies now refuse; a heal removes the copies it still runs and
    # gives it fresh certificates: it answers again, as every host does
    # the preview sees what heal will do: the returning host's copies are stale, the
    # replicas the newest release runs stay where they are
    plan = deployed.mason(
        "--json", "app", "plan", str(GUESTBOOK / "guestbook.yml"), "--pod", deployed.name
    )  # fmt: skip
    webs_planned = [
        p for p in json.loads(plan.stdout.strip().splitlines()[-1])["placements"]
        if p["app"] == "guestbook" and p["service"] == "web"
    ]  # fmt: skip
    assert {(p["host"], p["action"]) for p in webs_planned} == {
        (c["host"], "keep") for c in now.values()
    }, webs_planned
    proc = deployed.mason("--json", "pod", "heal", deployed.name, "--yes")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["lost"] == {} and out["healed"] == ["guestbook"], out
    now = web_containers(deployed)
    assert len(now) == 2 and victim not in [c["host"] for c in now.values()]
    for host in deployed.hosts:
        assert "messages" in answers(endpoint(deployed, host))
