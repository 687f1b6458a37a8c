"""Ansible filters over mason.core.deploy and mason.core.proxy for deploy.yml."""

from __future__ import annotations

# Each filter's documentation is a YAML file beside this one, named after the filter
# (mason_fill_secrets.yml, mason_backends_down.yml): `ansible-doc -t filter NAME` shows it.
from ansible.errors import AnsibleFilterError

try:
    from mason.core.deploy import fill_secrets
    from mason.core.errors import MasonError
    from mason.core.proxy import backends_down
except ImportError as exc:  # pragma: no cover - depends on the controller's python
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


def _check() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the mason package is not importable here: {_IMPORT_ERROR}")


def mason_fill_secrets(env, secrets):
    _check()
    try:
        return fill_secrets(dict(env or {}), dict(secrets or {}))
    except MasonError as exc:
        raise AnsibleFilterError(f"mason deploy: {exc}") from None


def mason_backends_down(show_stat):
    """Servers an HAProxy does not see UP (``show stat`` CSV): see mason.core.proxy."""
    _check()
    return backends_down(str(show_stat or ""))


class FilterModule:
    def filters(self):
        return {
            "mason_fill_secrets": mason_fill_secrets,
            "mason_backends_down": mason_backends_down,
        }
