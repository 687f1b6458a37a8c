"""mason as AWX runs it: the collection mason.mason by full name with plain ansible-playbook,
and the execution environment image, against ONE real 1-host local pod.

- the collection builds and installs offline into a temporary path;
- every playbook refuses a wrong extra variable before it touches a host (the pod shows it);
- harden and the nightly check by full name give the CLI's statuses; a hand-made drift
  fails the job (rc 2) with exactly that control, and the report is the job's artifact;
- the same nightly check inside the EE image (docker run, ansible-runner, user 1000, the
  key and pinned host keys injected as the "mason pod SSH key" credential type does) fails
  too, and `mason harden report` turns its artifacts into the CLI's verdict (exit 8).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.conftest import mason

pytestmark = pytest.mark.integration

DROPIN = "/etc/ssh/sshd_config.d/00-mason-hardening.conf"
ACCEPTABLE = {"pass", "not-applicable", "unavailable"}
BIN = Path(sys.executable).parent
# A wrong value per playbook, each for a variable of the playbook or of a role it runs.
WRONG = {
    "provision": {"mason_connect_timeout": "soon"},
    "harden": {"firewall_ssh_allow_controller": "maybe"},
    "links": {"mason_links_plan": "three"},
    "rotate_certs": {"mason_rotate_window_seconds": "abc"},
    "pki_status": {"mason_pki_window_seconds": "abc"},
    "deploy": {"mason_deploy": "three"},
    "remove": {"mason_remove_purge": "maybe", "mason_remove_app": "shop"},
    "unlock": {"app_ledger_force_unlock": "maybe", "app_ledger_app": "shop"},
}


def dexec(container: str, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "exec", container, *cmd], capture_output=True, text=True, timeout=120
    )


def statuses(data: dict) -> dict[tuple[str, str], str]:
    return {(h, c["id"]): v["status"] for c in data["controls"] for h, v in c["hosts"].items()}


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """mason.mason built from this checkout and installed (offline) into a temporary path."""
    work = tmp_path_factory.mktemp("collection")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env["ANSIBLE_CONFIG"] = str(_empty_cfg(work))
    build = subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "dist", REPO],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    )
    assert "Created collection for mason.mason" in build.stdout
    tarball = next((work / "dist").glob("mason-mason-*.tar.gz"))
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", work / "c", tarball],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    )
    installed = work / "c" / "ansible_collections" / "mason" / "mason"
    assert (installed / "playbooks" / "rotate_certs.yml").is_file()
    assert not (installed / "playbooks" / "collections").exists()  # the checkout's link stays out
    return work / "c"


def _empty_cfg(where: Path) -> Path:
    path = where / "empty-ansible.cfg"
    path.write_text("")
    return path


def plain_env(collections: Path) -> dict[str, str]:
    """ansible-playbook as a user runs it with the installed collection: no mason CLI,
    no ansible.cfg of the checkout (the settings a job needs come from the environment)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANSIBLE_") and k != "MASON_CONTENT_DIR"
    }
    return {
        **env,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        # no ansible.cfg of the checkout (Ansible refuses /dev/null)
        "ANSIBLE_CONFIG": str(_empty_cfg(collections.parent)),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_CALLBACKS_ENABLED": "mason.mason.events",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_PIPELINING": "true",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_NOCOLOR": "1",
    }


def playbook(env, cwd: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "ansible-playbook", "-i", "pods.mason.yml", f"mason.mason.{name}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
    )


def test_collection_by_full_name_and_ee(collection, make_pod, tmp_path, mason_home):
    project = tmp_path / "proj"
    project.mkdir()
    pod = make_pod(1, project=project)
    name = pod["pod"]
    h1 = f"{name}-h1"
    (project / "pods.mason.yml").write_text(f"plugin: mason.mason.mason\npods: [{name}]\n")
    env = plain_env(collection)

    # 1. A wrong extra variable fails every playbook in its validation, before any host
    #    is touched: the pod still has no hardening drop-in and no Docker daemon config
    #    written by mason (provision and harden would write both).
    for book, wrong in WRONG.items():
        proc = playbook(env, project, book, "-e", json.dumps(wrong))
        out = proc.stdout
        assert proc.returncode == 2, out
        # The last task banner before the failure (2.19 prints the task's source after it;
        # a loop's failure is "failed: [host] (item=...)").
        before = out[: re.search(r"^(fatal|failed): \[", out, re.M).start()]
        banner = before[before.rindex("TASK [") :].splitlines()[0]
        assert "validate : Validate |" in banner, (book, out)
        assert f"argument '{next(iter(wrong))}'" in out, out
        assert "unreachable=0" in out and "changed=0" in out
    assert dexec(f"mason-{h1}", "test", "-e", DROPIN).returncode == 1

    # 2. Harden by full name, then the nightly check: the CLI's statuses, nothing drifted.
    proc = playbook(env, project, "harden", "--diff")
    assert proc.returncode == 0, proc.stdout[-3000:]
    check_json = tmp_path / "check.json"
    proc = playbook(
        env, project, "harden", "--check", "--diff", "-e", f"mason_harden_report_json={check_json}"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    plain = statuses(json.loads(check_json.read_text()))
    cli_json = tmp_path / "cli.json"
    mason("harden", name, "--check", "--report", "json", str(cli_json), project=project)
    assert plain == statuses(json.loads(cli_json.read_text()))
    assert {s for s in plain.values()} <= ACCEPTABLE

    # 3. Root login re-enabled by hand: the job fails with exactly that control, and the
    #    report-only variable keeps it green while still reporting the drift.
    assert (
        dexec(
            f"mason-{h1}", "sed", "-i", "s/^PermitRootLogin no$/PermitRootLogin yes/", DROPIN
        ).returncode
        == 0
    )
    drift_json = tmp_path / "drift.json"
    drift_xml = tmp_path / "drift.xml"
    proc = playbook(
        env,
        project,
        "harden",
        "--check",
        "--diff",
        "-e",
        f"mason_harden_report_json={drift_json}",
        "-e",
        f"mason_harden_report_junit={drift_xml}",
    )
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert f"drift on 1 control(s): {h1} MSN-SSH-03" in proc.stdout
    drifted = {k for k, v in statuses(json.loads(drift_json.read_text())).items() if v == "drift"}
    assert drifted == {(h1, "MSN-SSH-03")}
    assert '<failure message="drift"' in drift_xml.read_text()
    cli_drift = tmp_path / "cli-drift.json"
    cli = mason(
        "harden", name, "--check", "--report", "json", str(cli_drift), project=project, check=False
    )
    assert cli.returncode == 8
    assert statuses(json.loads(cli_drift.read_text())) == statuses(
        json.loads(drift_json.read_text())
    )
    proc = playbook(
        env, project, "harden", "--check", "--diff", "-e", "mason_harden_report_only=true"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]

    # 4. The nightly check inside the EE image, as AWX runs it: the project checkout at
    #    /runner/project, a static inventory as an inventory sync leaves it (key from the
    #    credential), the credential type's files and extra vars, ansible-runner as user 1000.
    ee = mason("--json", "image", "build", "--ee", project=project, timeout=1800)
    image = json.loads(ee.stdout.strip().splitlines()[-1])["image"]
    pdd = tmp_path / "runner"
    (pdd / "inventory").mkdir(parents=True)
    (pdd / "env").mkdir()
    (pdd / "creds").mkdir()
    (project / "awx.mason.yml").write_text(
        f"plugin: mason.mason.mason\npods: [{name}]\nssh_key: credential\n"
    )
    listed = subprocess.run(
        [BIN / "ansible-inventory", "-i", "awx.mason.yml", "--list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        check=True,
    )
    inv = json.loads(listed.stdout)
    hostvars = inv["_meta"]["hostvars"]
    assert "ansible_ssh_private_key_file" not in hostvars[h1]
    # AWX hands a job its synced inventory as a script that prints this JSON (values an
    # inventory plugin marks unsafe stay marked: {"__ansible_unsafe": ...}, which the
    # script plugin reads back).
    script = pdd / "inventory" / "hosts"
    script.write_text(f"#!/usr/bin/env python3\nprint({listed.stdout!r})\n")
    script.chmod(0o755)
    keys = mason_home / "keys" / "docker" / name
    shutil.copy(keys / "id_ed25519", pdd / "creds" / "key")
    shutil.copy(keys / "known_hosts", pdd / "creds" / "known_hosts")
    (pdd / "env" / "extravars").write_text(
        yaml.safe_dump(
            {
                "ansible_ssh_private_key_file": "/runner/creds/key",
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"
                " -o UserKnownHostsFile=/runner/creds/known_hosts",
            }
        )
    )
    for path in [pdd, *pdd.rglob("*")]:
        os.chown(path, 1000, 1000)
    os.chmod(pdd / "creds" / "key", 0o600)
    run = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "host", "--user", "1000",
            "-v", f"{pdd}:/runner", "-v", f"{REPO}:/runner/project:ro",
            image,
            "ansible-runner", "run", "/runner", "-p", "playbooks/harden.yml",
            "--ident", "nightly", "--cmdline", "--check --diff",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"drift on 1 control(s): {h1} MSN-SSH-03" in run.stdout
    artifacts = pdd / "artifacts" / "nightly"
    stats = [
        json.loads(p.read_text())
        for p in (artifacts / "job_events").glob("*.json")
        if json.loads(p.read_text()).get("event") == "playbook_on_stats"
    ]
    kept = stats[0]["event_data"]["artifact_data"]["mason_harden"]
    assert kept["drift"] is True and kept["drifted"] == [f"{h1} MSN-SSH-03"]

    # 5. `mason harden report` turns the job's events into the CLI's verdict.
    from_job = tmp_path / "from-job.json"
    rep = mason(
        "harden",
        "report",
        str(artifacts),
        "--report",
        "json",
        str(from_job),
        project=project,
        check=False,
    )
    assert rep.returncode == 8, rep.stderr
    assert f"drift on 1 host(s): {h1} MSN-SSH-03" in rep.stderr
    assert statuses(json.loads(from_job.read_text())) == statuses(json.loads(cli_drift.read_text()))

    # 6. Harden by full name fixes it; the nightly check passes again.
    assert playbook(env, project, "harden", "--diff", "--tags", "ssh").returncode == 0
    assert dexec(f"mason-{h1}", "grep", "-x", "PermitRootLogin no", DROPIN).returncode == 0
    proc = playbook(env, project, "harden", "--check", "--diff", "--tags", "ssh")
    assert proc.returncode == 0, proc.stdout[-3000:]

    # 7. An expired certificate on the host: pki_status by full name fails the job (as
    #    `mason pki status` exits 8); report-only keeps it green.
    put = subprocess.run(
        ["docker", "exec", "-i", f"mason-{h1}", "sh", "-c",
         "mkdir -p /etc/mason/pki/certs/old-1 && cat > /etc/mason/pki/certs/old-1/cert.pem"],
        input=expired_cert_pem(name),
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert put.returncode == 0, put.stderr
    proc = playbook(env, project, "pki_status")
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "EXPIRED at" in proc.stdout
    assert (
        playbook(env, project, "pki_status", "-e", "mason_pki_status_report_only=true").returncode
        == 0
    )
    assert mason("pki", "status", name, project=project, check=False).returncode == 8
    dexec(f"mason-{h1}", "rm", "-rf", "/etc/mason/pki/certs/old-1")


def expired_cert_pem(pod: str) -> bytes:
    """A self-signed certificate that expired yesterday."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{pod}-old")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
