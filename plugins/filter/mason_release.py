"""Ansible filters over mason.core.release for roles/app_ledger (one documentation page
per filter beside this file: mason_release_next.yml, _problems.yml, _records.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from mason.core.errors import MasonError
    from mason.core.release import audit, latest, load, make_record
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def _check() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the mason package is not importable here: {_IMPORT_ERROR}")


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain Python data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def mason_release_next(files, fields):
    _check()
    try:
        records, _ = load(_plain(list(files or [])), strict=True)
        return make_record(latest(records), **_plain(dict(fields or {}))).to_dict()
    except MasonError as exc:
        raise AnsibleFilterError(f"mason release ledger: {exc}") from None


def mason_release_problems(files):
    """Every problem of the ledger (unreadable files, edits, a broken chain); [] when whole."""
    _check()
    return audit(_plain(list(files or [])))[1]


def mason_release_records(files):
    """The ledger's records as plain data, oldest first; fails on a file that is not one."""
    _check()
    try:
        records, _ = load(_plain(list(files or [])), strict=True)
    except MasonError as exc:
        raise AnsibleFilterError(f"mason release ledger: {exc}") from None
    return [r.to_dict() for r in sorted(records, key=lambda r: r.number)]


class FilterModule:
    def filters(self):
        return {
            "mason_release_next": mason_release_next,
            "mason_release_problems": mason_release_problems,
            "mason_release_records": mason_release_records,
        }
