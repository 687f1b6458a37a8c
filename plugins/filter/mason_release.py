"""Ansible filters over mason.core.release for roles/app_ledger (one documentation page
per filter beside this file: mason_release_next.yml, _problems.yml, _records.yml)."""

from __future__ import annotations

import importlib

from ansible.errors import AnsibleFilterError


def _mason(name):
    """A mason module, imported at the first call, not when Ansible loads this file: Ansible
    loads every file of this directory in the worker process of each task, and importing
    mason.core there (about 0.15 s) cost every task of every playbook."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the controller's python
        raise AnsibleFilterError(f"the mason package is not importable here: {exc}") from None


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
    release, errors = _mason("mason.core.release"), _mason("mason.core.errors")
    try:
        records, _ = release.load(_plain(list(files or [])), strict=True)
        return release.make_record(release.latest(records), **_plain(dict(fields or {}))).to_dict()
    except errors.MasonError as exc:
        raise AnsibleFilterError(f"mason release ledger: {exc}") from None


def mason_release_problems(files):
    """Every problem of the ledger (unreadable files, edits, a broken chain); [] when whole."""
    return _mason("mason.core.release").audit(_plain(list(files or [])))[1]


def mason_release_records(files):
    """The ledger's records as plain data, oldest first; fails on a file that is not one."""
    release, errors = _mason("mason.core.release"), _mason("mason.core.errors")
    try:
        records, _ = release.load(_plain(list(files or [])), strict=True)
    except errors.MasonError as exc:
        raise AnsibleFilterError(f"mason release ledger: {exc}") from None
    return [r.to_dict() for r in sorted(records, key=lambda r: r.number)]


class FilterModule:
    def filters(self):
        return {
            "mason_release_next": mason_release_next,
            "mason_release_problems": mason_release_problems,
            "mason_release_records": mason_release_records,
        }
