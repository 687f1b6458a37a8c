"""Show a playbook run: live on a terminal, plain lines in a pipe, JSON events with --json."""

from __future__ import annotations

import time
from typing import Any

from rich import box
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mason.cli._context import Ctx
from mason.runner import RunResult, failure_message, outcome

# Keys of an event that are safe and useful to pass on with --json: never the
# whole result, which may hold file contents or command output.
_RESULT_KEYS = ("changed", "msg", "rc", "skipped")


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("event_data") or {}
    out: dict[str, Any] = {"event": event.get("event"), "counter": event.get("counter")}
    for key in ("play", "task", "host"):
        if data.get(key):
            out[key] = data[key]
    res = data.get("res")
    if isinstance(res, dict):
        out["result"] = {k: res[k] for k in _RESULT_KEYS if k in res}
    return out


class RunView:
    """An ansible-runner event handler that renders progress for one run."""

    def __init__(self, ctx: Ctx, title: str) -> None:
        self.ctx = ctx
        self.title = title
        self.task = ""
        self.counts: dict[str, dict[str, int]] = {}
        self.started = time.monotonic()
        self.live: Live | None = None

    def __enter__(self) -> RunView:
        if self.ctx.interactive:
            # get_renderable: redrawn on every refresh, so elapsed time ticks between events
            self.live = Live(
                console=self.ctx.err, refresh_per_second=4, get_renderable=self._render
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.__exit__(None, None, None)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:5.1f}s"

    def _render(self) -> Group:
        # The title is a line of its own: as a table title it would wrap to the
        # table's width and hide long task names.
        header = Text.assemble(
            (self.title, "bold"), f"  {self._elapsed()}  ", (self.task or "starting", "cyan")
        )
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1))
        for col in ("host", "ok", "changed", "failed", "unreachable"):
            table.add_column(col, justify="left" if col == "host" else "right")
        for host, c in sorted(self.counts.items()):
            table.add_row(
                host,
                str(c["ok"]),
                Text(str(c["changed"]), style="yellow" if c["changed"] else ""),
                Text(str(c["failed"]), style="red" if c["failed"] else ""),
                Text(str(c["unreachable"]), style="red" if c["unreachable"] else ""),
            )
        return Group(header, table)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if self.ctx.json:
            if kind not in ("verbose", "runner_on_start", "playbook_on_no_hosts_remaining"):
                self.ctx.emit_json(_event_json(event))
            return
        if kind == "playbook_on_task_start":
            self.task = data.get("task", "")
            if not self.live and self.ctx.verbosity:
                self.ctx.err.print(f"[{self._elapsed()}] TASK {self.task}")
        else:
            self._host_event(event, data)

    def _host_event(self, event: dict[str, Any], data: dict[str, Any]) -> None:
        kind = outcome(event)
        if kind is None:
            return
        host = data["host"]
        c = self.counts.setdefault(host, {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0})
        # Ansible's recap counts a changed task as ok too; the final figures are the
        # recap's own (report()), these only show the run moving.
        if kind in ("ok", "changed"):
            c["ok"] += 1
        if kind in c:
            c[kind] += 1
        if not self.live and (kind in ("failed", "unreachable", "changed") or self.ctx.verbosity):
            line = f"[{self._elapsed()}] {host}: {kind}: {data.get('task', '')}"
            if kind in ("failed", "unreachable"):
                line += f": {failure_message(data.get('res') or {})}"
            self.ctx.err.print(line, markup=False)


def report(ctx: Ctx, result: RunResult) -> None:
    """The summary after a run: per-host counts, then each failure."""
    if ctx.json:
        ctx.emit_json({"event": "summary", **result.to_dict()})
        return
    if not ctx.interactive:
        for host, s in sorted(result.stats.items()):
            ctx.err.print(
                f"{host}: ok={s.ok} changed={s.changed} failed={s.failed} "
                f"unreachable={s.unreachable}",
                markup=False,
            )
    for f in result.failures:
        what = "unreachable" if f.unreachable else "failed"
        ctx.err.print(f"{what}: {f.host}: {f.task}: {f.message}", markup=False, style="red")
    if result.error:
        ctx.err.print(f"ansible: {result.error}", markup=False, style="red")
    ctx.err.print(
        f"{result.playbook}: {result.status} in {result.elapsed:.1f}s, "
        f"{result.changed} changed (artifacts: {result.artifact_dir})",
        markup=False,
    )
