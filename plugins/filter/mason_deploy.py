"""Ansible filters over mason.core.deploy and mason.core.proxy for deploy.yml."""

from __future__ import annotations

# Each filter's documentation is a YAML file beside this one, named after the filter
# (mason_fill_secrets.yml, mason_backends_down.yml): `ansible-doc -t filter NAME` shows it.
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


def mason_fill_secrets(env, secrets):
    deploy, errors = _mason("mason.core.deploy"), _mason("mason.core.errors")
    try:
        return deploy.fill_secrets(dict(env or {}), dict(secrets or {}))
    except errors.MasonError as exc:
        raise AnsibleFilterError(f"mason deploy: {exc}") from None


def mason_backends_down(show_stat):
    """Servers an HAProxy does not see UP (``show stat`` CSV): see mason.core.proxy."""
    return _mason("mason.core.proxy").backends_down(str(show_stat or ""))


class FilterModule:
    def filters(self):
        return {
            "mason_fill_secrets": mason_fill_secrets,
            "mason_backends_down": mason_backends_down,
        }
