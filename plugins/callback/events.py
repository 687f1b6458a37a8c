"""Ansible callback: record each task result as ansible-runner would, for mason's verdicts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: events
type: aggregate
short_description: Records task results for mason's verdicts (harden drift)
description:
  - Keeps every task result of the run as ansible-runner's job events have it (C(event),
    C(event_data.host), C(task), C(res), C(ignore_errors)), so that the lookup
    C(mason_harden_report) judges each hardening control exactly as C(mason harden) does
    from ansible-runner's events - in a plain C(ansible-playbook) run or an AWX job.
  - The results go to a private temporary file (mode 0600, in a 0700 directory) named in the
    C(MASON_EVENTS_FILE) environment variable of the run's processes, and removed when the run
    ends. Results of C(no_log) tasks are censored as ansible-runner censors them.
  - Enable it with C(ANSIBLE_CALLBACKS_ENABLED=mason.mason.events) (the mason execution
    environment sets it) or C(callbacks_enabled) in C(ansible.cfg).
requirements:
  - the mason Python package on the controller (for the lookup that reads the results)
"""

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402

ENV = "MASON_EVENTS_FILE"
CENSORED = (
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
)


def _censor(res):
    """ansible-runner's censoring of no_log results (display_callback)."""
    if res.get("_ansible_no_log"):
        return {"censored": CENSORED}
    if res.get("results"):
        res = dict(res)
        res["results"] = [
            {"censored": CENSORED} if isinstance(i, dict) and i.get("_ansible_no_log") else i
            for i in res["results"]
        ]
    return res


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mason.mason.events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dir = tempfile.mkdtemp(prefix="mason-events-")
        self._path = os.path.join(self._dir, "events.jsonl")
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "w", encoding="utf-8")
        # Workers (where lookups run) are started by this process later and inherit it.
        os.environ[ENV] = self._path

    def _record(self, event, result, **extra):
        task = result._task
        data = {"host": result._host.get_name(), "task": task.name or task.action, **extra}
        if event != "runner_on_skipped":  # ansible-runner's skipped events carry no result
            data["res"] = _censor(result._result)
        self._file.write(json.dumps({"event": event, "event_data": data}, default=str) + "\n")
        self._file.flush()

    def v2_runner_on_ok(self, result):
        self._record("runner_on_ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("runner_on_failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record("runner_on_skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._record("runner_on_unreachable", result)

    def v2_playbook_on_stats(self, stats):
        self._file.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        if os.environ.get(ENV) == self._path:
            del os.environ[ENV]
