"""Ansible filters over mason.core.pki (one documentation page per filter beside this file:
mason_pki_status.yml, _planned.yml, _authorize.yml, _issued.yml, _revocations.yml)."""

from __future__ import annotations

import importlib
from datetime import timedelta

from ansible.errors import AnsibleFilterError


def _mason(name):
    """A mason module, imported at the first call, not when Ansible loads this file: Ansible
    loads every file of this directory in the worker process of each task, and importing
    mason.core there (about 0.15 s) cost every task of every playbook."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the controller's python
        raise AnsibleFilterError(f"the mason package is not importable here: {exc}") from None


def mason_pki_status(records, pod, window_seconds=28800, planned=None, revoked=None):
    pki, errors = _mason("mason.core.pki"), _mason("mason.core.errors")
    try:
        status = pki.pod_status(
            pod,
            list(records or []),
            window=timedelta(seconds=int(window_seconds)),
            planned=planned,
            revoked=list(revoked or []),
        )
    except (errors.MasonError, KeyError, ValueError) as exc:
        raise AnsibleFilterError(f"mason pki status: {exc}") from None
    return status.to_dict()


def mason_pki_planned(releases, pod, hosts):
    """host -> instance name -> request, from the newest release of every app
    (mason.core.pki.planned_requests)."""
    pki, errors = _mason("mason.core.pki"), _mason("mason.core.errors")
    try:
        return pki.planned_requests(pod, list(releases or []), list(hosts or []))
    except (errors.MasonError, KeyError, ValueError) as exc:
        raise AnsibleFilterError(f"mason pki plan: {exc}") from None


def mason_pki_authorize(found, planned, pod, host):
    """{requests, refused}: what the manager signs for ``host`` out of what it found there
    (mason.core.pki.authorize)."""
    requests, refused = _mason("mason.core.pki").authorize(
        planned or {}, str(pod), str(host), list(found or [])
    )
    return {"requests": requests, "refused": refused}


def mason_pki_issued(pem, host, name):
    """What the manager logs about a certificate it signed (mason.core.pki.issued_record)."""
    pki, errors = _mason("mason.core.pki"), _mason("mason.core.errors")
    try:
        return pki.issued_record(str(pem), str(host), str(name))
    except (errors.MasonError, ValueError) as exc:
        raise AnsibleFilterError(f"mason pki issued: {exc}") from None


def mason_pki_revocations(
    issued,
    revoked,
    pod,
    releases=None,
    hosts=None,
    busy_apps=None,
    remove_apps=None,
    crl_next_update=None,
    revoke_serials=None,
):
    """What the manager revokes and publishes (mason.core.pki.revocations)."""
    pki, errors = _mason("mason.core.pki"), _mason("mason.core.errors")
    try:
        return pki.revocations(
            str(pod),
            list(issued or []),
            list(revoked or []),
            releases=None if releases is None else list(releases),
            hosts=list(hosts or []),
            busy_apps=list(busy_apps or []),
            remove_apps=list(remove_apps or []),
            revoke_serials=[int(n) for n in revoke_serials or []],
            crl_next_update=crl_next_update or None,
        )
    except (errors.MasonError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"mason pki revocations: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "mason_pki_status": mason_pki_status,
            "mason_pki_planned": mason_pki_planned,
            "mason_pki_authorize": mason_pki_authorize,
            "mason_pki_issued": mason_pki_issued,
            "mason_pki_revocations": mason_pki_revocations,
        }
