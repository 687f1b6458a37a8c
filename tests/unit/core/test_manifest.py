from __future__ import annotations

from pathlib import Path

import pytest

from mason.core.errors import InvalidInput
from mason.core.manifest import (
    DEFAULT_CPU,
    ManifestError,
    add_service_text,
    load_manifest,
    parse_manifest,
)
from mason.core.placement import Constraint

SRC = "apps/shop.yml"
CATALOG = {
    "postgresql": {
        "image": "mason/postgresql:bookworm",
        "ports": [{"container": 5432}],
        "resources": {"cpu": "500m", "memory": "512Mi"},
        "volumes": ["data:/var/lib/postgresql"],
    }
}


def errors_of(data, **kwargs) -> list[str]:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data, SRC, **kwargs)
    assert str(exc.value) == "\n".join(exc.value.lines)
    return exc.value.lines


def test_full_manifest_is_read():
    app = parse_manifest(
        {
            "name": "shop",
            "services": {
                "web": {
                    "image": "nginx:1.25",
                    "replicas": 3,
                    "resources": {"cpu": "250m", "memory": "256Mi"},
                    "ports": [80, "8443:443", {"container": 53, "public": 53, "protocol": "udp"}],
                    "env": {"DEBUG": False, "WORKERS": 4},
                    "volumes": ["cache:/var/cache/nginx:ro"],
                    "healthcheck": {"test": ["curl", "-f", "localhost"], "interval": "5s"},
                    "links": ["api"],
                    "ha": ["host", "zone"],
                    "placement": {
                        "strategy": "binpack",
                        "constraints": ["zone in [a, b]", "role != manager"],
                    },
                    "min_available": 2,
                },
                "api": {"build": "api"},
            },
            "addons": ["postgresql"],
        },
        SRC,
        addons=["postgresql"],
    )
    web = app.services["web"]
    assert (web.replicas, web.cpu, web.memory) == (3, 250, 256 * 2**20)
    assert web.public_ports == ((53, "udp"), (8443, "tcp"))
    assert web.env == {"DEBUG": "false", "WORKERS": "4"}
    assert web.volumes[0].read_only is True
    assert web.healthcheck.interval_ms == 5000
    assert web.ha == frozenset({"host", "zone"})
    assert web.constraints == tuple(
        sorted([Constraint.parse("zone in [a, b]"), Constraint.parse("role != manager")])
    )
    assert app.services["api"].cpu == DEFAULT_CPU
    assert app.addons == ("postgresql",)


def test_replicas_below_one():
    lines = errors_of({"name": "shop", "services": {"web": {"image": "x", "replicas": 0}}})
    assert lines == ["apps/shop.yml: services.web.replicas: must be >= 1, got 0"]


def test_every_error_is_reported_at_once():
    lines = errors_of(
        {
            "name": "Shop",
            "services": {
                "web": {
                    "image": "nginx",
                    "replica": 2,
                    "resources": {"cpu": "fast", "memory": "1GB"},
                    "links": ["db", "web"],
                    "ha": "rack",
                    "volumes": ["/etc:/etc"],
                    "ports": [70000],
                },
                "bad_name": {"image": "x"},
                "nosrc": {},
            },
            "addon": [],
        }
    )
    assert lines == [
        "apps/shop.yml: addon: unknown key (did you mean 'addons'?)",
        "apps/shop.yml: name: invalid app name 'Shop': expected lower-case letters, digits "
        "and '-', starting with a letter and not ending with '-'",
        "apps/shop.yml: services.web.replica: unknown key (did you mean 'replicas'?)",
        "apps/shop.yml: services.web.resources.cpu: expected cpu like '500m' or 2, got 'fast'",
        "apps/shop.yml: services.web.resources.memory: expected memory like '256Mi' or '1Gi' "
        "(suffixes: k, M, G, T, Ki, Mi, Gi, Ti), got '1GB'",
        "apps/shop.yml: services.web.ports[0]: must be <= 65535, got 70000",
        "apps/shop.yml: services.web.volumes[0]: host paths are not allowed, use a named "
        "volume: '/etc'",
        "apps/shop.yml: services.web.ha: must be one of host, zone, none, got 'rack'",
        "apps/shop.yml: services.bad_name: invalid service name 'bad_name': expected "
        "lower-case letters, digits and '-', starting with a letter and not ending with '-'",
        "apps/shop.yml: services.nosrc: needs exactly one of image, catalog, build (got none)",
        "apps/shop.yml: services.web.links[0]: no service 'db' in this app "
        "(expected one of: web, bad_name, nosrc)",
        "apps/shop.yml: services.web.links[1]: a service cannot link to itself",
    ]


def test_catalog_service_takes_template_defaults_and_overrides():
    app = parse_manifest(
        {"services": {"db": {"catalog": "postgresql", "resources": {"memory": "1Gi"}}}},
        SRC,
        default_name="shop",
        catalog=CATALOG,
    )
    db = app.services["db"]
    assert app.name == "shop"
    assert db.image == "mason/postgresql:bookworm"
    assert (db.cpu, db.memory) == (500, 2**30)  # cpu from the template, memory overridden
    assert db.ports[0].container == 5432


def test_unknown_catalog_entry_and_addon():
    lines = errors_of(
        {"name": "shop", "services": {"db": {"catalog": "postgres"}}, "addons": ["redsi"]},
        catalog=CATALOG,
        addons=["postgresql", "redis"],
    )
    assert lines == [
        "apps/shop.yml: services.db.catalog: no catalog entry 'postgres' "
        "(did you mean 'postgresql'?)",
        "apps/shop.yml: addons[0]: unknown addon 'redsi' (did you mean 'redis'?)",
    ]


@pytest.mark.parametrize(
    ("service", "line"),
    [
        (
            {"image": "x", "catalog": "y"},
            "services.web: needs exactly one of image, catalog, build",
        ),
        ({"image": "x", "min_available": 3}, "services.web.min_available: must be <= replicas (1)"),
        ({"image": "x", "placement": {"strategy": "pack"}}, "must be one of spread, binpack"),
        ({"image": "x", "placement": {"constraints": ["zone ~ a"]}}, "cannot read constraint"),
        ({"image": "x", "env": {"1X": "a"}}, "services.web.env.1X: not a valid environment"),
        ({"image": "x", "ports": ["80", "8080:80", "8080:81"]}, "public port 8080 given twice"),
        ({"image": "x", "healthcheck": {"interval": "5s"}}, "healthcheck.test: required"),
        ({"image": "x", "replicas": "3"}, "replicas: expected an integer, got a string '3'"),
    ],
)
def test_service_errors(service, line):
    lines = errors_of({"name": "shop", "services": {"web": service}})
    assert any(line in entry for entry in lines), lines


def test_not_a_mapping_and_no_services():
    assert errors_of([1]) == ["apps/shop.yml: expected a mapping with 'services', got a list"]
    assert errors_of({"name": "shop"}) == [
        "apps/shop.yml: services: required: a mapping of service name to service"
    ]


def test_load_manifest_reports_yaml_syntax(tmp_path: Path):
    path = tmp_path / "shop.yml"
    path.write_text("services:\n  web: [\n")
    with pytest.raises(InvalidInput) as exc:
        load_manifest(path, source="apps/shop.yml")
    assert str(exc.value).startswith("apps/shop.yml: line 3, column 1: invalid YAML:")


def test_load_manifest_names_app_after_file(tmp_path: Path):
    path = tmp_path / "shop.yml"
    path.write_text("services:\n  web:\n    image: nginx\n")
    assert load_manifest(path).name == "shop"


def test_add_service_keeps_comments_and_layout():
    text = (
        "# my shop\nname: shop\nservices:\n    web:   # front\n        image: nginx\n\nextra: 1\n"
    )
    new = add_service_text(text, "shop", "db", {"catalog": "postgresql", "replicas": 1})
    assert new == (
        "# my shop\nname: shop\nservices:\n    web:   # front\n        image: nginx\n"
        "    db:\n      catalog: postgresql\n      replicas: 1\n\nextra: 1\n"
    )


def test_add_service_new_file_and_flow_style_fallback():
    assert add_service_text(None, "shop", "db", {"catalog": "redis"}) == (
        "---\nname: shop\nservices:\n  db:\n    catalog: redis\n"
    )
    new = add_service_text(
        "name: shop\nservices: {web: {image: x}}\n", "shop", "db", {"catalog": "redis"}
    )
    import yaml

    assert yaml.safe_load(new)["services"] == {"web": {"image": "x"}, "db": {"catalog": "redis"}}


@pytest.mark.parametrize(
    ("text", "attribute", "operator", "values"),
    [
        ("zone in [a, b]", "zone", "in", ("a", "b")),
        ("role != manager", "role", "not in", ("manager",)),
        ("disk == ssd", "labels.disk", "in", ("ssd",)),
        ("labels.gpu = 'true'", "labels.gpu", "in", ("true",)),
        ("label.tier not in [x]", "labels.tier", "not in", ("x",)),
    ],
)
def test_constraint_parse(text, attribute, operator, values):
    c = Constraint.parse(text)
    assert (c.attribute, c.operator, c.values) == (attribute, operator, values)


def test_constraint_matching_missing_label():
    eq, ne = Constraint.parse("gpu == true"), Constraint.parse("gpu != true")
    host = {"zone": "a", "role": "worker", "host": "h1", "labels": {}}
    assert not eq.matches(**host)
    assert ne.matches(**host)
    assert eq.matches(**{**host, "labels": {"gpu": "true"}})
