"""Hardening controls: the catalogue, and what a run's task results say about each one.

The catalogue lives in ``controls.yml`` next to this module (one source of truth
for ``mason harden controls``, ``docs/controls.md`` and the reports). The roles
follow one convention that ties a run back to it:

- a task that enforces a control carries its ID in its name
  (``SSH config | MSN-SSH-03 | ...``); a task may serve several controls;
- in check mode, such a task reporting ``changed`` (or a command that "would
  have run") means its control has drifted; in a normal run it was ``fixed``;
- a task may state statuses itself: an ``ansible.builtin.debug`` whose ``msg``
  is ``{mason_control: ID or [IDs], status: ..., detail: ...}``, or
  ``{mason_controls: [such mappings]}`` (each role's one report task: ``pass``
  for what its probe found in order, ``not-applicable``, ``unavailable``, and
  drift that is reported, not fixed);
- a loop over the items that need a change which has no items is a pass;
- when one task serves several controls, each changed line of its diff (or
  each detail line) goes to the control whose ``keys`` it starts with (or whose
  ID it names); a line matching none goes to all the task's controls, and
  the task's controls no line went to pass (their settings did not change).

Pure logic: events come in as dicts (ansible-runner's), reports go out as text.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

CONTROLS_FILE = Path(__file__).with_name("controls.yml")
ID_RE = re.compile(r"\bMSN-[A-Z]+-\d+\b")

# Statuses, worst first: the worst piece of evidence decides a control's status.
ERROR = "error"
DRIFT = "drift"
FIXED = "fixed"
UNAVAILABLE = "unavailable"
NOT_APPLICABLE = "not-applicable"
PASS = "pass"  # noqa: S105 - a status, not a password
NOT_CHECKED = "not-checked"
SEVERITY = [ERROR, DRIFT, FIXED, UNAVAILABLE, NOT_APPLICABLE, PASS, NOT_CHECKED]
STATUSES = tuple(SEVERITY)
REPORTABLE = {DRIFT, FIXED, UNAVAILABLE, NOT_APPLICABLE, PASS}
# Statuses that are fine in a check: the host is as hardened as it can be.
ACCEPTABLE = {PASS, NOT_APPLICABLE, UNAVAILABLE}
REF_TITLES = {
    "cis_docker": "CIS Docker 1.6",
    "cis_debian": "CIS Debian 12",
    "devsec": "dev-sec",
    "lynis": "Lynis",
}
MAX_DETAIL_LINES = 8


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    role: str


@dataclass(frozen=True)
class Control:
    id: str
    area: str
    title: str
    refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    note: str = ""

    def refs_text(self) -> str:
        parts = []
        for kind, items in self.refs.items():
            if items:
                parts.append(f"{REF_TITLES.get(kind, kind)} {', '.join(items)}")
        return "; ".join(parts)

    def owns_line(self, line: str) -> bool:
        """Does this diff/detail line belong to this control (by ID or by key)?"""
        if self.id in line:
            return True
        text = line.strip().lstrip("+-").strip().lstrip('"').lower()
        for key in self.keys:
            k = key.lower()
            if text.startswith(k) and (len(text) == len(k) or not _ident(text[len(k)])):
                return True
        return False


def _ident(ch: str) -> bool:
    return ch.isalnum() or ch in "_.-"


@dataclass(frozen=True)
class Section:
    """A section of a benchmark, and what mason leaves out of it (and why)."""

    section: str
    title: str
    gaps: str = ""


@dataclass(frozen=True)
class Catalogue:
    areas: Mapping[str, Area]
    controls: tuple[Control, ...]
    # benchmark (a refs key) -> its sections, in order
    sections: Mapping[str, tuple[Section, ...]] = field(default_factory=dict)

    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}

    def in_areas(self, areas: Iterable[str] | None) -> tuple[Control, ...]:
        wanted = set(areas) if areas is not None else None
        return tuple(c for c in self.controls if wanted is None or c.area in wanted)


class CatalogueError(ValueError):
    pass


def load_catalogue(path: Path | None = None) -> Catalogue:
    data = yaml.safe_load((path or CONTROLS_FILE).read_text())
    return parse_catalogue(data)


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    areas = {name: Area(name, spec["title"], spec["role"]) for name, spec in data["areas"].items()}
    controls: list[Control] = []
    seen: set[str] = set()
    for raw in data["controls"]:
        cid = raw["id"]
        if not ID_RE.fullmatch(cid):
            raise CatalogueError(f"control id {cid!r} is not of the form MSN-AREA-NN")
        if cid in seen:
            raise CatalogueError(f"control id {cid} appears twice")
        if raw["area"] not in areas:
            raise CatalogueError(f"{cid}: unknown area {raw['area']!r} (areas: {', '.join(areas)})")
        seen.add(cid)
        controls.append(
            Control(
                id=cid,
                area=raw["area"],
                title=raw["title"],
                refs={k: tuple(str(i) for i in v) for k, v in (raw.get("refs") or {}).items()},
                keys=tuple(str(k) for k in raw.get("keys") or ()),
                note=" ".join(str(raw.get("note", "")).split()),
            )
        )
    sections = {
        kind: tuple(
            Section(str(s["section"]), s["title"], " ".join(str(s.get("gaps") or "").split()))
            for s in items
        )
        for kind, items in (data.get("sections") or {}).items()
    }
    for kind, listed in sections.items():
        known = {s.section for s in listed}
        for control in controls:
            for ref in control.refs.get(kind, ()):
                if section_of(ref, known) is None:
                    raise CatalogueError(
                        f"{control.id}: {kind} {ref} is in no section listed under sections.{kind}"
                    )
    return Catalogue(areas, tuple(controls), sections)


def section_of(ref: str, sections: Iterable[str]) -> str | None:
    """The longest listed section ``ref`` falls in ("5.3.3.2.1" -> "5.3"), if any."""
    hits = [s for s in sections if ref == s or ref.startswith(s + ".")]
    return max(hits, key=len) if hits else None


# -- which tasks enforce which control (read from the roles) -----------------------


def control_tasks(roles_dir: Path, catalogue: Catalogue) -> dict[str, list[str]]:
    """Control ID -> "role/tasks/file.yml: task name" of every task that names it."""
    found: dict[str, list[str]] = {c.id: [] for c in catalogue.controls}
    for area in catalogue.areas.values():
        tasks_dir = roles_dir / area.role / "tasks"
        for path in sorted(tasks_dir.glob("*.yml")):
            for task in yaml.safe_load(path.read_text()) or []:
                name = task.get("name", "") if isinstance(task, dict) else ""
                for cid in ID_RE.findall(name):
                    found.setdefault(cid, []).append(f"{area.role}/tasks/{path.name}: {name}")
    return found


# -- evaluating a run ---------------------------------------------------------------


@dataclass
class Finding:
    host: str
    control: str
    status: str = NOT_CHECKED
    details: list[str] = field(default_factory=list)

    def add(self, status: str, details: Sequence[str] = ()) -> None:
        if SEVERITY.index(status) < SEVERITY.index(self.status):
            self.status = status
        for line in details:
            if line and line not in self.details and len(self.details) < MAX_DETAIL_LINES:
                self.details.append(line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "control": self.control,
            "status": self.status,
            "details": list(self.details),
        }


@dataclass
class Report:
    catalogue: Catalogue
    controls: tuple[Control, ...]
    hosts: list[str]
    check: bool
    findings: dict[tuple[str, str], Finding]

    def finding(self, host: str, control: str) -> Finding:
        return self.findings[(host, control)]

    def by_status(self, *statuses: str) -> list[Finding]:
        return [f for f in self.findings.values() if f.status in statuses]

    @property
    def drifted(self) -> list[Finding]:
        return self.by_status(DRIFT)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for f in self.findings.values():
            out[f.status] += 1
        return {s: n for s, n in out.items() if n}

    def to_dict(self) -> dict[str, Any]:
        by_id = self.catalogue.by_id()
        return {
            "mode": "check" if self.check else "apply",
            "hosts": self.hosts,
            "counts": self.counts(),
            "drift": bool(self.drifted),
            "controls": [
                {
                    "id": c.id,
                    "area": c.area,
                    "title": c.title,
                    "refs": {k: list(v) for k, v in c.refs.items()},
                    "hosts": {
                        h: {
                            "status": self.finding(h, c.id).status,
                            "details": self.finding(h, c.id).details,
                        }
                        for h in self.hosts
                    },
                }
                for c in self.controls
                if c.id in by_id
            ],
        }


def _diff_lines(diff: Any) -> list[str]:
    """The changed lines of an Ansible diff (dict or list of dicts)."""
    out: list[str] = []
    for d in diff if isinstance(diff, list) else [diff]:
        if not isinstance(d, Mapping):
            continue
        before, after = d.get("before"), d.get("after")
        if isinstance(before, Mapping) or isinstance(after, Mapping):
            b, a = dict(before or {}), dict(after or {})
            path = a.get("path") or b.get("path") or ""
            for key in sorted(set(a) | set(b)):
                if key != "path" and a.get(key) != b.get(key):
                    out.append(f"{path}: {key} {b.get(key)} -> {a.get(key)}".strip())
        elif isinstance(before, str) or isinstance(after, str):
            for line in difflib.unified_diff(
                str(before or "").splitlines(), str(after or "").splitlines(), lineterm="", n=0
            ):
                if line.startswith(("---", "+++", "@@")):
                    continue
                if line[:1] in "+-":
                    out.append(line)
    return out


def _changes(
    res: Mapping[str, Any], ids: Sequence[str], task: str, verb: str = "would change"
) -> list[tuple[list[str], list[str]]]:
    """What a changed result says changed, as (control IDs, lines) pairs.

    A loop item that is a mapping with ``mason_control`` names its own controls
    (one loop writing several files); otherwise the task's IDs apply.
    """
    out: list[tuple[list[str], list[str]]] = []
    if res.get("diff"):
        out.append((list(ids), _diff_lines(res["diff"])))
    for item in res.get("results") or ():
        if not isinstance(item, Mapping) or not item.get("changed"):
            continue
        declared = item.get("item")
        item_ids = list(ids)
        if isinstance(declared, Mapping) and declared.get("mason_control"):
            own = declared["mason_control"]
            item_ids = [own] if isinstance(own, str) else list(own)
        label = _item_label(item)
        lines = _diff_lines(item["diff"]) if item.get("diff") else []
        out.append((item_ids, lines or [f"{label}: {verb}" if label else task]))
    if not any(lines for _, lines in out):
        stdout = [str(x) for x in res.get("stdout_lines") or () if str(x)]
        out = [(list(ids), stdout or [f"{task}: {verb}"])]
    return [(i, [x for x in lines if x]) for i, lines in out]


def _item_label(item: Mapping[str, Any]) -> str:
    label = item.get("_ansible_item_label", item.get("item"))
    if isinstance(label, Mapping):
        label = (
            label.get("path")
            or label.get("dest")
            or label.get("key")
            or json.dumps(label, sort_keys=True)
        )
    return str(label) if label is not None else ""


def _attribute(
    ids: Sequence[str], lines: Sequence[str], by_id: Mapping[str, Control]
) -> dict[str, list[str]]:
    """Split lines among the controls of a task (see the module doc)."""
    if len(ids) == 1:
        return {ids[0]: list(lines)}
    out: dict[str, list[str]] = {}
    for line in lines:
        owners = [i for i in ids if i in by_id and by_id[i].owns_line(line)]
        for cid in owners or ids:
            out.setdefault(cid, []).append(line)
    return out


def _one_explicit(msg: Mapping[str, Any]) -> tuple[list[str], str, list[str]]:
    ids = msg.get("mason_control") or []
    ids = [ids] if isinstance(ids, str) else list(ids)
    status = str(msg.get("status", PASS))
    if status not in REPORTABLE:
        status = DRIFT
    detail = msg.get("detail") or []
    detail = [detail] if isinstance(detail, str) else [str(d) for d in detail]
    return ids, status, detail


def _explicit(res: Mapping[str, Any]) -> list[tuple[list[str], str, list[str]]] | None:
    """Statuses a task states itself: one ``mason_control`` or a ``mason_controls`` list."""
    msg = res.get("msg")
    if not isinstance(msg, Mapping):
        return None
    if "mason_controls" in msg:
        return [_one_explicit(m) for m in msg["mason_controls"] or () if isinstance(m, Mapping)]
    if "mason_control" in msg:
        return [_one_explicit(msg)]
    return None


_TASK_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


def evaluate(
    events: Iterable[Mapping[str, Any]],
    catalogue: Catalogue,
    *,
    hosts: Sequence[str],
    check: bool,
    areas: Iterable[str] | None = None,
) -> Report:
    """Turn a run's events into one finding per control per host."""
    controls = catalogue.in_areas(areas)
    judge = _Judge(controls, hosts, check)
    for ev in events:
        judge.event(ev)
    judge.mark_broken()
    return Report(catalogue, controls, list(hosts), check, judge.findings)


class _Judge:
    """The findings of one evaluation, as each event adds to them."""

    def __init__(self, controls: Sequence[Control], hosts: Sequence[str], check: bool) -> None:
        self.controls = controls
        self.hosts = hosts
        self.check = check
        self.by_id = {c.id: c for c in controls}
        self.findings = {(h, c.id): Finding(h, c.id) for h in hosts for c in controls}
        self.broken: dict[str, str] = {}  # host -> why its run stopped
        # host -> unreachable, unless its run went on: a task delegated to another host
        # (ignore_unreachable) reports the other host's connection under this one.
        self.lost: dict[str, str] = {}

    def note(self, host: str, cid: str, status: str, details: Sequence[str] = ()) -> None:
        f = self.findings.get((host, cid))
        if f is not None:
            f.add(status, details)

    def event(self, ev: Mapping[str, Any]) -> None:
        kind = ev.get("event", "")
        data = ev.get("event_data") or {}
        host = data.get("host")
        if host not in self.hosts or kind not in _TASK_EVENTS:
            return
        res = data.get("res") or {}
        if kind == "runner_on_unreachable":
            self.lost[host] = f"unreachable: {res.get('msg', '')}".strip()
            return
        self.lost.pop(host, None)
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            self.broken.setdefault(host, f"{data.get('task', '')}: {res.get('msg', 'failed')}")
        explicit = _explicit(res) if kind == "runner_on_ok" else None
        if explicit is not None:
            self.stated(host, explicit)
            return
        ids = [i for i in dict.fromkeys(ID_RE.findall(data.get("task", ""))) if i in self.by_id]
        if ids:
            self.task_result(host, kind, data, res, ids)

    def stated(self, host: str, explicit: list[tuple[list[str], str, list[str]]]) -> None:
        """Statuses a task reported itself (``mason_control`` / ``mason_controls``)."""
        for ex_ids, status, detail in explicit:
            ex_ids = [i for i in ex_ids if i in self.by_id]
            if status == DRIFT and len(ex_ids) > 1:
                split = _attribute(ex_ids, detail, self.by_id)
                for cid in ex_ids:
                    # Covered by the report, but none of its lines differ.
                    self.note(host, cid, DRIFT if cid in split else PASS, split.get(cid, ()))
            else:
                for cid in ex_ids:
                    self.note(host, cid, status, detail)

    def task_result(
        self, host: str, kind: str, data: Mapping[str, Any], res: Mapping[str, Any], ids: list[str]
    ) -> None:
        """The result of a task whose name carries control ids."""
        task = data.get("task", "")
        if kind == "runner_on_failed":
            if not data.get("ignore_errors"):
                for cid in ids:
                    self.note(host, cid, ERROR, [f"{task}: {res.get('msg', 'failed')}"])
        elif kind == "runner_on_skipped" or res.get("skipped"):
            reason = str(
                res.get("skipped_reason") or res.get("skip_reason") or res.get("msg") or ""
            )
            if "would have run" in reason:
                for cid in ids:
                    self.note(host, cid, DRIFT if self.check else FIXED, [task])
            elif reason.startswith("No items"):
                for cid in ids:
                    self.note(host, cid, PASS)
        elif res.get("changed"):
            self.changed(host, res, ids, task)
        else:
            for cid in ids:
                self.note(host, cid, PASS)

    def changed(self, host: str, res: Mapping[str, Any], ids: list[str], task: str) -> None:
        status = DRIFT if self.check else FIXED
        touched: set[str] = set()
        verb = "would change" if self.check else "changed"
        for item_ids, lines in _changes(res, ids, task, verb):
            for cid, sub in _attribute(item_ids, lines, self.by_id).items():
                self.note(host, cid, status, sub)
                touched.add(cid)
        if not res.get("results"):  # one file of several controls' settings:
            for cid in ids:  # those whose lines did not change pass
                if cid not in touched:
                    self.note(host, cid, PASS)

    def mark_broken(self) -> None:
        """A host whose run stopped: every control not judged yet is an error, and why."""
        for host, why in {**self.broken, **self.lost}.items():
            for c in self.controls:
                f = self.findings[(host, c.id)]
                if f.status == NOT_CHECKED:
                    f.add(ERROR, [why])


# -- rendering ---------------------------------------------------------------------


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_junit(report: Report, *, name: str = "mason harden") -> str:
    """One test case per control per host: drift fails, error errors, n/a skips."""
    suites = ET.Element("testsuites", name=name)
    for host in report.hosts:
        cases = [report.finding(host, c.id) for c in report.controls]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=host,
            tests=str(len(cases)),
            failures=str(sum(f.status == DRIFT for f in cases)),
            errors=str(sum(f.status in (ERROR, NOT_CHECKED) for f in cases)),
            skipped=str(sum(f.status in (NOT_APPLICABLE, UNAVAILABLE) for f in cases)),
        )
        by_id = report.catalogue.by_id()
        for f in cases:
            c = by_id[f.control]
            case = ET.SubElement(
                suite, "testcase", classname=f"{host}.{c.area}", name=f"{c.id} {c.title}"
            )
            text = "\n".join(f.details)
            if f.status == DRIFT:
                ET.SubElement(case, "failure", message="drift", type="drift").text = text
            elif f.status in (ERROR, NOT_CHECKED):
                ET.SubElement(case, "error", message=f.status, type=f.status).text = text
            elif f.status in (NOT_APPLICABLE, UNAVAILABLE):
                ET.SubElement(case, "skipped", message=f"{f.status}: {text}".rstrip(": "))
            elif f.status == FIXED:
                ET.SubElement(case, "system-out").text = f"fixed\n{text}".rstrip()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def render_markdown(catalogue: Catalogue, tasks: Mapping[str, Sequence[str]]) -> str:
    lines = [
        "# Hardening controls",
        "",
        "<!-- Generated from mason/core/controls.yml by "
        "`mason harden controls --markdown > docs/controls.md`; do not edit. -->",
        "",
        "Every control `mason harden` enforces and checks. Statuses in a check: `pass`, "
        "`drift` (with what differs), `not-applicable` (e.g. a shared kernel) and "
        "`unavailable` (the host lacks the feature, e.g. a kernel without AppArmor). "
        "See [hardening.md](hardening.md) for usage.",
        "",
        f"{len(catalogue.controls)} controls in {len(catalogue.areas)} areas.",
    ]
    for area in catalogue.areas.values():
        lines += [
            "",
            f"## {area.title} (`--only {area.name}`, role `{area.role}`)",
            "",
            "| ID | Control | Benchmarks | Enforced by |",
            "| --- | --- | --- | --- |",
        ]
        for c in catalogue.controls:
            if c.area != area.name:
                continue
            title = c.title + (f" *Note: {c.note}*" if c.note else "")
            files = sorted({t.split(":", 1)[0] for t in tasks.get(c.id, ())})
            lines.append(
                f"| {c.id} | {_md(title)} | {_md(c.refs_text()) or '-'} | "
                f"{'<br>'.join(f'`{p}`' for p in files) or '-'} |"
            )
    for kind, listed in catalogue.sections.items():
        lines += _coverage(catalogue, kind, listed)
    return "\n".join(lines) + "\n"


def _coverage(catalogue: Catalogue, kind: str, listed: Sequence[Section]) -> list[str]:
    """The coverage table of one benchmark: per section, the controls that cite it and
    what mason leaves out."""
    known = [s.section for s in listed]
    citing: dict[str, list[str]] = {s: [] for s in known}
    for c in catalogue.controls:
        for ref in c.refs.get(kind, ()):
            section = section_of(ref, known)
            if section is not None and c.id not in citing[section]:
                citing[section].append(c.id)
    lines = [
        "",
        f"## {REF_TITLES.get(kind, kind)}: coverage by section",
        "",
        "| Section | mason's controls | Left out, and why |",
        "| --- | --- | --- |",
    ]
    for s in listed:
        ids = ", ".join(citing[s.section]) or "none"
        lines.append(f"| {s.section} {_md(s.title)} | {ids} | {_md(s.gaps) or '-'} |")
    return lines


def _md(text: str) -> str:
    return text.replace("|", "\\|")
