"""Bad input, as a new user gives it: one line, its exit code, nothing changed.

Every case runs the real CLI (Click's runner, in process; no engine: DOCKER_HOST points
at nothing, so an input that slipped through would fail with exit 5 instead) on a fresh
project, and asserts: the exit code from the README table; exactly one line on stderr,
``mason: error: ...`` naming the file/option, field and expectation; no traceback; and
that no file under the project or $MASON_HOME appeared, changed or went away.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mason.cli import main
from mason.core.catalog import builtin_dir

SHOP = "name: shop\nservices:\n  web:\n    image: nginx:1.25\n    replicas: 2\n"
HOSTS = "hosts:\n  - {name: h1, zone: a, cpu: 2, memory: 4Gi}\n"
UTF16 = "a: 1\n".encode("utf-16")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff"
DEEP_YAML = "a: " + "[" * 2000 + "]" * 2000 + "\n"
DEEP_JSON = "[" * 5000 + "]" * 5000
BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
)


class Dir:
    """A directory where a file is expected."""


class Fifo:
    """A named pipe where a file is expected (reading it would block)."""


@dataclass(frozen=True)
class Link:
    target: str


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    message: str
    files: dict[str, Any] = field(default_factory=dict)  # project-relative path -> content
    env: dict[str, str] = field(default_factory=dict)


def pod(body: str, name: str = "demo") -> dict[str, str]:
    """mason.yml with one pod ``name`` whose settings are ``body`` (YAML, indented 4)."""
    return {"mason.yml": f"version: 1\npods:\n  {name}:\n" + _indent(body, 4)}


def static(hosts: str) -> dict[str, str]:
    return pod(f"provider: static\noptions:\n  hosts: {hosts}\n", "rack")


def service(body: str) -> dict[str, str]:
    return {"apps/x.yml": "name: x\nservices:\n  web:\n" + _indent(body, 4)}


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line for line in text.splitlines(True))


CREATE = ["pod", "create", "demo"]
VALIDATE = ["app", "validate", "apps/x.yml"]
PLAN = ["app", "plan", "shop", "--hosts-file", "h.yml"]
SCALE = ["app", "scale", "shop", "--pod", "demo"]
HARDEN = ["harden", "demo"]
CATALOG = ["catalog", "list"]

CASES = [
    # -- mason.yml: the file itself -------------------------------------------------
    Case("project-binary", CREATE, 3, "mason.yml: line 3: a NUL byte", {"mason.yml": BINARY}),
    Case(
        "project-utf16", CREATE, 3, "mason.yml: UTF-16 text, expected UTF-8", {"mason.yml": UTF16}
    ),
    Case("project-utf32", CREATE, 3, "UTF-32 text", {"mason.yml": "a: 1\n".encode("utf-32")}),
    Case(
        "project-latin1",
        CREATE,
        3,
        "mason.yml: line 2: byte 0xe9 is not UTF-8",
        {"mason.yml": "version: 1\n# caf\xe9\n".encode("latin-1")},
    ),
    Case(
        "project-directory",
        CREATE,
        3,
        "mason.yml: a directory, expected a file",
        {"mason.yml": Dir()},
    ),
    Case(
        "project-fifo", CREATE, 3, "mason.yml: a named pipe, expected a file", {"mason.yml": Fifo()}
    ),
    Case(
        "project-symlink-loop",
        CREATE,
        3,
        "mason.yml: a symlink loop",
        {"mason.yml": Link("mason.yml")},
    ),
    Case(
        "project-dangling-symlink",
        CREATE,
        4,
        "mason.yml: a symlink to elsewhere.yml, which does not exist",
        {"mason.yml": Link("elsewhere.yml")},
    ),
    Case(
        "project-dangling-symlink-list",
        ["pod", "list"],
        4,
        "which does not exist",
        {"mason.yml": Link("elsewhere.yml")},
    ),
    Case(
        "project-too-big",
        CREATE,
        3,
        "MiB, more than the 4.0 MiB limit",
        {"mason.yml": "#" * (5 * 2**20)},
    ),
    Case(
        "project-deep",
        CREATE,
        3,
        "invalid YAML: nested more than 64 levels deep",
        {"mason.yml": DEEP_YAML},
    ),
    Case("project-alias-bomb", CREATE, 3, "aliases expand this document past", {"mason.yml": BOMB}),
    Case(
        "project-recursive-alias",
        CREATE,
        3,
        "an alias refers to a node it is inside",
        {"mason.yml": "pods: &p {demo: *p}\n"},
    ),
    Case(
        "project-duplicate-pods",
        CREATE,
        3,
        "mason.yml: line 4, column 3: invalid YAML: duplicate key 'demo' (first given on line 3)",
        {"mason.yml": "version: 1\npods:\n  demo: {hosts: 1}\n  demo: {hosts: 2}\n"},
    ),
    Case(
        "project-two-documents",
        CREATE,
        3,
        "expected a single document in the stream",
        {"mason.yml": "version: 1\n---\nversion: 1\n"},
    ),
    Case(
        "project-tab-indent",
        CREATE,
        3,
        "mason.yml: line 3, column 1: invalid YAML",
        {"mason.yml": "pods:\n  demo:\n\thosts: 1\n"},
    ),
    Case(
        "project-list",
        CREATE,
        3,
        "mason.yml: expected a mapping at the top level, got a list",
        {"mason.yml": "- demo\n"},
    ),
    # -- mason.yml: fields ----------------------------------------------------------
    Case(
        "project-version-2",
        CREATE,
        3,
        "mason.yml: version: expected 1, got an integer 2",
        {"mason.yml": "version: 2\n"},
    ),
    Case(
        "project-version-string",
        CREATE,
        3,
        "version: expected 1, got a string '1'",
        {"mason.yml": "version: '1'\n"},
    ),
    Case(
        "project-unknown-key",
        CREATE,
        3,
        "mason.yml: pod: unknown key (did you mean 'pods'?)",
        {"mason.yml": "pod: {}\n"},
    ),
    Case(
        "project-pods-list",
        CREATE,
        3,
        "mason.yml: pods: expected a mapping of pod name to settings, got a list",
        {"mason.yml": "pods: [demo]\n"},
    ),
    Case(
        "project-pod-name-newline",
        CREATE,
        3,
        "invalid pod name 'demo\\n'",
        {"mason.yml": 'pods:\n  "demo\\n": {}\n'},
    ),
    Case(
        "project-pod-name-int",
        CREATE,
        3,
        "pods.5: pod name: expected a string, got an integer 5",
        {"mason.yml": "pods:\n  5: {}\n"},
    ),
    Case(
        "project-environment-bool",
        CREATE,
        3,
        "pods.demo.environment: environment name: expected a string, got a boolean True",
        pod("environment: yes\n"),
    ),
    Case("project-hosts-0", CREATE, 3, "pods.demo.hosts: must be >= 1, got 0", pod("hosts: 0\n")),
    Case(
        "project-hosts-huge",
        CREATE,
        3,
        "pods.demo.hosts: must be <= 1000, got 100000",
        pod("hosts: 100000\n"),
    ),
    Case(
        "project-hosts-float",
        CREATE,
        3,
        "pods.demo.hosts: expected an integer, got a number 2.5",
        pod("hosts: 2.5\n"),
    ),
    Case(
        "project-hosts-string",
        CREATE,
        3,
        "expected an integer, got a string '3'",
        pod("hosts: '3'\n"),
    ),
    Case(
        "project-cpu-nan",
        CREATE,
        3,
        "pods.demo.cpu: expected a number of cores > 0, got nan",
        pod("cpu: .nan\n"),
    ),
    Case(
        "project-cpu-inf",
        CREATE,
        3,
        "pods.demo.cpu: expected a number of cores > 0, got inf",
        pod("cpu: .inf\n"),
    ),
    Case(
        "project-cpu-negative",
        CREATE,
        3,
        "pods.demo.cpu: expected a number of cores > 0",
        pod("cpu: -1\n"),
    ),
    Case(
        "project-cpu-huge",
        CREATE,
        3,
        "pods.demo.cpu: must be at most 1024 cores, got 5000",
        pod("cpu: 5000\n"),
    ),
    Case(
        "project-memory-huge",
        CREATE,
        3,
        "pods.demo.memory: memory '100Ti' is more than 64Ti",
        pod("memory: 100Ti\n"),
    ),
    Case(
        "project-memory-unit",
        CREATE,
        3,
        "pods.demo.memory: expected memory like '256Mi'",
        pod("memory: 1GB\n"),
    ),
    Case(
        "project-zones-empty",
        CREATE,
        3,
        "pods.demo.zones: expected a non-empty list",
        pod("zones: []\n"),
    ),
    Case(
        "project-zone-name",
        CREATE,
        3,
        "pods.demo.zones[1]: invalid zone name 'Zone-B'",
        pod("zones: [zone-a, Zone-B]\n"),
    ),
    Case(
        "project-labels-list",
        CREATE,
        3,
        "pods.demo.labels: expected a mapping of label to value",
        pod("labels: [ssd]\n"),
    ),
    Case(
        "project-label-value-list",
        CREATE,
        3,
        "pods.demo.labels.disk: expected a scalar",
        pod("labels: {disk: [ssd]}\n"),
    ),
    Case(
        "project-options-list",
        CREATE,
        3,
        "pods.demo.options: expected a mapping",
        pod("options: [x]\n"),
    ),
    Case(
        "project-unknown-provider",
        CREATE,
        3,
        "mason.yml: pods.demo.provider: unknown provider 'nimbus' (known: aws, docker",
        pod("provider: nimbus\n"),
    ),
    Case(
        "project-unknown-provider-list",
        ["pod", "list"],
        3,
        "mason.yml: pods.demo.provider: unknown provider 'nimbus'",
        pod("provider: nimbus\n"),
    ),
    Case(
        "project-provider-int",
        CREATE,
        3,
        "pods.demo.provider: expected a provider name, got an integer 5",
        pod("provider: 5\n"),
    ),
    Case(
        "project-docker-option",
        CREATE,
        3,
        "mason.yml: pods.demo.options.region: unknown key (provider 'docker' takes no options)",
        pod("options: {region: x}\n"),
    ),
    Case(
        "project-aws-unknown-option",
        CREATE,
        3,
        "mason.yml: pods.demo.options.regoin: unknown key (did you mean 'region'?)",
        pod("provider: aws\noptions: {regoin: eu-west-1}\n"),
    ),
    Case(
        "project-aws-region-int",
        CREATE,
        3,
        "mason.yml: pods.demo.options.region: expected a non-empty string, got an integer 5",
        pod("provider: aws\noptions: {region: 5}\n"),
    ),
    Case(
        "project-aws-networks-int",
        CREATE,
        3,
        "pods.demo.options.admin_networks: expected a list, got an integer 5",
        pod("provider: aws\noptions: {admin_networks: 5}\n"),
    ),
    Case(
        "project-aws-network-bad",
        CREATE,
        3,
        "pods.demo.options.admin_networks[0]: expected a CIDR such as 203.0.113.0/24",
        pod("provider: aws\noptions: {admin_networks: [10.0.0.0/33]}\n"),
    ),
    Case(
        "project-aws-endpoint-ftp",
        CREATE,
        3,
        "pods.demo.options.endpoint_url: expected a URL such as https://host:port",
        pod("provider: aws\noptions: {endpoint_url: 'ftp://x'}\n"),
    ),
    Case(
        "project-aws-cidr",
        CREATE,
        3,
        "pods.demo.options.cidr: expected an IPv4 block from /16",
        pod("provider: aws\noptions: {cidr: 10.0.0.0/8}\n"),
    ),
    Case(
        "project-aws-ports",
        CREATE,
        3,
        "pods.demo.options.pod_ports[0]: expected a port or a range such as 8400-8499",
        pod("provider: aws\noptions: {pod_ports: ['80-70']}\n"),
    ),
    Case(
        "project-aws-zone-map",
        CREATE,
        3,
        "pods.demo.options.zone_map.zone-a: expected an",
        pod("provider: aws\noptions: {zone_map: {zone-a: 5}}\n"),
    ),
    Case(
        "project-rackspace-identity",
        CREATE,
        3,
        "pods.demo.options.identity_url: expected a URL such as https://host:port",
        pod("provider: rackspace\noptions: {identity_url: 'not a url'}\n"),
    ),
    # -- static pods ----------------------------------------------------------------
    Case(
        "static-cpu-nan",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts[0].cpu: expected a number of cores > 0, got nan",
        static("[{address: 192.0.2.10, cpu: .nan}]"),
    ),
    Case(
        "static-port-superscript",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts[0].port: expected a TCP port 1-65535, got a string '²'",
        static("[{address: 192.0.2.10, port: '²'}]"),
    ),
    Case(
        "static-user-newline",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts[0].user: expected a login name, got a string 'root\\n'",
        static('[{address: 192.0.2.10, user: "root\\n"}]'),
    ),
    Case(
        "static-duplicate",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts[1]: 192.0.2.10:22 is already listed as host 1",
        static("[192.0.2.10, 192.0.2.10]"),
    ),
    Case(
        "static-too-many",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts: at most 1000 hosts in one pod, got 1001",
        static("[" + ", ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(1001)) + "]"),
    ),
    Case(
        "static-unknown-key",
        ["pod", "create", "rack", "--no-wait"],
        3,
        "pods.rack.options.hosts[0].adress: unknown key (did you mean 'address'?)",
        static("[{adress: 192.0.2.10}]"),
    ),
    Case(
        "static-no-address",
        ["pod", "list", "--provider", "static"],
        3,
        "pods.rack.options.hosts[0].address: expected a host name or IP address",
        static("[{port: 22}]"),
    ),
    # -- the project directory ------------------------------------------------------
    Case(
        "project-dir-missing",
        ["-C", "/nonexistent/project", "pod", "list"],
        4,
        "--project-dir /nonexistent/project: no such directory",
    ),
    Case(
        "project-dir-loop",
        ["-C", "loop", "pod", "list"],
        3,
        "loop: a symlink loop",
        {"loop": Link("loop")},
    ),
    Case("project-dir-file", ["-C", "file", "pod", "list"], 2, "is a file", {"file": "x"}),
    # -- pod create options ---------------------------------------------------------
    Case("name-newline", ["pod", "create", "demo\n"], 3, "invalid pod name 'demo\\n'"),
    Case("name-upper", ["pod", "create", "Demo"], 3, "invalid pod name 'Demo'"),
    Case("name-long", ["pod", "create", "a" * 31], 3, "at most 30 characters, got 31"),
    Case("name-nul", ["pod", "show", "de\x00mo"], 3, "invalid pod name 'de\\x00mo'"),
    Case("hosts-0", [*CREATE, "--hosts", "0"], 3, "--hosts: must be >= 1, got 0"),
    Case("hosts-huge", [*CREATE, "--hosts", "100000"], 3, "--hosts: must be <= 1000, got 100000"),
    Case("hosts-text", [*CREATE, "--hosts", "three"], 2, "'three' is not a valid integer"),
    Case("cpu-nan", [*CREATE, "--cpu", "nan"], 3, "--cpu: expected a number of cores > 0, got nan"),
    Case("cpu-inf", [*CREATE, "--cpu", "inf"], 3, "--cpu: expected a number of cores > 0, got inf"),
    Case("cpu-negative", [*CREATE, "--cpu", "-1"], 3, "--cpu: expected a number of cores > 0"),
    Case("cpu-huge", [*CREATE, "--cpu", "1e9"], 3, "--cpu: must be at most 1024 cores"),
    Case("memory-huge", [*CREATE, "--memory", "100Ti"], 3, "--memory: memory '100Ti' is more"),
    Case("memory-words", [*CREATE, "--memory", "lots"], 3, "--memory: expected memory like"),
    Case("memory-superscript", [*CREATE, "--memory", "²Gi"], 3, "--memory: expected memory like"),
    Case("zones-empty", [*CREATE, "--zones", ","], 3, "--zones: expected a comma-separated list"),
    Case("zones-upper", [*CREATE, "--zones", "a,B"], 3, "--zones: invalid zone name 'B'"),
    Case("env-newline", [*CREATE, "--env", "prod\n"], 3, "--env: invalid environment name"),
    Case(
        "ssh-timeout-nan",
        [*CREATE, "--ssh-timeout", "nan"],
        3,
        "--ssh-timeout: expected a number of seconds > 0, got nan",
    ),
    Case("ssh-timeout-0", [*CREATE, "--ssh-timeout", "0"], 3, "--ssh-timeout: expected a number"),
    Case("label-no-value", [*CREATE, "--label", "novalue"], 3, "--label: expected KEY=VALUE"),
    Case(
        "provider-unknown",
        [*CREATE, "--provider", "nimbus"],
        3,
        "--provider: unknown provider 'nimbus' (known: aws, docker, qemu, rackspace, static)",
    ),
    Case(
        "endpoint-not-url",
        [*CREATE, "--provider", "aws", "--endpoint-url", "not a url"],
        3,
        "--endpoint-url: expected a URL such as https://host:port (http/https only), got",
    ),
    Case(
        "endpoint-ftp",
        [*CREATE, "--provider", "aws", "--endpoint-url", "ftp://x"],
        3,
        "--endpoint-url: expected a URL such as https://host:port (http/https only), got scheme",
    ),
    Case(
        "admin-network",
        [*CREATE, "--provider", "aws", "--admin-network", "10.0.0.0/33"],
        3,
        "--admin-network: expected a CIDR such as 203.0.113.0/24, got '10.0.0.0/33'",
    ),
    Case(
        "region-newline",
        [*CREATE, "--provider", "aws", "--region", "eu-west-1\n"],
        3,
        "--region: expected a non-empty value, got a string 'eu-west-1\\n'",
    ),
    Case(
        "region-on-docker",
        [*CREATE, "--region", "eu-west-1"],
        3,
        "--region: not an option of provider 'docker'",
    ),
    # -- app manifests: the file ----------------------------------------------------
    Case("manifest-binary", VALIDATE, 3, "apps/x.yml: line 3: a NUL byte", {"apps/x.yml": BINARY}),
    Case("manifest-utf16", VALIDATE, 3, "apps/x.yml: UTF-16 text", {"apps/x.yml": UTF16}),
    Case(
        "manifest-directory",
        VALIDATE,
        3,
        "apps/x.yml: a directory, expected a file",
        {"apps/x.yml": Dir()},
    ),
    Case(
        "manifest-symlink-loop",
        VALIDATE,
        3,
        "apps/x.yml: a symlink loop",
        {"apps/x.yml": Link("x.yml")},
    ),
    Case("manifest-missing", VALIDATE, 4, "apps/x.yml: no such file"),
    Case(
        "manifest-deep", VALIDATE, 3, "nested more than 64 levels deep", {"apps/x.yml": DEEP_YAML}
    ),
    Case("manifest-bomb", VALIDATE, 3, "aliases expand this document", {"apps/x.yml": BOMB}),
    Case(
        "manifest-duplicate-services",
        VALIDATE,
        3,
        "apps/x.yml: line 4, column 3: invalid YAML: duplicate key 'web' (first given on line 3)",
        {"apps/x.yml": "name: x\nservices:\n  web: {image: a}\n  web: {image: b}\n"},
    ),
    Case(
        "manifest-bad-date",
        VALIDATE,
        3,
        "apps/x.yml: line 1, column 14: invalid YAML: cannot read",
        {"apps/x.yml": "description: 2001-02-30\n"},
    ),
    Case(
        "manifest-big-int",
        VALIDATE,
        3,
        "invalid YAML: cannot read this value",
        {"apps/x.yml": "name: " + "9" * 5000 + "\n"},
    ),
    Case(
        "manifest-python-tag",
        VALIDATE,
        3,
        "could not determine a constructor",
        {"apps/x.yml": "name: !!python/object/apply:os.system [touch /tmp/pwned]\n"},
    ),
    # -- app manifests: fields ------------------------------------------------------
    Case(
        "manifest-list",
        VALIDATE,
        3,
        "apps/x.yml: expected a mapping with 'services', got a list",
        {"apps/x.yml": "- a\n- b\n"},
    ),
    Case(
        "manifest-services-list",
        VALIDATE,
        3,
        "apps/x.yml: services: expected a mapping, got a list",
        {"apps/x.yml": "services: [web, api]\n"},
    ),
    Case(
        "manifest-service-int",
        VALIDATE,
        3,
        "apps/x.yml: services.1: service names must be strings",
        {"apps/x.yml": "services:\n  1: {image: x}\n"},
    ),
    Case(
        "manifest-name-int",
        VALIDATE,
        3,
        "apps/x.yml: name: app name: expected a string, got an integer 123",
        {"apps/x.yml": "name: 123\nservices: {web: {image: x}}\n"},
    ),
    Case(
        "manifest-catalog-list",
        VALIDATE,
        3,
        "services.web.catalog: expected a non-empty string, got a list",
        service("catalog: [postgresql]\n"),
    ),
    Case(
        "manifest-port-superscript",
        VALIDATE,
        3,
        "services.web.ports[0]: expected 'CONTAINER' or 'PUBLIC:CONTAINER[/udp]', got '²'",
        service("image: x\nports: ['²']\n"),
    ),
    Case(
        "manifest-image-newline",
        VALIDATE,
        3,
        "services.web.image: not an image reference",
        service('image: "nginx:1.25\\n"\n'),
    ),
    Case(
        "manifest-build-escapes",
        VALIDATE,
        3,
        "services.web.build: must be a directory inside the project, got '../../../etc'",
        service("build: ../../../etc\n"),
    ),
    Case(
        "manifest-build-absolute",
        VALIDATE,
        3,
        "services.web.build: must be a directory relative to the project",
        service("build: /etc\n"),
    ),
    Case(
        "manifest-replicas-huge",
        VALIDATE,
        3,
        "services.web.replicas: must be <= 1000, got 100000",
        service("image: x\nreplicas: 100000\n"),
    ),
    Case(
        "manifest-replicas-nan",
        VALIDATE,
        3,
        "services.web.replicas: expected an integer, got a number nan",
        service("image: x\nreplicas: .nan\n"),
    ),
    Case(
        "manifest-cpu-nan",
        VALIDATE,
        3,
        "services.web.resources.cpu: expected cpu like '500m'",
        service("image: x\nresources: {cpu: .nan}\n"),
    ),
    Case(
        "manifest-memory-huge",
        VALIDATE,
        3,
        "services.web.resources.memory: memory '1000Ti' is more than 64Ti",
        service("image: x\nresources: {memory: 1000Ti}\n"),
    ),
    Case(
        "manifest-links-int",
        VALIDATE,
        3,
        "services.web.links: expected a list of strings",
        service("image: x\nlinks: 5\n"),
    ),
    Case(
        "manifest-env-name",
        VALIDATE,
        3,
        "services.web.env.1X: not a valid environment variable",
        service("image: x\nenv: {1X: a}\n"),
    ),
    Case(
        "manifest-volume-host",
        VALIDATE,
        3,
        "host paths are not allowed, use a named volume",
        service("image: x\nvolumes: ['/etc:/x']\n"),
    ),
    Case(
        "manifest-unknown-key",
        VALIDATE,
        3,
        "services.web.replica: unknown key (did you mean 'replicas'?)",
        service("image: x\nreplica: 2\n"),
    ),
    Case(
        "manifest-unknown-catalog",
        VALIDATE,
        3,
        "services.web.catalog: no catalog entry 'postgres' (did you mean 'postgresql'?)",
        service("catalog: postgres\n"),
    ),
    # -- app plan and its hosts file ------------------------------------------------
    Case(
        "plan-app-newline",
        ["app", "plan", "shop\n", "--hosts-file", "pod.yml"],
        3,
        "invalid app name 'shop\\n'",
    ),
    Case("hosts-binary", PLAN, 3, "h.yml: line 3: a NUL byte", {"h.yml": BINARY}),
    Case(
        "hosts-json-duplicate",
        [*PLAN[:-1], "h.json"],
        3,
        "h.json: invalid JSON: duplicate key",
        {"h.json": '{"hosts": [], "hosts": []}'},
    ),
    Case(
        "hosts-json-nan",
        [*PLAN[:-1], "h.json"],
        3,
        "NaN is not a number JSON allows",
        {"h.json": '[{"name": "h1", "zone": "a", "cpu": NaN, "memory": 1}]'},
    ),
    Case(
        "hosts-json-deep",
        [*PLAN[:-1], "h.json"],
        3,
        "h.json: nested more than 64 levels",
        {"h.json": DEEP_JSON},
    ),
    Case(
        "hosts-json-syntax",
        [*PLAN[:-1], "h.json"],
        3,
        "h.json: line 1, column 2: invalid JSON: Expecting property name",
        {"h.json": "{,}"},
    ),
    Case(
        "hosts-cpu-nan",
        PLAN,
        3,
        "h.yml: hosts[0].cpu: expected cpu like '500m' or 2, got nan",
        {"h.yml": "hosts:\n  - {name: h1, zone: a, cpu: .nan, memory: 1Gi}\n"},
    ),
    Case(
        "hosts-port-superscript",
        PLAN,
        3,
        "h.yml: hosts[0].running[0].ports[0]: expected a port",
        {
            "h.yml": "hosts:\n  - {name: h1, zone: a, cpu: 1, memory: 1Gi, running: "
            "[{app: a, service: b, replica: 1, ports: ['²']}]}\n"
        },
    ),
    Case(
        "hosts-name-newline",
        PLAN,
        3,
        "h.yml: hosts[0].name: expected a non-empty string",
        {"h.yml": 'hosts:\n  - {name: "h1\\n", zone: a, cpu: 1, memory: 1Gi}\n'},
    ),
    Case("hosts-missing", PLAN, 4, "h.yml: no such file", {"h.yml": None}),
    Case("hosts-directory", PLAN, 2, "is a directory", {"h.yml": Dir()}),
    # -- app add-service: never rewrite what it cannot read -------------------------
    Case(
        "add-to-yaml-list",
        ["app", "add-service", "lst", "db", "--catalog", "postgresql"],
        3,
        "apps/lst.yml: expected a mapping with 'services' at the top level, got a list "
        "(the file is left as it is)",
        {"apps/lst.yml": "- a\n- b\n"},
    ),
    Case(
        "add-to-services-list",
        ["app", "add-service", "lst", "db", "--catalog", "redis"],
        3,
        "apps/lst.yml: services: expected a mapping, got a list",
        {"apps/lst.yml": "services: [web]\n"},
    ),
    Case(
        "add-to-broken-yaml",
        ["app", "add-service", "lst", "db", "--catalog", "redis"],
        3,
        "apps/lst.yml: line 2, column 1: invalid YAML",
        {"apps/lst.yml": "services: [\n"},
    ),
    Case(
        "add-to-utf16",
        ["app", "add-service", "lst", "db", "--catalog", "redis"],
        3,
        "apps/lst.yml: UTF-16 text",
        {"apps/lst.yml": UTF16},
    ),
    Case(
        "add-existing",
        ["app", "add-service", "shop", "web", "--catalog", "redis"],
        3,
        "apps/shop.yml: services.web: already defined",
    ),
    Case(
        "add-app-newline",
        ["app", "add-service", "shop\n", "db", "--catalog", "redis"],
        3,
        "invalid app name 'shop\\n'",
    ),
    Case(
        "add-service-newline",
        ["app", "add-service", "shop", "db\n", "--catalog", "redis"],
        3,
        "invalid service name 'db\\n'",
    ),
    Case(
        "add-apps-is-file",
        ["app", "add-service", "blog", "db", "--catalog", "redis"],
        3,
        "apps/blog.yml: a part of the path is a file, not a directory",
        {"apps": "x"},
    ),
    Case(
        "add-replicas-huge",
        ["app", "add-service", "shop", "db", "--catalog", "redis", "--replicas", "100000"],
        2,
        "100000 is not in the range 1<=x<=1000",
    ),
    Case(
        "add-unknown-entry",
        ["app", "add-service", "shop", "db", "--catalog", "kafka"],
        4,
        "no catalog entry 'kafka'",
    ),
    # -- init: validate the whole target first --------------------------------------
    Case(
        "init-apps-is-file",
        ["init", "new"],
        3,
        "new/apps/.gitkeep: a part of the path is a file, not a directory",
        {"new/apps": "x"},
    ),
    Case(
        "init-force-gitignore-dir",
        ["init", "--force"],
        3,
        ".gitignore: a directory, expected a file to write",
        {".gitignore": Dir()},
    ),
    Case(
        "init-project-file-dir",
        ["init"],
        3,
        "mason.yml: a directory, expected a file to write",
        {"mason.yml": Dir()},
    ),
    Case(
        "init-inventory-is-file",
        ["init", "new"],
        3,
        "new/inventory/pods.mason.yml: a part of the path is a file",
        {"new/inventory": "x"},
    ),
    Case("init-pod-newline", ["init", "new", "--pod", "a\n"], 3, "invalid pod name 'a\\n'"),
    Case("init-target-is-file", ["init", "file"], 2, "is a file", {"file": "x"}),
    # -- harden: every input before any host ----------------------------------------
    Case(
        "report-under-a-file",
        [*HARDEN, "--check", "--report", "junit", "notdir/x.xml"],
        3,
        "--report: notdir/x.xml: a part of the path is a file, not a directory",
        {"notdir": "x"},
    ),
    Case("report-is-directory", [*HARDEN, "--report", "json", "apps"], 2, "is a directory"),
    Case(
        "extra-vars-unclosed",
        [*HARDEN, "-e", "k=[unclosed"],
        3,
        "--extra-vars k: line 1, column 10: invalid YAML: expected ',' or ']'",
    ),
    Case(
        "extra-vars-bad-json",
        [*HARDEN, "-e", "{bad json"],
        3,
        "--extra-vars: line 1, column 10: invalid YAML",
    ),
    Case(
        "extra-vars-list",
        [*HARDEN, "-e", "[1, 2]"],
        3,
        "--extra-vars: expected a mapping of variables, got a list",
    ),
    Case("extra-vars-key", [*HARDEN, "-e", "1x=2"], 3, "--extra-vars 1x: a string '1x' is not"),
    Case("extra-vars-nan", [*HARDEN, "-e", "k=.nan"], 3, "NaN and infinity are not allowed"),
    Case(
        "extra-vars-missing",
        [*HARDEN, "-e", "@nope.yml"],
        4,
        "--extra-vars @nope.yml: no such file",
    ),
    Case(
        "extra-vars-directory",
        [*HARDEN, "-e", "@apps"],
        3,
        "--extra-vars @apps: a directory, expected a file",
    ),
    Case(
        "extra-vars-binary",
        [*HARDEN, "-e", "@v.yml"],
        3,
        "--extra-vars @v.yml: line 3: a NUL",
        {"v.yml": BINARY},
    ),
    Case("extra-vars-utf16", [*HARDEN, "-e", "@v.yml"], 3, "@v.yml: UTF-16 text", {"v.yml": UTF16}),
    Case(
        "extra-vars-deep",
        [*HARDEN, "-e", "@v.yml"],
        3,
        "nested more than 64 levels",
        {"v.yml": DEEP_YAML},
    ),
    Case(
        "extra-vars-duplicate",
        [*HARDEN, "-e", "@v.yml"],
        3,
        "duplicate key 'a'",
        {"v.yml": "a: 1\na: 2\n"},
    ),
    # -- app scale: the count and the service, before any pod is looked up -------------
    Case("scale-zero", [*SCALE, "web", "0"], 3, "N: must be >= 1, got 0"),
    Case("scale-negative", [*SCALE, "web", "-2"], 3, "N: must be >= 1, got -2"),
    Case("scale-fraction", [*SCALE, "web", "1.5"], 3, "N: expected a whole number of replicas"),
    Case("scale-word", [*SCALE, "web", "many"], 3, "N: expected a whole number of replicas"),
    Case("scale-huge", [*SCALE, "web", "100000"], 3, "N: must be <= 1000, got 100000"),
    Case("scale-no-service", [*SCALE, "wbe", "3"], 4, "no service 'wbe' (did you mean 'web'?)"),
    # -- catalog entries ------------------------------------------------------------
    Case(
        "catalog-binary",
        CATALOG,
        3,
        "cat/thing/service.yml: line 3: a NUL byte",
        {"cat/thing/service.yml": BINARY},
    ),
    Case(
        "catalog-deep",
        CATALOG,
        3,
        "cat/thing/service.yml: line 1",
        {"cat/thing/service.yml": DEEP_YAML},
    ),
    Case(
        "catalog-addon-key-int",
        CATALOG,
        3,
        "cat/thing/addon.yml: env.5: variable names must look like MASON_NAME_",
        {"cat/thing/addon.yml": "env:\n  5: '{app}'\n"},
    ),
    Case(
        "catalog-addon-template",
        CATALOG,
        3,
        "cat/thing/addon.yml: env.MASON_X: bad template",
        {"cat/thing/addon.yml": "env:\n  MASON_X: '{app:{zzz}}'\n"},
    ),
    Case(
        "catalog-recipe-missing",
        CATALOG,
        3,
        "cat/thing/Dockerfile: no such file",
        {"cat/thing/Dockerfile": None},
    ),
    Case(
        "catalog-recipe-directory",
        CATALOG,
        3,
        "cat/thing/Dockerfile: a directory",
        {"cat/thing/Dockerfile": Dir()},
    ),
]


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every path under ``roots``: kind, content hash / link target, mode."""
    seen: dict[str, tuple] = {}
    for root in roots:
        for base, dirs, names in os.walk(root):
            for name in dirs + names:
                path = Path(base, name)
                st = path.lstat()
                if path.is_symlink():
                    entry: tuple = ("link", os.readlink(path))
                elif path.is_dir():
                    entry = ("dir", st.st_mode)
                elif path.is_file():
                    entry = ("file", st.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
                else:
                    entry = ("other", st.st_mode)
                seen[str(path)] = entry
    return seen


def make(root: Path, files: dict[str, Any]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        if content is None:
            continue
        if isinstance(content, Dir):
            path.mkdir()
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "shop.yml").write_text(SHOP)
    (root / "pod.yml").write_text(HOSTS)
    (root / "h.yml").write_text(HOSTS)
    (root / "mason.yml").write_text("version: 1\npods:\n  demo: {hosts: 1}\n")
    shutil.copytree(builtin_dir() / "redis", root / "cat" / "thing")
    monkeypatch.chdir(root)
    for name in ("MASON_JSON", "MASON_CATALOG_PATH", "AWS_ENDPOINT_URL", "RAX_IDENTITY_URL"):
        monkeypatch.delenv(name, raising=False)
    return root


def invoke(project: Path, args: list[str], env: dict[str, str]):
    env = {
        "MASON_PROJECT_DIR": str(project),
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",  # an input that slips through: 5
        **env,
    }
    if args[:2] == ["catalog", "list"]:
        env["MASON_CATALOG_PATH"] = str(project / "cat")
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(project: Path, mason_home: Path, case: Case):
    make(project, case.files)
    before = snapshot(project, mason_home)
    result = invoke(project, case.args, case.env)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mason: error: "), result.stderr
    assert case.message in lines[0]
    assert result.exit_code == case.code, result.stderr
    assert result.stdout == ""
    assert snapshot(project, mason_home) == before, "a file appeared, changed or went away"


def test_the_table_is_large_and_distinct():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (["--json", "pod", "create", "demo\n"], 3, "invalid"),
        (["--json", "-C", "/nonexistent/project", "pod", "list"], 4, "not_found"),
        (["--json", "--bogus"], 2, "usage"),
        (["--json", "pod", "create"], 2, "usage"),
        (["--json", "harden", "demo", "-e", "{bad json"], 3, "invalid"),
    ],
)
def test_json_errors_keep_stdout_one_json_object(project: Path, args, code, kind):
    result = invoke(project, args, {})
    assert result.exit_code == code, result.stderr
    error = json.loads(result.stdout)["error"]
    assert (error["exit_code"], error["kind"]) == (code, kind)
    assert (
        result.stderr.strip() == f"mason: error: {error['message']}"
        or result.stderr.strip().startswith(f"mason: error: {error['message']} (see ")
    )


def test_positive_controls(project: Path, mason_home: Path):
    """The same commands on good input get past validation: the table's refusals are
    about the input, not a command that always fails."""
    before = snapshot(project)
    assert invoke(project, ["app", "validate", "apps/shop.yml"], {}).exit_code == 0
    assert invoke(project, ["app", "plan", "shop", "--hosts-file", "h.yml"], {}).exit_code == 0
    assert invoke(project, ["catalog", "list"], {}).exit_code == 0
    # a valid create reaches the (absent) engine: exit 5, so refusals above came first
    assert invoke(project, ["pod", "create", "demo"], {}).exit_code == 5
    assert invoke(project, ["harden", "demo", "-e", "k=[1]"], {}).exit_code == 5
    assert snapshot(project) == before
    added = invoke(project, ["app", "add-service", "shop", "db", "--catalog", "redis"], {})
    assert added.exit_code == 0, added.stderr
    assert (project / "apps" / "shop.yml").read_text().startswith(SHOP)
    made = invoke(project, ["init", "fresh"], {})
    assert made.exit_code == 0 and (project / "fresh" / "apps" / ".gitkeep").exists()
