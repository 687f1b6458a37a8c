"""The deploy-side playbooks validate every input on the controller, before any host:
a real plan passes, a wrong value fails in the validate role (no engine, no host)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from mason.core import deploy
from mason.core.catalog import list_entries, search_path, templates
from mason.core.manifest import load_manifest
from tests.conftest import REPO, ansible_env

HOSTS = [
    deploy.PodHost(f"p-h{i}", f"zone-{z}", f"10.9.0.{i}", 2000, 2 * 1024**3, role)
    for i, z, role in ((1, "a", "manager"), (2, "b", "worker"), (3, "c", "worker"))
]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    hosts = {
        h.name: {
            "mason_pod": "p",
            "mason_zone": h.zone,
            "mason_role": h.role,
            "ansible_connection": "local",
        }
        for h in HOSTS
    }
    path.write_text(
        yaml.safe_dump(
            {"all": {"hosts": hosts, "children": {"role_manager": {"hosts": {"p-h1": None}}}}}
        )
    )
    return path


@pytest.fixture(scope="module")
def plan_vars() -> dict:
    entries = list_entries(search_path())
    app = load_manifest(
        REPO / "examples" / "guestbook" / "guestbook.yml",
        catalog=templates(entries),
        addons=list(entries),
    )
    images = {
        "web": "r/w@sha256:" + "a" * 64,
        "addons/postgresql": "r/p@sha256:" + "b" * 64,
        "addons/redis": "r/r@sha256:" + "c" * 64,
    }
    plan = deploy.build_plan(
        pod="p",
        app=app,
        hosts=HOSTS,
        running=[],
        images=images,
        proxy_image="r/x@sha256:" + "d" * 64,
        addon_entries={a: (entries[a].service, entries[a].addon) for a in app.addons},
    )
    data = plan.extravars()
    data["mason_deploy"]["record"] = plan.record("e" * 64)
    return {
        **data,
        "mason_deploy_proxy_image": "r/x@sha256:" + "d" * 64,
        "app_ledger_app": "guestbook",
        "app_ledger_run_id": "r1",
        "app_ledger_who": "t@c",
    }


def validate_only(inventory: Path, book: str, extravars: dict) -> subprocess.CompletedProcess:
    # Only the plays and tasks tagged "always" run: the validate play of each playbook.
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory),
            str(REPO / "playbooks" / f"{book}.yml"),
            "--tags",
            "validate-only",
            "-e",
            json.dumps(extravars),
        ],
        capture_output=True,
        text=True,
        env=ansible_env(),
        timeout=300,
        check=False,
    )


def test_a_real_deploy_plan_passes_validation(inventory, plan_vars):
    proc = validate_only(inventory, "deploy", plan_vars)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validate |" in proc.stdout


@pytest.mark.parametrize(
    ("book", "wrong"),
    [
        ("deploy", {"mason_deploy": "three"}),
        ("remove", {"mason_remove_app": "shop", "mason_remove_purge": "maybe"}),
        ("unlock", {"app_ledger_app": "shop", "app_ledger_force_unlock": "maybe"}),
        # a role's variable, of a kind the per-host checks read too (as a bool): its
        # type is refused before any of them uses it
        ("harden", {"firewall_ssh_allow_controller": "maybe"}),
    ],
)
def test_a_wrong_value_fails_in_the_validate_role(inventory, plan_vars, book, wrong):
    extravars = {**plan_vars, **wrong} if book == "deploy" else wrong
    proc = validate_only(inventory, book, extravars)
    assert proc.returncode == 2, proc.stdout
    assert "validate : Validate |" in proc.stdout and f"argument '{list(wrong)[-1]}'" in proc.stdout


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        # a newline would add a line of its own to journal-upload.conf
        ({"os_hardening_journal_url": "https://c:1\nURL=https://x"}, "os_hardening_journal_url"),
        ({"os_hardening_journal_url": "http://c:19532"}, "os_hardening_journal_url"),
        # ";" separates commands in a unit's ExecStart
        ({"os_hardening_journal_max_use": "2G; rm -rf /"}, "os_hardening_journal_max_use"),
        ({"os_hardening_journal_collector_ca": "trust me"}, "os_hardening_journal_collector_ca"),
        # a host the role delegates to must be one of the inventory's: any other name
        # would be resolved and connected to
        ({"os_hardening_journal_receiver": "logs.example.net"}, "os_hardening_journal_receiver"),
        ({"os_hardening_aide_witness": "demo-h9"}, "os_hardening_aide_witness"),
    ],
)
def test_a_wrong_journal_input_is_refused_before_any_host(inventory, wrong, message):
    proc = validate_only(inventory, "harden", wrong)
    assert proc.returncode == 2, proc.stdout
    assert f"{message}: expected" in proc.stdout, proc.stdout


def test_good_journal_inputs_raise_no_problem(inventory):
    # A wrong directory makes the per-host check fail on purpose: its message must name
    # that directory alone, none of the journal inputs given beside it.
    good = {
        "os_hardening_journal_url": "https://logs.example.net:19532/upload",
        "os_hardening_journal_max_use": "512M",
        "os_hardening_journal_collector_ca": PEM,
        "os_hardening_journal_receiver": "",
        "os_hardening_aide_witness": "p-h2",
        "mason_pki_dir": "relative",
    }
    proc = validate_only(inventory, "harden", good)
    assert proc.returncode == 2, proc.stdout
    assert "mason_pki_dir and mason_proxy_dir: expected" in proc.stdout, proc.stdout
    for name in ("url", "max_use", "collector_ca", "receiver"):
        assert f"os_hardening_journal_{name}: expected" not in proc.stdout, proc.stdout
    assert "os_hardening_aide_witness: expected" not in proc.stdout, proc.stdout
