"""Ansible lookup: judge every hardening control from this run's results, as the CLI does."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mason_harden_report
short_description: The hardening report of the current run (the CLI's JSON or JUnit)
description:
  - Reads the task results the callback C(mason.mason.events) recorded in this run and judges
    every control of C(mason harden controls) per host with the code C(mason harden) uses on
    ansible-runner's events - same statuses (pass, drift, fixed, not-applicable, unavailable,
    error, not-checked), same JSON and JUnit.
  - Areas follow the run's tags as C(--only)/C(--skip) do (C(ssh), C(os), C(firewall),
    C(docker), C(apparmor)).
options:
  hosts:
    description: Hosts to judge (the hardening play's C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  check:
    description: Whether the run is a check (C(ansible_check_mode)) - a change is then drift.
    type: bool
    default: false
  run_tags:
    description: C(ansible_run_tags); area names among them select those areas.
    type: list
    elements: str
    default: [all]
  skip_tags:
    description: C(ansible_skip_tags); area names among them leave those areas out.
    type: list
    elements: str
    default: []
  format:
    description: C(dict) (the JSON report as data, plus C(drifted), a list of C(host control)),
      C(json) or C(junit) (the CLI's report files, as text).
    type: str
    choices: [dict, json, junit]
    default: dict
"""

EXAMPLES = r"""
- name: Fail the job on drift
  ansible.builtin.assert:
    that: not report.drift
  vars:
    report: "{{ query('mason.mason.mason_harden_report', hosts=ansible_play_hosts_all,
                      check=ansible_check_mode) | first }}"
  run_once: true
"""

RETURN = r"""
_raw:
  description: One element, the report (a mapping for C(dict), text for C(json) and C(junit)).
  type: list
"""

import json  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleError, AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

try:
    from mason.core.controls import DRIFT, evaluate, load_catalogue, render_json, render_junit
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

ENV = "MASON_EVENTS_FILE"


def read_events(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if _IMPORT_ERROR is not None:
            raise AnsibleError(f"the mason package is not importable here: {_IMPORT_ERROR}")
        self.set_options(var_options=variables, direct=kwargs)
        path = os.environ.get(ENV)
        if not path or not os.path.isfile(path):
            raise AnsibleLookupError(
                "mason's event recorder is not enabled in this run: set "
                "ANSIBLE_CALLBACKS_ENABLED=mason.mason.events (the mason execution environment "
                "and the repository's ansible.cfg do)"
            )
        catalogue = load_catalogue()
        areas = [a for a in catalogue.areas if a in self.get_option("run_tags")] or list(
            catalogue.areas
        )
        areas = [a for a in areas if a not in self.get_option("skip_tags")]
        report = evaluate(
            read_events(path),
            catalogue,
            hosts=list(self.get_option("hosts")),
            check=self.get_option("check"),
            areas=areas,
        )
        fmt = self.get_option("format")
        if fmt == "json":
            return [render_json(report)]
        if fmt == "junit":
            return [render_junit(report)]
        drifted = sorted(f"{f.host} {f.control}" for f in report.by_status(DRIFT))
        return [{**report.to_dict(), "drifted": drifted}]
