"""The release ledger of an app on a pod, in pure Python: records, their chain, their checks.

Every deploy, rollback, automatic revert, scale or heal of an app writes one *release
record* on the pod's manager (``/etc/mason/releases/<app>/NNNNNN.json``, root 0600, by
``roles/app_ledger``). A record says what ran after it: the manifest's hash, each
service's image by reference, where each replica went, who did it, when, and from which
run. Each record carries the hash of the one before it, and its own hash over all of
that, so the records form a chain::

    hash = sha256(canonical JSON of the record without "hash")
    canonical JSON = keys sorted, no spaces, UTF-8

:func:`verify` finds an edited record (its hash no longer matches), a broken chain (a
record whose ``previous`` is not the hash of the one before) and gaps in the numbers.
An edit of any record but the newest is caught even when the editor recomputes that
record's hash, since the next record still names the old one; the newest record is
protected by its own hash only (anyone who can recompute it can also rewrite it: the
ledger is as safe as root on the manager).

This module does no I/O: the role reads and writes the files, a filter plugin
(``plugins/filter/mason_release.py``) calls :func:`make_record` and :func:`to_dict`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mason.core.errors import (
    InvalidInput,
    NotFound,
    describe,
    key_path,
    type_name,
    unknown_key_message,
)
from mason.core.names import check_name
from mason.core.posture import check as check_posture

KINDS = ("deploy", "rollback", "revert", "scale", "heal")
KEYS = (
    "number",
    "app",
    "kind",
    "manifest_hash",
    "images",
    "placement",
    "who",
    "when",
    "run_id",
    "previous",
    "note",
    "hash",
)
# Keys a record may carry beyond KEYS (records written before them lack them, and their
# hash covers only what they hold): posture, each service's (mason.core.posture);
# manifest, the app's manifest as data (what `pod heal` runs again with no checkout).
OPTIONAL_KEYS = ("posture", "manifest")
SLOT_KEYS = ("replica", "host", "zone")
MAX_NUMBER = 999_999  # six digits: the file name
MAX_REPLICA = 1000
MAX_TEXT = 1024  # one field of a record: an image reference, a note
MIN_PREFIX = 6  # a hash prefix `find` accepts
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")
_DIGITS = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, order=True)
class Slot:
    """Where one replica of a service runs."""

    replica: int
    host: str
    zone: str

    def to_dict(self) -> dict[str, Any]:
        return {"replica": self.replica, "host": self.host, "zone": self.zone}

    def __str__(self) -> str:
        return f"#{self.replica} on {self.host} ({self.zone})"


@dataclass(frozen=True)
class Release:
    """One record of the ledger. Build it with :func:`make_record` (which sets ``number``,
    ``previous`` and ``hash``) or read it with :func:`from_dict`."""

    number: int
    app: str
    kind: str
    manifest_hash: str
    images: Mapping[str, str]
    placement: Mapping[str, tuple[Slot, ...]]
    who: str
    when: str
    run_id: str
    previous: str
    note: str
    hash: str
    posture: Mapping[str, Any] = field(default_factory=dict)
    manifest: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The record as JSON data, without its hash (what the hash covers)."""
        body = {
            "number": self.number,
            "app": self.app,
            "kind": self.kind,
            "manifest_hash": self.manifest_hash,
            "images": dict(sorted(self.images.items())),
            "placement": {
                svc: [s.to_dict() for s in slots] for svc, slots in sorted(self.placement.items())
            },
            "who": self.who,
            "when": self.when,
            "run_id": self.run_id,
            "previous": self.previous,
            "note": self.note,
        }
        if self.posture:
            body["posture"] = {svc: dict(p) for svc, p in sorted(self.posture.items())}
        if self.manifest:
            body["manifest"] = dict(self.manifest)
        return body

    def computed_hash(self) -> str:
        return digest(self.body())

    @property
    def short(self) -> str:
        return self.hash[:12]

    @property
    def file_name(self) -> str:
        return file_name(self.number)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def canonical(data: Any) -> bytes:
    """The one JSON form hashes are taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: Any) -> str:
    """sha256 (hex) of ``data``'s canonical JSON."""
    return hashlib.sha256(canonical(data)).hexdigest()


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """The hash of an app manifest (its parsed document) as a record keeps it."""
    return digest(manifest)


def file_name(number: int) -> str:
    """The record's file under ``/etc/mason/releases/<app>/``: ``000003.json``."""
    return f"{number:06d}.json"


def now() -> str:
    """The current UTC time as records write it: ``2026-12-03T07:01:02Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- reading and checking -----------------------------------------------------------------
class _Fields:
    """Checks one record's fields; the first problem becomes the one error line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def text(self, data: Mapping[str, Any], key: str, *, empty: bool = False) -> str:
        value = data.get(key)
        if not isinstance(value, str):
            self.bad(key, f"expected a string, got {describe(value)}")
            return ""
        return self.check_text(key, value, empty=empty)

    def check_text(self, path: str, value: str, *, empty: bool = False) -> str:
        if not value.strip() and not empty:
            self.bad(path, "must not be empty")
        elif len(value) > MAX_TEXT:
            self.bad(path, f"at most {MAX_TEXT} characters, got {len(value)}")
        elif not value.isprintable():
            self.bad(path, f"must be printable text on one line, got {value[:40]!r}")
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise InvalidInput(f"{self.source}: {self.problems[0]}{more}")


def _number(f: _Fields, path: str, value: Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        f.bad(path, f"expected an integer, got {describe(value)}")
        return 0
    if not 1 <= value <= high:
        f.bad(path, f"must be between 1 and {high}, got {value}")
    return value


def _hex64(f: _Fields, path: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        f.bad(path, f"expected a string, got {describe(value)}")
        return ""
    if (value or not empty) and not _HEX64.fullmatch(value):
        f.bad(path, f"expected a sha256 (64 lower-case hex digits), got {value[:80]!r}")
    return value


def _name(f: _Fields, path: str, kind: str, value: Any) -> str:
    try:
        return check_name(kind, value)
    except InvalidInput as exc:
        f.bad(path, exc.message)
        return str(value)


def _when(f: _Fields, value: Any) -> str:
    if not isinstance(value, str):
        f.bad("when", f"expected a string, got {describe(value)}")
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        f.bad("when", f"expected an ISO 8601 UTC time such as 2026-12-03T07:01:02Z, got {value!r}")
        return value
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        f.bad("when", f"must be in UTC (ending in Z or +00:00), got {value!r}")
    return value


def _per_service(f: _Fields, field: str, value: Any, what: str) -> Iterator[tuple[str, str, Any]]:
    """(service, its path, its value) of a mapping of service names to ``what``; a value that
    is not a mapping is recorded as bad and yields nothing."""
    if not isinstance(value, dict):
        f.bad(field, f"expected a mapping of service to {what}, got {type_name(value)}")
        return
    for svc, item in value.items():
        path = key_path(field, svc)
        _name(f, path, "service", svc)
        yield str(svc), path, item


def _images(f: _Fields, value: Any) -> dict[str, str]:
    out = {}
    for svc, path, ref in _per_service(f, "images", value, "image"):
        if not isinstance(ref, str):
            f.bad(path, f"expected an image reference, got {describe(ref)}")
            continue
        f.check_text(path, ref)
        if any(c.isspace() for c in ref):
            f.bad(path, f"an image reference has no spaces, got {ref[:80]!r}")
        out[svc] = ref
    return out


def _slot_text(f: _Fields, path: str, value: Any) -> str:
    if not isinstance(value, str):
        f.bad(path, f"expected a string, got {describe(value)}")
        return ""
    return f.check_text(path, value)


def _placement(f: _Fields, value: Any) -> dict[str, tuple[Slot, ...]]:
    out = {}
    for svc, path, slots in _per_service(f, "placement", value, "replicas"):
        if not isinstance(slots, list):
            f.bad(path, f"expected a list of replicas, got {type_name(slots)}")
            continue
        read = (_slot(f, f"{path}[{i}]", item) for i, item in enumerate(slots))
        found = [slot for slot in read if slot is not None]
        numbers = [s.replica for s in found]
        dup = sorted({n for n in numbers if numbers.count(n) > 1})
        if dup:
            f.bad(path, f"replica {dup[0]} is listed twice")
        out[svc] = tuple(sorted(found))
    return out


def _slot(f: _Fields, where: str, slot: Any) -> Slot | None:
    """One replica of a service's placement, or None after recording why it is bad."""
    if not isinstance(slot, dict):
        f.bad(where, f"expected a mapping (replica, host, zone), got {type_name(slot)}")
        return None
    for key in slot:
        if key not in SLOT_KEYS:
            f.bad(key_path(where, key), unknown_key_message(key, SLOT_KEYS))
    missing = [k for k in SLOT_KEYS if k not in slot]
    if missing:
        f.bad(f"{where}.{missing[0]}", "required")
        return None
    replica = _number(f, f"{where}.replica", slot["replica"], MAX_REPLICA)
    host, zone = (_slot_text(f, f"{where}.{key}", slot[key]) for key in ("host", "zone"))
    return Slot(replica, host, zone)


def from_dict(data: Any, source: str = "release record") -> Release:
    """A record from its JSON data, every field checked; one :class:`InvalidInput` line
    naming ``source`` (the file) and the field otherwise. The hash is read, not judged:
    :func:`verify` says whether it matches."""
    f = _Fields(source)
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{source}: expected a release record (a mapping), got {type_name(data)}"
        )
    for key in data:
        if key not in KEYS and key not in OPTIONAL_KEYS:
            f.bad(key_path("", key), unknown_key_message(key, KEYS + OPTIONAL_KEYS))
    missing = [k for k in KEYS if k not in data]
    if missing:
        f.bad(
            missing[0],
            "required" + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""),
        )
    f.raise_if_any()
    kind = data["kind"]
    posture: dict[str, Any] = {}
    if data.get("posture"):
        try:
            posture = check_posture(data["posture"])
        except InvalidInput as exc:
            f.bad("posture", exc.message)
    manifest = data.get("manifest") or {}
    if not isinstance(manifest, dict):
        f.bad("manifest", f"expected the app's manifest (a mapping), got {type_name(manifest)}")
        manifest = {}
    elif manifest and manifest_hash(manifest) != data["manifest_hash"]:
        f.bad("manifest", "does not hash to manifest_hash (the record was edited)")
    if kind not in KINDS:
        f.bad("kind", f"expected one of {', '.join(KINDS)}, got {describe(kind)}")
    record = Release(
        number=_number(f, "number", data["number"], MAX_NUMBER),
        app=_name(f, "app", "app", data["app"]),
        kind=str(kind),
        manifest_hash=_hex64(f, "manifest_hash", data["manifest_hash"]),
        images=_images(f, data["images"]),
        placement=_placement(f, data["placement"]),
        who=f.text(data, "who"),
        when=_when(f, data["when"]),
        run_id=f.text(data, "run_id", empty=True),
        previous=_hex64(f, "previous", data["previous"], empty=True),
        note=f.text(data, "note", empty=True),
        hash=_hex64(f, "hash", data["hash"]),
        posture=posture,
        manifest=manifest,
    )
    f.raise_if_any()
    return record


def parse(text: str, source: str) -> Release:
    """A record from its file's text (JSON), checked by :func:`from_dict`."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{source}: not a JSON release record ({exc})") from None
    return from_dict(data, source)


def _load(
    files: Iterable[Mapping[str, Any]], where: str, strict: bool
) -> tuple[list[Release], list[str], list[str]]:
    """Records, files that are not their record, files others may read or write."""
    records: list[Release] = []
    broken: list[str] = []
    loose: list[str] = []
    for item in sorted(files, key=lambda f: str(f.get("name", ""))):
        name = str(item.get("name", ""))
        source = f"{where.rstrip('/')}/{name}" if where else name
        try:
            record = parse(str(item.get("content", "")), source)
        except InvalidInput as exc:
            if strict:
                raise
            broken.append(str(exc))
            continue
        if name != record.file_name:
            misplaced = f"{source}: holds release {record.number} (its file is {record.file_name})"
            if strict:
                raise InvalidInput(misplaced)
            broken.append(misplaced)
        mode, uid = item.get("mode"), item.get("uid")
        if mode is not None and str(mode) not in ("0600", "600"):
            loose.append(f"{source}: mode {mode}, expected 0600")
        if uid is not None and uid != 0:
            loose.append(f"{source}: owned by uid {uid}, expected root")
        records.append(record)
    return records, broken, loose


def load(
    files: Iterable[Mapping[str, Any]], where: str = "", *, strict: bool = False
) -> tuple[list[Release], list[str]]:
    """The records of a ledger directory as the role reads it back (``name``, ``content``
    and, when known, ``mode`` and ``uid`` of each file), and the problems found on the
    way: a file that is not a record, a record under another number's name, a file
    others may read or write. ``where`` prefixes file names in messages (the directory).
    With ``strict``, a file that is not its record raises instead."""
    records, broken, loose = _load(files, where, strict)
    return records, broken + loose


def audit(files: Iterable[Mapping[str, Any]], where: str = "") -> tuple[list[Release], list[str]]:
    """The records (oldest first) and every problem of a ledger directory, the gravest
    first: files that are not records, then :func:`verify`'s (edits, a broken chain,
    gaps), then files others may read or write."""
    records, broken, loose = _load(files, where, False)
    records.sort(key=lambda r: r.number)
    return records, broken + verify(records) + loose


def latest(records: Sequence[Release]) -> Release | None:
    """The record with the highest number; None for an empty ledger."""
    return max(records, key=lambda r: r.number, default=None)


def replicas_at(record: Release | None) -> dict[str, set[tuple[int, str]]] | None:
    """Where ``record`` runs each replica: service -> {(replica, host)}; None without a
    release. A copy found anywhere else is stale (:func:`mason.core.deploy.unrecorded`)."""
    if record is None:
        return None
    return {svc: {(s.replica, s.host) for s in slots} for svc, slots in record.placement.items()}


def to_dict(record: Release) -> dict[str, Any]:
    """The record as written to its file (``hash`` included)."""
    return {**record.body(), "hash": record.hash}


def make_record(previous: Release | None, **fields: Any) -> Release:
    """The record that follows ``previous`` (None for an app's first): its number, the
    previous hash and its own hash are set here; ``fields`` give the rest (``app``,
    ``kind``, ``manifest_hash``, ``images``, ``placement``, ``who``, ``run_id``, optionally
    ``note``; ``when`` defaults to now). Every field is checked as :func:`from_dict` does."""
    for key in ("number", "previous", "hash"):
        if key in fields:
            raise InvalidInput(f"release record: {key} is set by the ledger, not by the caller")
    fields.setdefault("when", now())
    fields.setdefault("note", "")
    fields.setdefault("run_id", "")
    placement = fields.get("placement")
    if isinstance(placement, Mapping):
        fields["placement"] = {
            svc: [s.to_dict() if isinstance(s, Slot) else s for s in slots]
            if isinstance(slots, list | tuple)
            else slots
            for svc, slots in placement.items()
        }
    if isinstance(fields.get("images"), Mapping):
        fields["images"] = dict(fields["images"])
    if previous is not None and fields.get("app") != previous.app:
        raise InvalidInput(
            f"release record: app {fields.get('app')!r} does not follow a record of app "
            f"{previous.app!r}"
        )
    data = {
        **fields,
        "number": previous.number + 1 if previous else 1,
        "previous": previous.hash if previous else "",
        "hash": "0" * 64,
    }
    draft = from_dict(data, "release record")
    return from_dict({**data, "hash": draft.computed_hash()}, "release record")


# -- the chain --------------------------------------------------------------------------------
def _spans(numbers: Iterable[int]) -> str:
    """``[2, 3, 4, 7]`` as ``2-4, 7``."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def verify(records: Sequence[Release]) -> list[str]:
    """Every problem of a ledger (its records in any order), one line each; empty when it
    is whole: each record's hash matches its content, numbers run 1..N with no gap and
    no repeat, each record's ``previous`` is the hash of the one before (the first's is
    empty), and all are of one app."""
    problems: list[str] = []
    ordered = sorted(records, key=lambda r: r.number)
    apps = sorted({r.app for r in ordered})
    if len(apps) > 1:
        problems.append(f"records of more than one app: {', '.join(apps)}")
    for r in ordered:
        if r.computed_hash() != r.hash:
            problems.append(
                f"release {r.number}: edited (its content no longer matches its hash {r.short})"
            )
    numbers = [r.number for r in ordered]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        problems.append(f"release number(s) written more than once: {_spans(repeated)}")
    if numbers:
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        if missing:
            problems.append(f"release(s) missing: {_spans(missing)}")
    before: Release | None = None
    for r in ordered:
        if before is None:
            if r.number == 1 and r.previous:
                problems.append("release 1: names a previous record, but it is the first")
        elif r.number == before.number + 1 and r.previous != before.hash:
            problems.append(
                f"release {r.number}: broken chain (it follows {r.previous[:12] or 'nothing'}, "
                f"release {before.number} is {before.short})"
            )
        before = r
    return problems


def find(records: Sequence[Release], spec: str) -> Release:
    """The record ``spec`` names: a number (``3``), ``latest``, ``previous`` (the one
    before the latest), or a hash prefix of at least 6 hex digits. NotFound or an
    ambiguous prefix is one error line."""
    ordered = sorted(records, key=lambda r: r.number)
    text = str(spec).strip().lower().removeprefix("#")
    if not ordered:
        raise NotFound(f"release {spec!r}: the app has no recorded release")
    if text in ("latest", "current"):
        return ordered[-1]
    if text == "previous":
        if len(ordered) < 2:
            raise NotFound("release 'previous': the app has only one recorded release")
        return ordered[-2]
    if _DIGITS.fullmatch(text):
        for r in ordered:
            if r.number == int(text):
                return r
        raise NotFound(
            f"release {int(text)} is not recorded (releases: {_spans(r.number for r in ordered)})"
        )
    if len(text) >= MIN_PREFIX and _HEX.fullmatch(text):
        hits = [r for r in ordered if r.hash.startswith(text)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InvalidInput(
                f"release {spec!r}: the prefix matches releases "
                f"{', '.join(str(r.number) for r in hits)} (give more digits)"
            )
        raise NotFound(f"release {spec!r}: no recorded release has a hash starting with it")
    raise InvalidInput(
        f"release {spec!r}: expected a number, 'latest', 'previous' or a hash prefix of "
        f"at least {MIN_PREFIX} hex digits"
    )


# -- what changed -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceChange:
    """What changed for one service from one record to another ("" / () when absent)."""

    service: str
    image_before: str
    image_after: str
    placed_before: tuple[Slot, ...]
    placed_after: tuple[Slot, ...]

    @property
    def image_changed(self) -> bool:
        return self.image_before != self.image_after

    @property
    def placement_changed(self) -> bool:
        return self.placed_before != self.placed_after

    @property
    def added(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.placed_after if s not in self.placed_before)

    @property
    def removed(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.placed_before if s not in self.placed_after)

    def describe(self) -> str:
        parts = []
        if self.image_changed:
            parts.append(f"image {self.image_before or '(none)'} -> {self.image_after or '(none)'}")
        if self.placement_changed:
            if self.added:
                parts.append("placed " + ", ".join(map(str, self.added)))
            if self.removed:
                parts.append("gone " + ", ".join(map(str, self.removed)))
        return f"{self.service}: {'; '.join(parts)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "image": {"before": self.image_before, "after": self.image_after}
            if self.image_changed
            else None,
            "added": [s.to_dict() for s in self.added],
            "removed": [s.to_dict() for s in self.removed],
        }


def diff(a: Release | None, b: Release) -> list[ServiceChange]:
    """Per service (sorted), what changed from ``a`` to ``b`` in images and placement;
    services that did not change are left out. ``a`` None: everything in ``b`` is new."""
    before_img = dict(a.images) if a else {}
    before_pl = dict(a.placement) if a else {}
    out = []
    for svc in sorted(set(before_img) | set(b.images) | set(before_pl) | set(b.placement)):
        change = ServiceChange(
            service=svc,
            image_before=before_img.get(svc, ""),
            image_after=b.images.get(svc, ""),
            placed_before=tuple(before_pl.get(svc, ())),
            placed_after=tuple(b.placement.get(svc, ())),
        )
        if change.image_changed or change.placement_changed:
            out.append(change)
    return out
