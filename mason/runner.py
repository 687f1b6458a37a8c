"""Run playbooks through ansible-runner and stream their events. The only importer of it.

Each run gets a private data directory under ``<project>/.mason/runs/`` holding
ansible-runner's artifacts (events, stdout, status); the newest ``keep`` runs are
kept. Nothing secret is handed to ansible-runner: hosts are found by the inventory
plugin at run time and SSH keys are referenced by path, so no key or credential
is ever written into a run directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from mason.core.errors import EnvironmentProblem, NotFound
from mason.paths import content_root, playbook_path

EventHandler = Callable[[dict[str, Any]], None]
KEEP_RUNS = int(os.environ.get("MASON_KEEP_RUNS", "20"))
# Results of these events carry the per-host outcome of a task.
HOST_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


@dataclass
class HostStats:
    """One host's recap, as Ansible counts it (``ok`` includes ``changed``; a failure a
    ``rescue`` handled counts as ``rescued``, not ``failed``)."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


# ansible-runner's names of the recap's counters -> HostStats fields
_STATS_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass
class RunResult:
    playbook: str
    status: str  # ansible-runner's: successful, failed, timeout, canceled
    rc: int
    elapsed: float
    artifact_dir: Path
    stats: dict[str, HostStats] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    error: str = ""  # Ansible's own error when the run failed before any host did
    # where the job events are read from: ansible-runner's Runner (anything with ``.events``)
    source: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.stats.values())

    def events(self) -> list[dict[str, Any]]:
        """Every job event of the run, in order (ansible-runner reads its artifacts)."""
        return list(self.source.events) if self.source is not None else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "status": self.status,
            "rc": self.rc,
            "elapsed": round(self.elapsed, 2),
            "artifact_dir": str(self.artifact_dir),
            "hosts": {h: vars(s) for h, s in sorted(self.stats.items())},
            "failures": [vars(f) for f in self.failures],
            **({"error": self.error} if self.error else {}),
        }


def outcome(event: Mapping[str, Any]) -> str | None:
    """What a job event says about one host's task: ok, changed, failed, unreachable,
    skipped, or None for events that carry no such outcome. An ignored error is ok."""
    kind = HOST_EVENTS.get(event.get("event", ""))
    data = event.get("event_data") or {}
    if kind is None or not data.get("host"):
        return None
    if kind == "failed" and data.get("ignore_errors"):
        return "ok"
    if kind == "ok" and (data.get("res") or {}).get("changed"):
        return "changed"
    return kind


def failure_message(res: Mapping[str, Any]) -> str:
    """The most useful one line of a failed task's result."""
    for key in ("msg", "stderr", "reason", "module_stderr", "stdout"):
        value = res.get(key)
        if value:
            text = str(value).strip().splitlines()
            if text:
                return text[-1] if key in ("module_stderr", "stderr") else text[0]
    return "failed"


def inventory_config(
    pods: Sequence[str] | None,
    providers: Sequence[str] = ("docker",),
    provider_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The inventory plugin's config for these pods (all pods when None).

    Provider options are settings such as a region or an endpoint, never
    credentials (those come from the environment), so they may be written here.
    """
    config: dict[str, Any] = {"plugin": "mason", "providers": list(providers)}
    if pods:
        config["pods"] = list(pods)
    if provider_options:
        config["provider_options"] = {k: dict(v) for k, v in provider_options.items()}
    return config


def _scrub(run_dir: Path) -> None:
    """Drop environment values from ansible-runner's ``command`` artifacts.

    ansible-runner always writes the child's whole environment (which may hold
    cloud credentials) to ``artifacts/<id>/command`` (mode 0600) when a run
    starts. mason keeps only the variable names once the run is over, and scrubs
    leftovers of interrupted runs before each new run.
    """
    for path in run_dir.glob("**/artifacts/*/command"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        if isinstance(data.get("env"), dict):
            data["env"] = sorted(data["env"])
            path.write_text(json.dumps(data))


def _new_run_dir(project_dir: Path, playbook: str) -> Path:
    runs = project_dir / ".mason" / "runs"
    runs.mkdir(parents=True, exist_ok=True, mode=0o700)
    _scrub(runs)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    run_dir = runs / f"{stamp}-{Path(playbook).stem}"
    run_dir.mkdir(mode=0o700)
    _prune(runs, KEEP_RUNS)
    return run_dir


def _prune(runs: Path, keep: int) -> None:
    old = sorted(p for p in runs.iterdir() if p.is_dir())
    for path in old[: max(0, len(old) - keep)]:
        shutil.rmtree(path, ignore_errors=True)


def run_playbook(
    playbook: str,
    *,
    project_dir: Path,
    pods: Sequence[str] | None = None,
    providers: Sequence[str] = ("docker",),
    provider_options: Mapping[str, Mapping[str, Any]] | None = None,
    inventory: str | None = None,
    extravars: Mapping[str, Any] | None = None,
    limit: str | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    forks: int = 20,
    event_handler: EventHandler | None = None,
) -> RunResult:
    """Run ``playbooks/<playbook>`` against the hosts of ``pods`` (via the inventory plugin,
    asking ``providers`` with ``provider_options``).

    ``inventory`` may instead name an inventory file or directory (AWX-style runs).
    Events go to ``event_handler`` as they happen; the summary comes back as a RunResult.
    """
    path = playbook_path(playbook)
    if not path.is_file():
        raise NotFound(f"playbook {path} does not exist")
    root = content_root()
    run_dir = _new_run_dir(project_dir, playbook)
    if inventory is None:
        inventory = _write_inventory(run_dir, inventory_config(pods, providers, provider_options))
    envvars = _child_env(root, project_dir)
    cmdline = [flag for flag, on in (("--check", check), ("--diff", diff)) if on]
    if shutil.which("ansible-playbook", path=envvars["PATH"]) is None:
        raise EnvironmentProblem("ansible-playbook not found", hint="run scripts/setup.sh")
    started = time.monotonic()
    try:
        runner = ansible_runner.run(
            private_data_dir=str(run_dir),
            project_dir=str(root),
            playbook=str(path),
            inventory=inventory,
            extravars=dict(extravars or {}),
            limit=limit,
            tags=",".join(tags) or None,
            skip_tags=",".join(skip_tags) or None,
            verbosity=verbosity or None,
            forks=forks,
            cmdline=" ".join(cmdline) or None,
            envvars=envvars,
            event_handler=_keeping(event_handler),
            quiet=True,
            # Runs must not leave a copy of the caller's environment (which may hold
            # cloud credentials) in the run directory.
            suppress_env_files=True,
        )
    finally:
        _scrub(run_dir)
    return _result(path, runner, time.monotonic() - started)


def _write_inventory(run_dir: Path, config: Mapping[str, Any]) -> str:
    """The run's own inventory source: the mason plugin's config, in the run directory."""
    inv_dir = run_dir / "inventory"
    inv_dir.mkdir()
    source = inv_dir / "pods.mason.yml"
    source.write_text(yaml.safe_dump(config))
    return str(source)


def _child_env(root: Path, project_dir: Path) -> dict[str, str]:
    """What ansible-playbook runs with, on top of mason's own environment."""
    return {
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        # ansible-runner starts ansible-playbook by name: it must be this venv's.
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        # The inventory plugin runs in ansible's process: same project (static pods).
        "MASON_PROJECT_DIR": str(project_dir),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }


def _result(path: Path, runner: Any, elapsed: float) -> RunResult:
    """A finished ansible-runner run as mason reports it: recap, failures, Ansible's error."""
    stats = recap(runner.stats)
    failures = final_failures(runner.events, stats)
    return RunResult(
        playbook=path.name,
        status=runner.status,
        rc=runner.rc,
        elapsed=elapsed,
        artifact_dir=Path(runner.config.artifact_dir),
        stats=stats,
        failures=failures,
        error="" if failures or runner.rc == 0 else ansible_error(runner.stdout),
        source=runner,
    )


def _keeping(handler: EventHandler | None) -> Callable[[dict[str, Any]], bool]:
    """Pass each event on, then let ansible-runner keep it (a handler's falsy return
    would drop the event's artifact, which ``RunResult.events`` and reports read)."""

    def on_event(event: dict[str, Any]) -> bool:
        if handler is not None:
            handler(event)
        return True

    return on_event


def recap(raw: Mapping[str, Mapping[str, int]] | None) -> dict[str, HostStats]:
    """Ansible's own per-host recap (from the ``playbook_on_stats`` event)."""
    stats: dict[str, HostStats] = {}
    for key, counts in (raw or {}).items():
        attr = _STATS_KEYS.get(key)
        if attr is None:
            continue
        for host, n in (counts or {}).items():
            setattr(stats.setdefault(host, HostStats()), attr, int(n))
    return stats


def final_failures(
    events: Iterable[Mapping[str, Any]], stats: Mapping[str, HostStats]
) -> list[Failure]:
    """The failure that stopped each host the recap counts as failed or unreachable.

    A failure a ``rescue`` handled is followed by more of the host's tasks, so the
    last failed (or unreachable) event of a host is the one that stopped it.
    """
    last: dict[str, Failure] = {}
    for event in events:
        kind = outcome(event)
        if kind not in ("failed", "unreachable"):
            continue
        data = event["event_data"]
        host = data["host"]
        last[host] = Failure(
            host,
            data.get("task", ""),
            failure_message(data.get("res") or {}),
            kind == "unreachable",
        )
    return [
        f
        for host, f in sorted(last.items())
        if host in stats and (stats[host].unreachable if f.unreachable else stats[host].failed)
    ]


def ansible_error(stdout: Any) -> str:
    """The ``ERROR!`` line Ansible prints when a run fails before any task (syntax,
    inventory, a missing role), else the last line of its output."""
    try:
        lines = [line.strip() for line in stdout.read().splitlines() if line.strip()]
    except (AttributeError, OSError, ValueError):
        return ""
    errors = [line for line in lines if line.startswith("ERROR!") or line.startswith("[ERROR]")]
    return (errors or lines or [""])[0 if errors else -1][:300]
