"""The release ledger and deploy lock on a real 1-host pod (roles/app_ledger).

A test playbook drives the role's task files as a deploy does (lock, record twice,
unlock); the files are checked on the host itself, a second run's lock is refused
naming the holder, `mason app releases` lists and verifies the two records, and an
edit of a record on the host makes verification fail.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mason.runner import run_playbook
from tests.conftest import REPO, unique_pod_name
from tests.integration.conftest import mason

pytestmark = pytest.mark.integration
PLAYBOOK = str(REPO / "tests/integration/playbooks/ledger.yml")
APP = "shop"
RECORDS = f"/etc/mason/releases/{APP}"
LOCK = f"/etc/mason/locks/{APP}.json"


def release(n: int) -> dict:
    return {
        "kind": "deploy",
        "manifest_hash": f"{n:064x}",
        "images": {"web": f"reg/shop/web@sha256:{n:064x}", "db": "reg/pg@sha256:" + "d" * 64},
        "placement": {"web": [{"replica": 1, "host": "h1", "zone": "zone-a"}]},
        "note": f"test deploy {n}",
    }


def on_host(host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["docker", "exec", f"mason-{host}", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} on {host}: {proc.stderr}")
    return proc


class Pod:
    def __init__(self, name: str, project: Path, host: str) -> None:
        self.name, self.project, self.host = name, project, host

    def steps(self, run_id: str, *steps: dict, **extra):
        return run_playbook(
            PLAYBOOK,
            project_dir=self.project,
            pods=[self.name],
            extravars={
                "app_ledger_app": APP,
                "app_ledger_who": f"{run_id}-user@ci",
                "app_ledger_run_id": run_id,
                "ledger_steps": list(steps),
                **extra,
            },
        )


@pytest.fixture(scope="module")
def pod(tmp_path_factory) -> Pod:
    name = unique_pod_name("ledger")
    project = tmp_path_factory.mktemp("ledger-proj")
    try:
        out = mason("--json", "pod", "create", name, "--hosts", "1", project=project)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        yield Pod(name, project, data["hosts"][0]["name"])
    finally:
        mason("pod", "destroy", name, "--yes", project=project, check=False)


def test_ledger_lock_record_unlock_verify(pod: Pod):
    # run A: lock, record twice (the lock stays held)
    first = pod.steps(
        "run-a",
        {"step": "lock"},
        {"step": "record", "release": release(1)},
        {"step": "record", "release": release(2)},
    )
    assert first.ok, [vars(f) for f in first.failures]
    listing = on_host(pod.host, "stat", "-c", "%n %U %G %a", LOCK, RECORDS,
                      f"{RECORDS}/000001.json", f"{RECORDS}/000002.json").stdout  # fmt: skip
    assert listing.split("\n")[:4] == [
        f"{LOCK} root root 600",
        f"{RECORDS} root root 700",
        f"{RECORDS}/000001.json root root 600",
        f"{RECORDS}/000002.json root root 600",
    ]
    holder = json.loads(on_host(pod.host, "cat", LOCK).stdout)
    assert holder["who"] == "run-a-user@ci" and holder["run_id"] == "run-a"
    assert not on_host(
        pod.host, "sh", "-c", "ls -A /etc/mason/locks | grep claim", check=False
    ).stdout
    two = json.loads(on_host(pod.host, "cat", f"{RECORDS}/000002.json").stdout)
    one = json.loads(on_host(pod.host, "cat", f"{RECORDS}/000001.json").stdout)
    assert (one["number"], one["previous"]) == (1, "")
    assert (two["number"], two["previous"], two["run_id"]) == (2, one["hash"], "run-a")

    # run B: refused, naming the holder and since when; nothing changed
    second = pod.steps("run-b", {"step": "lock"}, {"step": "record", "release": release(3)})
    assert not second.ok
    message = second.failures[0].message
    assert f"app {APP} is locked by run-a-user@ci since {holder['when']} (run run-a)" in message
    assert "--force-unlock" in message
    assert json.loads(on_host(pod.host, "cat", LOCK).stdout) == holder
    assert on_host(pod.host, "ls", RECORDS).stdout.split() == ["000001.json", "000002.json"]
    # nor may run B release run A's lock
    assert not pod.steps("run-b", {"step": "unlock"}).ok

    # run A releases it; then run B may take it, and releases it too
    assert pod.steps("run-a", {"step": "unlock"}).ok
    assert on_host(pod.host, "test", "-e", LOCK, check=False).returncode == 1
    again = pod.steps("run-b", {"step": "lock"}, {"step": "unlock"})
    assert again.ok, [vars(f) for f in again.failures]
    # a run that died holding it: --force-unlock takes it over
    assert pod.steps("run-c", {"step": "lock"}).ok
    forced = pod.steps("run-d", {"step": "lock"}, app_ledger_force_unlock=True)
    assert forced.ok, [vars(f) for f in forced.failures]
    assert json.loads(on_host(pod.host, "cat", LOCK).stdout)["run_id"] == "run-d"
    assert pod.steps("run-d", {"step": "unlock"}).ok
    assert on_host(pod.host, "test", "-e", LOCK, check=False).returncode == 1

    # mason app releases: both, verified
    out = mason("app", "releases", APP, "--pod", pod.name, "--json", project=pod.project)
    ledger = json.loads(out.stdout.strip().splitlines()[-1])
    assert ledger["verified"] is True and ledger["problems"] == []
    assert [(r["number"], r["kind"], r["who"]) for r in ledger["releases"]] == [
        (1, "deploy", "run-a-user@ci"),
        (2, "deploy", "run-a-user@ci"),
    ]
    assert ledger["releases"][0]["images_changed"] == ["db", "web"]
    assert ledger["releases"][1]["images_changed"] == ["web"]
    assert ledger["releases"][1]["hash"] == two["hash"]
    text = mason("app", "releases", APP, "--pod", pod.name, project=pod.project).stdout
    assert f"ledger of {APP} on pod {pod.name}: 2 release(s), verified" in text

    # an edit on the host (root, as an intruder would): verification fails, exit 8
    on_host(pod.host, "sed", "-i", "s/run-a-user@ci/mallory@ci/", f"{RECORDS}/000001.json")
    bad = mason("app", "releases", APP, "--pod", pod.name, project=pod.project, check=False)
    assert bad.returncode == 8, bad.stderr
    last = bad.stderr.strip().splitlines()[-1]
    assert f"ledger of {APP} on pod {pod.name} fails verification: release 1: edited" in last
    # a record others may read is a problem too
    on_host(pod.host, "chmod", "0644", f"{RECORDS}/000002.json")
    bad = mason("--json", "app", "releases", APP, "--pod", pod.name, project=pod.project,
                check=False)  # fmt: skip
    assert bad.returncode == 8
    problems = json.loads(bad.stdout.strip().splitlines()[-1])["problems"]
    assert any(p.endswith("000002.json: mode 0644, expected 0600") for p in problems)
    assert any(p.startswith("release 1: edited") for p in problems)
