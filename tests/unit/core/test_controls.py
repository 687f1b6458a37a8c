"""Controls catalogue, evaluation of run events, and the reports made from it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2
import pytest
import yaml

from mason.core import controls as C
from tests.conftest import REPO

CAT = C.load_catalogue()
H1, H2 = "p-h1", "p-h2"


def ok(host, task, **res):
    return {"event": "runner_on_ok", "event_data": {"host": host, "task": task, "res": res}}


def skipped(host, task):
    return {"event": "runner_on_skipped", "event_data": {"host": host, "task": task}}


def failed(host, task, msg, ignore=False):
    return {
        "event": "runner_on_failed",
        "event_data": {"host": host, "task": task, "res": {"msg": msg}, "ignore_errors": ignore},
    }


def report_of(events, hosts=(H1,), check=True, areas=("ssh",)):
    return C.evaluate(events, CAT, hosts=list(hosts), check=check, areas=areas)


SSH_TASK = "SSH config | MSN-SSH-02 MSN-SSH-03 MSN-SSH-04 | write mason's options"


# -- catalogue ----------------------------------------------------------------------


def test_catalogue_ids_are_unique_well_formed_and_in_known_areas():
    ids = [c.id for c in CAT.controls]
    assert len(ids) == len(set(ids)) >= 30
    assert set(CAT.areas) == {"ssh", "os", "firewall", "docker", "apparmor"}
    for c in CAT.controls:
        assert C.ID_RE.fullmatch(c.id)
        assert c.area in CAT.areas and c.title


def test_every_control_is_enforced_by_a_task_and_every_task_id_exists():
    tasks = C.control_tasks(REPO / "roles", CAT)
    missing = [cid for cid in (c.id for c in CAT.controls) if not tasks.get(cid)]
    assert missing == []
    unknown = sorted(set(tasks) - {c.id for c in CAT.controls})
    assert unknown == []


def test_control_ids_in_tasks_belong_to_the_role_of_their_area():
    for cid, where in C.control_tasks(REPO / "roles", CAT).items():
        area = CAT.by_id()[cid].area
        for entry in where:
            assert entry.startswith(CAT.areas[area].role + "/"), (cid, entry)


def test_parse_rejects_bad_ids_duplicates_and_unknown_areas():
    base = {"areas": {"ssh": {"title": "SSH", "role": "ssh_hardening"}}}
    with pytest.raises(C.CatalogueError, match="MSN-AREA-NN"):
        C.parse_catalogue({**base, "controls": [{"id": "SSH-1", "area": "ssh", "title": "t"}]})
    dup = {"id": "MSN-SSH-01", "area": "ssh", "title": "t"}
    with pytest.raises(C.CatalogueError, match="twice"):
        C.parse_catalogue({**base, "controls": [dup, dup]})
    with pytest.raises(C.CatalogueError, match="unknown area 'kernel'"):
        C.parse_catalogue(
            {**base, "controls": [{"id": "MSN-K-01", "area": "kernel", "title": "t"}]}
        )


def test_a_cited_section_must_be_listed_and_the_coverage_table_names_each():
    base = {
        "areas": {"os": {"title": "OS", "role": "os_hardening"}},
        "controls": [
            {"id": "MSN-OS-01", "area": "os", "title": "t", "refs": {"cis_debian": ["5.3.3.2.1"]}}
        ],
    }
    listed = [{"section": "5.3", "title": "PAM"}, {"section": "2.3", "title": "Time", "gaps": "x"}]
    cat = C.parse_catalogue({**base, "sections": {"cis_debian": listed}})
    table = C.render_markdown(cat, {})
    assert "| 5.3 PAM | MSN-OS-01 | - |" in table and "| 2.3 Time | none | x |" in table
    with pytest.raises(C.CatalogueError, match=r"MSN-OS-01: cis_debian 5\.3\.3\.2\.1 is in no"):
        C.parse_catalogue({**base, "sections": {"cis_debian": listed[1:]}})
    assert C.section_of("5.3", ["5", "5.3"]) == "5.3" and C.section_of("5.30", ["5.3"]) is None
    # the shipped catalogue lists a section for every CIS Debian reference it cites
    assert CAT.sections["cis_debian"]


def test_docs_controls_md_is_generated_from_the_catalogue():
    expected = C.render_markdown(CAT, C.control_tasks(REPO / "roles", CAT))
    current = (REPO / "docs" / "controls.md").read_text()
    assert current == expected, (
        "docs/controls.md is stale: mason harden controls --markdown > docs/controls.md"
    )


# -- evaluation ---------------------------------------------------------------------


def test_unchanged_task_is_a_pass_for_each_of_its_controls():
    r = report_of([ok(H1, SSH_TASK, changed=False)])
    assert {r.finding(H1, i).status for i in ("MSN-SSH-02", "MSN-SSH-03", "MSN-SSH-04")} == {"pass"}
    assert r.finding(H1, "MSN-SSH-05").status == "not-checked"


def test_changed_shared_file_is_drift_of_exactly_the_control_whose_key_changed():
    diff = {
        "before": "PubkeyAuthentication yes\nPermitRootLogin yes\nCiphers aes256-ctr\n",
        "after": "PubkeyAuthentication yes\nPermitRootLogin no\nCiphers aes256-ctr\n",
    }
    r = report_of([ok(H1, SSH_TASK, changed=True, diff=diff)])
    assert r.finding(H1, "MSN-SSH-03").status == "drift"
    assert r.finding(H1, "MSN-SSH-03").details == ["-PermitRootLogin yes", "+PermitRootLogin no"]
    assert r.finding(H1, "MSN-SSH-02").status == "pass"  # in the file, unchanged
    assert [(f.host, f.control) for f in r.drifted] == [(H1, "MSN-SSH-03")]


def test_key_match_needs_a_word_boundary():
    c = CAT.by_id()["MSN-SSH-04"]
    assert c.owns_line("+MACs hmac-sha2-512-etm@openssh.com")
    assert not c.owns_line("+MACsFoo x")
    assert CAT.by_id()["MSN-DKR-02"].owns_line('-  "live-restore": false,')


def test_change_matching_no_key_is_drift_of_every_control_of_the_task():
    diff = {"before": "# old comment\n", "after": "# new comment\n"}
    r = report_of([ok(H1, SSH_TASK, changed=True, diff=diff)])
    assert {f.control for f in r.drifted} == {"MSN-SSH-02", "MSN-SSH-03", "MSN-SSH-04"}


def test_changed_in_a_normal_run_is_fixed_not_drift():
    r = report_of([ok(H1, "SSH config | MSN-SSH-01 | x", changed=True)], check=False)
    assert r.finding(H1, "MSN-SSH-01").status == "fixed"
    assert r.drifted == []


def test_loop_item_diffs_name_what_differs():
    res = {
        "changed": True,
        "results": [
            {
                "changed": True,
                "item": {"path": "/etc/ssh/ssh_host_rsa_key"},
                "diff": {
                    "before": {"path": "/etc/ssh/ssh_host_rsa_key", "mode": "0644"},
                    "after": {"path": "/etc/ssh/ssh_host_rsa_key", "mode": "0600"},
                },
            },
            {"changed": False, "item": {"path": "/etc/ssh/ssh_host_ed25519_key"}},
        ],
    }
    r = report_of([ok(H1, "SSH host keys | MSN-SSH-09 | mode", **res)])
    assert r.finding(H1, "MSN-SSH-09").details == ["/etc/ssh/ssh_host_rsa_key: mode 0644 -> 0600"]


def test_explicit_statuses_from_debug_tasks():
    events = [
        ok(
            H1,
            "Sysctl | MSN-OS-03 | shared",
            msg={
                "mason_control": "MSN-OS-03",
                "status": "not-applicable",
                "detail": "shared kernel",
            },
        ),
        ok(
            H1,
            "AppArmor | MSN-AA-03 | kernel",
            msg={"mason_control": "MSN-AA-03", "status": "unavailable", "detail": "no AppArmor"},
        ),
        ok(H1, "files | MSN-OS-06 | nothing", msg={"mason_control": "MSN-OS-06", "status": "pass"}),
    ]
    r = report_of(events, areas=("os", "apparmor"))
    assert r.finding(H1, "MSN-OS-03").status == "not-applicable"
    assert r.finding(H1, "MSN-OS-03").details == ["shared kernel"]
    assert r.finding(H1, "MSN-AA-03").status == "unavailable"
    assert r.finding(H1, "MSN-OS-06").status == "pass"


def test_explicit_drift_lines_are_split_among_controls_by_key():
    msg = {
        "mason_control": ["MSN-OS-01", "MSN-OS-02"],
        "status": "drift",
        "detail": ["net.ipv4.ip_forward: live 0, want 1"],
    }
    r = report_of([ok(H1, "Sysctl | MSN-OS-01 MSN-OS-02 | live", msg=msg)], areas=("os",))
    assert [f.control for f in r.drifted] == ["MSN-OS-02"]


def test_worst_evidence_wins_and_details_are_kept():
    events = [
        ok(H1, "SSH config | MSN-SSH-03 | a", changed=False),
        ok(
            H1,
            "SSH config | MSN-SSH-03 | b",
            msg={
                "mason_control": "MSN-SSH-03",
                "status": "drift",
                "detail": ["PermitRootLogin: yes"],
            },
        ),
        ok(H1, "SSH config | MSN-SSH-03 | c", changed=False),
    ]
    f = report_of(events).finding(H1, "MSN-SSH-03")
    assert (f.status, f.details) == ("drift", ["PermitRootLogin: yes"])


def test_skipped_tasks_prove_nothing_and_other_hosts_are_separate():
    events = [skipped(H1, "SSH config | MSN-SSH-03 | x"), ok(H2, "SSH config | MSN-SSH-03 | x")]
    r = report_of(events, hosts=(H1, H2))
    assert r.finding(H1, "MSN-SSH-03").status == "not-checked"
    assert r.finding(H2, "MSN-SSH-03").status == "pass"


def test_failed_host_marks_its_unproven_controls_as_error():
    events = [
        ok(H1, "SSH config | MSN-SSH-01 | x"),
        failed(H1, "SSH config | MSN-SSH-03 | x", "sshd -t: Bad configuration option"),
        failed(H1, "probe", "ignored", ignore=True),
    ]
    r = report_of(events)
    assert r.finding(H1, "MSN-SSH-01").status == "pass"
    assert r.finding(H1, "MSN-SSH-03").status == "error"
    assert r.finding(H1, "MSN-SSH-05").status == "error"


def test_unreachable_host_is_error_everywhere():
    ev = {
        "event": "runner_on_unreachable",
        "event_data": {"host": H1, "task": "x", "res": {"msg": "ssh: connect refused"}},
    }
    r = report_of([ev])
    assert {f.status for f in r.findings.values()} == {"error"}


def test_unreachable_then_going_on_is_not_a_lost_host():
    # A task delegated to a host that is down (ignore_unreachable) reports it under the
    # host it ran for, which goes on: its controls are judged by what follows.
    events = [
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": H1, "task": "read on h2", "res": {"msg": "Bad port '0'"}},
        },
        ok(H1, "SSH config | MSN-SSH-01 | x"),
    ]
    r = report_of(events)
    assert r.finding(H1, "MSN-SSH-01").status == "pass"
    assert r.finding(H1, "MSN-SSH-03").status == "not-checked"


def test_areas_select_controls_and_hosts_outside_the_run_are_ignored():
    r = report_of([ok("other", "SSH config | MSN-SSH-01 | x")], areas=("firewall",))
    assert [c.id for c in r.controls] == ["MSN-FW-01", "MSN-FW-02", "MSN-FW-03", "MSN-FW-04"]
    assert {f.status for f in r.findings.values()} == {"not-checked"}


# -- reports ------------------------------------------------------------------------


def _mixed_report():
    events = [
        ok(H1, "Firewall | MSN-FW-01 | x"),
        ok(H1, "Firewall | MSN-FW-02 | x", changed=True, diff={"before": "a\n", "after": "b\n"}),
        ok(
            H1,
            "Firewall | MSN-FW-03 | x",
            msg={"mason_control": "MSN-FW-03", "status": "not-applicable", "detail": "no ports"},
        ),
        ok(H1, "Firewall | MSN-FW-04 | x"),
        ok(H2, "Firewall | MSN-FW-01 MSN-FW-02 MSN-FW-03 MSN-FW-04 | x"),
    ]
    return report_of(events, hosts=(H1, H2), areas=("firewall",))


def test_json_report_shape():
    data = json.loads(C.render_json(_mixed_report()))
    assert data["mode"] == "check" and data["drift"] is True
    assert data["counts"] == {"drift": 1, "not-applicable": 1, "pass": 6}
    fw2 = next(c for c in data["controls"] if c["id"] == "MSN-FW-02")
    assert fw2["hosts"][H1] == {"status": "drift", "details": ["-a", "+b"]}
    assert fw2["hosts"][H2]["status"] == "pass"


def test_junit_has_one_case_per_control_per_host():
    xml = C.render_junit(_mixed_report(), name="mason harden p")
    root = ET.fromstring(xml)  # noqa: S314 - rendered by the test itself
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [H1, H2]
    assert [s.get("tests") for s in suites] == ["4", "4"]
    s1 = suites[0]
    assert (s1.get("failures"), s1.get("skipped"), s1.get("errors")) == ("1", "1", "0")
    failure = s1.find("testcase[@name='MSN-FW-02 " + CAT.by_id()["MSN-FW-02"].title + "']/failure")
    assert failure is not None and failure.text == "-a\n+b"
    assert suites[1].get("failures") == "0"


# -- role content checks that need no host ------------------------------------------


def test_apparmor_profile_compiles_and_a_broken_one_is_refused(tmp_path: Path):
    parser = shutil.which("apparmor_parser") or "/usr/sbin/apparmor_parser"
    if not Path(parser).exists():
        pytest.skip("apparmor_parser not installed (apt-get install apparmor)")
    tmpl = (REPO / "roles/apparmor/templates/mason-default.j2").read_text()
    text = jinja2.Template(tmpl).render(
        ansible_managed="test",
        apparmor_profile_name="mason-default",
        apparmor_profile_extra_rules=[],
    )
    assert "deny mount," in text and "deny network raw," in text
    good = tmp_path / "mason-default"
    good.write_text(text)
    run = subprocess.run([parser, "-Q", "-K", str(good)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    bad = tmp_path / "broken"
    bad.write_text(text.replace("deny mount,", "deny mount"))
    run = subprocess.run([parser, "-Q", "-K", str(bad)], capture_output=True, text=True)
    assert run.returncode != 0


def test_role_defaults_keep_docker_working_and_operator_in():
    os_defaults = yaml.safe_load((REPO / "roles/os_hardening/defaults/main.yml").read_text())
    assert os_defaults["os_hardening_sysctl_forwarding"]["net.ipv4.ip_forward"] == 1
    assert all(k.startswith("net.") for k in os_defaults["os_hardening_sysctl_network"])
    assert not any(k.startswith("net.") for k in os_defaults["os_hardening_sysctl_kernel"])
    assert "overlay" not in os_defaults["os_hardening_blocked_modules"]
    ssh = yaml.safe_load((REPO / "roles/ssh_hardening/defaults/main.yml").read_text())
    assert ssh["ssh_hardening_allow_groups"] == ["mason-ssh"]


def test_loop_items_that_name_their_controls_are_attributed_to_them():
    res = {
        "changed": True,
        "results": [
            {
                "changed": True,
                "item": {"dest": "/etc/limits.d/x.conf", "mason_control": "MSN-OS-04"},
                "diff": {"before": "a\n", "after": "b\n"},
            },
            {"changed": False, "item": {"dest": "/etc/y", "mason_control": ["MSN-OS-09"]}},
        ],
    }
    r = report_of([ok(H1, "OS files | MSN-OS-04 MSN-OS-09 | write", **res)], areas=("os",))
    assert [(f.control, f.details) for f in r.drifted] == [("MSN-OS-04", ["-a", "+b"])]


def test_one_report_task_states_many_controls():
    msg = {
        "mason_controls": [
            {"mason_control": ["MSN-OS-05", "MSN-OS-06"], "status": "pass"},
            {"mason_control": "MSN-OS-03", "status": "not-applicable", "detail": "shared kernel"},
            {
                "mason_control": ["MSN-OS-01", "MSN-OS-02"],
                "status": "drift",
                "detail": ["net.ipv4.conf.all.rp_filter: live 0, want 1"],
            },
        ]
    }
    r = report_of([ok(H1, "OS hardening | report", msg=msg)], areas=("os",))
    got = {
        c: r.finding(H1, c).status
        for c in ("MSN-OS-01", "MSN-OS-02", "MSN-OS-03", "MSN-OS-05", "MSN-OS-06", "MSN-OS-07")
    }
    assert got == {
        "MSN-OS-01": "drift",
        "MSN-OS-02": "pass",
        "MSN-OS-03": "not-applicable",
        "MSN-OS-05": "pass",
        "MSN-OS-06": "pass",
        "MSN-OS-07": "not-checked",
    }


def test_new_ssh_options_are_drift_of_their_own_control():
    diff = {
        "before": "TCPKeepAlive yes\nBanner none\nMaxSessions 4\n",
        "after": "TCPKeepAlive no\nBanner /etc/issue.net\nMaxSessions 4\n",
    }
    task = "SSH config | MSN-SSH-05 MSN-SSH-06 MSN-SSH-11 | write options"
    r = report_of([ok(H1, task, changed=True, diff=diff)])
    assert r.finding(H1, "MSN-SSH-05").details == ["-TCPKeepAlive yes", "+TCPKeepAlive no"]
    assert r.finding(H1, "MSN-SSH-11").details == ["-Banner none", "+Banner /etc/issue.net"]
    assert r.finding(H1, "MSN-SSH-06").status == "pass"
    # The admin exception's lines (MSN-SSH-10) name their control in the report.
    detail = ["MSN-SSH-10 mason permitopen: effective any, want 127.0.0.1:5443"]
    msg = {
        "mason_controls": [
            {"mason_control": ["MSN-SSH-06", "MSN-SSH-10"], "status": "drift", "detail": detail}
        ]
    }
    r = report_of([ok(H1, "SSH | report", msg=msg)])
    assert r.finding(H1, "MSN-SSH-10").status == "drift"
    assert r.finding(H1, "MSN-SSH-06").status == "pass"


def test_unreachable_security_source_is_drift_even_beside_a_pass():
    msg = {
        "mason_controls": [
            {"mason_control": ["MSN-OS-05", "MSN-OS-09"], "status": "pass"},
            {
                "mason_control": "MSN-OS-15",
                "status": "drift",
                "detail": ["http://x/InRelease is not reachable from the host (HTTP 000)"],
            },
        ]
    }
    events = [
        ok(H1, "OS hardening | report", msg=msg),
        ok(H1, "OS files | MSN-OS-15 | write files that differ", changed=False),
    ]
    r = report_of(events, check=False, areas=("os",))
    assert r.finding(H1, "MSN-OS-15").status == "drift"
    assert "not reachable" in r.finding(H1, "MSN-OS-15").details[0]


def test_ssh_defaults_keep_the_registry_tunnel():
    ssh = yaml.safe_load((REPO / "roles/ssh_hardening/defaults/main.yml").read_text())
    assert ssh["ssh_hardening_admin_user"] == "mason"
    assert ssh["ssh_hardening_registry_port"] == 5443
    assert "'127.0.0.1:' ~ ssh_hardening_registry_port" in ssh["ssh_hardening_admin_permit_open"]
