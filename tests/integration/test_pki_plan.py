"""The manager decides which identities a host may hold: the pod's ledger, not the host.

On the shared `mason up` pod: another app's identity planted on a worker (its certificate
and identity.json copied from the host the ledger places it on) is not signed by
`mason pki rotate`, which names the host and the identity and fails; `mason pki status`
flags it (exit 8); a planned identity on the same worker still rotates (positive control).
Against the code before this check, rotate signed the planted identity and status passed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mason.core import pki
from tests.conftest import REPO
from tests.integration.conftest import Deployed, ansible_playbook

pytestmark = pytest.mark.integration
CERTS = "/etc/mason/pki/certs"


def _held(pod: Deployed, host: str) -> dict[str, dict]:
    """instance name -> identity.json of every certificate on a host."""
    script = f'for f in {CERTS}/*/identity.json; do [ -f "$f" ] && cat "$f" && echo; done'
    out = pod.on_host(host, "sh", "-c", script).stdout
    found = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {f["name"]: f for f in found}


def _serial(pod: Deployed, host: str, name: str) -> int:
    pem = pod.on_host(host, "cat", f"{CERTS}/{name}/cert.pem").stdout
    return pki.load_cert(pem).serial_number


def test_a_planted_identity_is_refused_and_flagged_and_planned_ones_rotate(deployed: Deployed):
    hosts = sorted(deployed.hosts)
    manager = next(
        h
        for h in hosts
        if deployed.on_host(h, "test", "-f", "/etc/mason/pki/ca/ca.pem", check=False).returncode
        == 0
    )
    held = {h: _held(deployed, h) for h in hosts}
    workers = [w for w in hosts if w != manager and held[w]]
    mine = lambda n: not n.endswith("-edge") and not n.startswith("addons-")  # noqa: E731
    # Another app's instance (else another replica's) that the ledger places on another
    # host, never on the worker. Edges and addons may be on every host: not those.
    candidates = [
        (w, h, n)
        for w in workers
        for h in hosts
        if h != w
        for n in held[h]
        if mine(n) and n not in held[w]
    ]
    candidates.sort(key=lambda c: any(n.split("-")[0] == c[2].split("-")[0] for n in held[c[0]]))
    assert candidates, held
    worker, source, name = candidates[0]
    identity = held[source][name]["identity"]
    planned_here = sorted(n for n in held[worker] if mine(n))
    assert planned_here, held[worker]
    control = planned_here[0]
    before = _serial(deployed, worker, control)
    planted = f"{CERTS}/{name}"
    read_all = (
        "import glob, json; print(json.dumps([json.load(open(f)) "
        "for f in glob.glob('/etc/mason/pki/ca/issued/*.json')]))"
    )

    def issued_for_planted() -> list[dict]:
        """What the manager ever issued for the planted identity on the worker (a
        replica of that name may have run there before: the log keeps history)."""
        logged = json.loads(deployed.on_host(manager, "python3", "-c", read_all).stdout)
        return [e for e in logged if (e["host"], e["instance"]) == (worker, name)]

    issued_before = issued_for_planted()
    try:
        deployed.on_host(worker, "install", "-d", "-m", "0700", planted)
        for f in ("cert.pem", "ca.pem", "identity.json"):
            data = deployed.on_host(source, "cat", f"{planted}/{f}").stdout
            subprocess.run(
                ["docker", "exec", "-i", f"mason-{worker}", "sh", "-c", f"cat > {planted}/{f}"],
                input=data, text=True, check=True, timeout=60,
            )  # fmt: skip
        planted_serial = _serial(deployed, worker, name)

        status = deployed.mason("--json", "pki", "status", deployed.name, check=False)
        assert status.returncode == 8, status.stderr[-2000:]
        report = json.loads(status.stdout.strip().splitlines()[-1])
        flagged = [c for c in report["certificates"] if c["state"] == pki.UNPLANNED]
        assert [(c["host"], c["instance"], c["identity"]) for c in flagged] == [
            (worker, name, identity)
        ], report
        assert report["state"] == pki.UNPLANNED

        rotated = deployed.mason("pki", "rotate", deployed.name, "--force", check=False)
        said = rotated.stdout + rotated.stderr
        assert rotated.returncode != 0, said[-2000:]
        assert f"host {worker}: refusing to sign {identity} (instance {name})" in said, said[-3000:]
        # Not signed: the planted certificate is the one copied, no new one was issued.
        assert _serial(deployed, worker, name) == planted_serial
        assert deployed.on_host(worker, "test", "-e", f"{planted}/next.key", check=False).returncode
        # Positive control: the planned identity on the same worker was renewed.
        after = _serial(deployed, worker, control)
        assert after != before
        # The manager logged what it issued, and to whom; nothing new for the planted
        # identity.
        log = deployed.on_host(manager, "cat", f"/etc/mason/pki/ca/issued/{after:x}.json")
        entry = json.loads(log.stdout)
        assert (entry["host"], entry["instance"]) == (worker, control), entry
        assert issued_for_planted() == issued_before
    finally:
        deployed.on_host(worker, "rm", "-rf", planted, check=False)


def _playbook(pod: Deployed, name: str, extravars: dict, tmp: Path):
    """Run one of mason's own playbooks against the pod, as an Ansible or AWX user would."""
    return ansible_playbook(pod.name, REPO / "playbooks" / f"{name}.yml", extravars, tmp)


def test_the_pki_directory_moves_with_one_variable(deployed: Deployed, tmp_path: Path):
    """mason_pki_dir is the one place the PKI lives: status and rotation follow it (they
    read a hard-coded /etc/mason/pki/certs before, whatever the roles were told)."""
    moved = "/root/mason-moved-pki"
    hosts = sorted(deployed.hosts)
    for host in hosts:
        deployed.on_host(host, "sh", "-c", f"rm -rf {moved} && cp -a /etc/mason/pki {moved}")
    try:
        names = {h: sorted(_held(deployed, h)) for h in hosts}
        before = {h: {n: _serial(deployed, h, n) for n in names[h]} for h in hosts}
        report = tmp_path / "status.json"
        status = _playbook(deployed, "pki_status",
                           {"mason_pki_dir": moved, "mason_pki_status_file": str(report)},
                           tmp_path)  # fmt: skip
        assert status.returncode == 0, status.stdout[-3000:]
        paths = [r["path"] for r in json.loads(report.read_text())["records"]]
        assert paths and all(p.startswith(f"{moved}/") for p in paths), paths
        assert len(paths) == 1 + sum(len(n) for n in names.values())  # the CA, every leaf
        rotate = _playbook(
            deployed, "rotate_certs", {"mason_pki_dir": moved, "mason_rotate_force": True}, tmp_path
        )
        assert rotate.returncode == 0, rotate.stdout[-3000:]
        for host in hosts:
            for name in names[host]:
                cert = deployed.on_host(host, "cat", f"{moved}/certs/{name}/cert.pem").stdout
                # renewed where the variable says, and only there
                assert pki.load_cert(cert).serial_number != before[host][name], (host, name)
                assert _serial(deployed, host, name) == before[host][name], (host, name)
        bad = _playbook(deployed, "pki_status", {"mason_pki_dir": "relative/pki"}, tmp_path)
        assert bad.returncode != 0 and "mason_pki_dir and mason_proxy_dir" in bad.stdout
    finally:
        for host in hosts:
            deployed.on_host(host, "rm", "-rf", moved, check=False)
