"""Running a playbook against pods, and what a failed run means for the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mason.core.errors import HostsUnreachable, RunFailed
from mason.operations.lookup import inventory_of
from mason.operations.session import Session
from mason.runner import RunResult, run_playbook


def run(
    session: Session,
    playbook: str,
    *,
    title: str,
    pods: Sequence[str] | None = None,
    raise_on_failure: bool = True,
    **kwargs: Any,
) -> RunResult:
    """Run ``playbook`` on ``pods`` (each asked of its own provider), watched by the session.

    Raises the run's error (:func:`raise_for_failures`) unless ``raise_on_failure`` is
    false, in which case the caller decides (harden reports its controls first).
    """
    if pods and "providers" not in kwargs and kwargs.get("inventory") is None:
        kwargs.update(inventory_of(session.project_dir, pods))
    with session.watch(title) as handler:
        result = run_playbook(
            playbook,
            project_dir=session.project_dir,
            pods=pods,
            verbosity=max(0, session.verbosity - 1),
            event_handler=handler,
            **kwargs,
        )
    session.finished(result)
    if raise_on_failure:
        raise_for_failures(result, playbook.removesuffix(".yml"))
    return result


def raise_for_failures(result: RunResult, what: str) -> None:
    """A failed run as its one-line error: exit 7 when hosts were only unreachable, else 6."""
    if result.ok:
        return
    failed = sorted({f.host for f in result.failures if not f.unreachable})
    unreachable = sorted({f.host for f in result.failures if f.unreachable})
    if unreachable and not failed:
        raise HostsUnreachable(f"{what}: unreachable over SSH: {', '.join(unreachable)}")
    first = next((f for f in result.failures if not f.unreachable), None)
    detail = (
        f"{first.host}: {first.task}: {first.message}" if first else result.error or result.status
    )
    more = f" (+{len(result.failures) - 1} more, see above)" if len(result.failures) > 1 else ""
    raise RunFailed(f"{what} failed on {len(failed) or 'some'} host(s): {detail}{more}")


def task_results(result: RunResult, task: str) -> dict[str, dict[str, Any]]:
    """Each host's result of the task named ``task`` (its last ok run), from the job events."""
    found: dict[str, dict[str, Any]] = {}
    for event in result.events():
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and data.get("task") == task:
            found[data.get("host", "")] = data.get("res") or {}
    return found


def stats_data(result: RunResult) -> dict[str, Any]:
    """What the run's playbooks handed back with ``set_stats`` (``per_host: false``)."""
    for event in reversed(result.events()):
        if event.get("event") == "playbook_on_stats":
            data = (event.get("event_data") or {}).get("artifact_data")
            return dict(data) if isinstance(data, dict) else {}
    return {}
