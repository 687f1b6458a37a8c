"""The app manifest (``apps/<name>.yml``): model, validation, reading and editing.

Validation collects every error before giving up, each as one line naming the
file, the path inside it and what was expected::

    apps/shop.yml: services.web.replicas: must be >= 1, got 0

so a user fixes a manifest in one pass. Nothing downstream (plan, deploy) ever
sees an invalid manifest: :func:`parse_manifest` returns a model or raises
:class:`ManifestError`. Reference: docs/placement.md, "The app manifest".

Modules: ``model`` (the dataclasses, keys and defaults), ``parts`` (ports, volumes,
healthchecks, image, build), ``service`` (one service, in phases), ``app`` (the
whole manifest, links, addons, reading a file), ``edit`` (adding a service to the
text). Field checking shared with hosts files and catalog entries is in
:mod:`mason.core.fields`; YAML reading in :mod:`mason.core.documents`.
"""

from mason.core.fields import (
    ErrorList,
    ManifestError,
    check_int,
    check_keys,
    check_mapping,
)
from mason.core.manifest.app import load_manifest, parse_manifest
from mason.core.manifest.edit import add_service_text
from mason.core.manifest.model import (
    APP_KEYS,
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    SERVICE_KEYS,
    App,
    Healthcheck,
    Port,
    Service,
    Volume,
)
from mason.core.manifest.service import merge_template, parse_service
from mason.core.validate import MAX_REPLICAS

__all__ = [
    "APP_KEYS",
    "DEFAULT_CPU",
    "DEFAULT_MEMORY",
    "MAX_REPLICAS",
    "SERVICE_KEYS",
    "App",
    "ErrorList",
    "Healthcheck",
    "ManifestError",
    "Port",
    "Service",
    "Volume",
    "add_service_text",
    "check_int",
    "check_keys",
    "check_mapping",
    "load_manifest",
    "merge_template",
    "parse_manifest",
    "parse_service",
]
