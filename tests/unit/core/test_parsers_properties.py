"""Property: every parser of a user's input returns its model or raises mason's own error.

For arbitrary bytes, arbitrary YAML-ish text, and documents built from each parser's
own vocabulary (its keys, plausible and implausible values, YAML's odd corners), each
parser (mason.yml, app manifest, hosts file, static hosts, extra vars, catalog entry)
either returns or raises :class:`MasonError`. Anything else (a TypeError, a
RecursionError, a UnicodeDecodeError) fails the test with the input that caused it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mason.core import documents
from mason.core.catalog import ADDON_KEYS, builtin_dir, load_entry
from mason.core.errors import MasonError
from mason.core.extravars import parse_extra_vars
from mason.core.hostsfile import HOST_KEYS, RUNNING_KEYS, load_hosts_file
from mason.core.manifest import APP_KEYS, SERVICE_KEYS, load_manifest
from mason.core.manifest.model import HEALTHCHECK_KEYS, PLACEMENT_KEYS, PORT_KEYS, VOLUME_KEYS
from mason.core.project import POD_KEYS, PROJECT_KEYS, load_project
from mason.providers.aws.options import OPTION_KEYS as AWS_KEYS
from mason.providers.static import HOST_KEYS as STATIC_KEYS
from mason.providers.static import parse_hosts as parse_static_hosts

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- inputs --------------------------------------------------------------------------

KEYS = sorted(
    {
        *PROJECT_KEYS, *POD_KEYS, *APP_KEYS, *SERVICE_KEYS, *HOST_KEYS, *RUNNING_KEYS,
        *STATIC_KEYS, *AWS_KEYS, *ADDON_KEYS, *HEALTHCHECK_KEYS, *PLACEMENT_KEYS, *PORT_KEYS,
        *VOLUME_KEYS, "pods", "local", "web", "db", "MASON_X_URL", "cpu", "memory",
    }
)  # fmt: skip
ODD_STRINGS = [
    "", " ", "1Gi", "512Mi", "100Ti", "500m", "0.5", "²", "٣", "80", "8080:80", "53/udp",
    "80:x", "nginx:1.25", "nginx:1.25\n", "demo\n", "Demo", "../../etc", "/etc", "data:/x:ro",
    "zone in [a, b]", "role != manager", "{app}", "{nope}", "{0}", "{app:{zzz}}", "10s",
    "1e400", "nan", ".inf", "ftp://x", "http://127.0.0.1:1", "10.0.0.0/33", "host", "zone",
    "spread", "binpack", "postgresql", "redis", "a" * 300, "\t", "\u2028", "\x85",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=20),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(-3, 3), st.booleans())


def documents_of() -> st.SearchStrategy[Any]:
    """Nested data from the parsers' own vocabulary: keys they know, values they may not."""
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=5)
        ),
        max_leaves=20,
    )


ANY = documents_of()


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict]:
    """A mapping of some of a parser's own keys with their values, now and then with an
    unknown key too: mostly valid, so the parser reaches its later fields."""

    def build(chosen: list[str]) -> st.SearchStrategy[dict]:
        known = st.fixed_dictionaries({k: fields[k] for k in chosen})
        return st.one_of(known, known, known, known.map(lambda d: {**d, "bogus": 1}))

    return st.lists(st.sampled_from(sorted(fields)), unique=True).flatmap(build)


def field(valid: Any, odd: Any) -> st.SearchStrategy[Any]:
    """A field's value: valid four times in six, odd (a value the parser must refuse)
    once, anything at all once."""
    good = valid if isinstance(valid, st.SearchStrategy) else st.sampled_from(valid)
    bad = st.sampled_from(odd)
    return st.one_of(good, good, good, good, bad, ANY)


def key(valid: list[Any], odd: list[Any]) -> st.SearchStrategy[Any]:
    """A mapping key: valid, or odd (hashable: YAML refuses unhashable keys itself)."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(odd))


NAME = field(["web", "db", "zone-a", "a"], ["Bad", "demo\n", "", 7, "x" * 70, None])
CPU = field([1, 0.5, "500m", "2"], [0, -1, 1e300, 1025, "1.0001", "²", ".nan", float("nan")])
MEMORY = field(["1Gi", "512Mi", 1024], [0, -5, "100Ti", "1.5Gi", "1GB", 2**64, float("inf")])
PORT = field([80, "8080:80", "53/udp", {"container": 80}], ["²", 0, 70000, "1:2:3", "80/sctp"])
LABELS = st.dictionaries(key(["disk", "gpu"], [1, "a b", True]), SCALARS, max_size=3)
SERVICE = shaped(
    {
        "image": field(["nginx:1.25"], ["nginx:1.25\n", "UPPER/x", "", "a b"]),
        "catalog": field(["postgresql"], ["postgres", ["postgresql"], {"a": 1}]),
        "build": field(["app", "./x"], ["../../etc", "/abs", "a/../.."]),
        "command": field([["run"], "run"], [[1, None]]),
        "replicas": field([1, 3], [0, 1001, True, "2", 1.5]),
        "resources": shaped({"cpu": CPU, "memory": MEMORY}),
        "ports": st.lists(PORT, max_size=3),
        "env": st.dictionaries(key(["A", "B_1"], ["1A", "a-b", 5]), SCALARS, max_size=3),
        "volumes": st.lists(
            field(["data:/x", {"source": "d", "target": "/d"}], ["/etc:/x", "d:rel", {"x": 1}]),
            max_size=2,
        ),
        "healthcheck": shaped(
            {
                "test": field([["true"], "true"], [[1]]),
                "interval": field(["5s"], ["5", 5, "1x"]),
                "retries": field([3], [0, 101]),
            }
        ),
        "links": field([["db"], "db"], [["web"], 5, {"db": 1}, [None]]),
        "ha": field(["host", ["host", "zone"], None], ["rack", False, 3]),
        "placement": shaped(
            {
                "strategy": field(["spread", "binpack"], ["random"]),
                "constraints": field([["zone in [a]"], "role != manager"], [["?"], [3]]),
            }
        ),
        "min_available": field([0, 1], [5000, "1"]),
        "description": field(["x"], [5, None]),
    }
)
AWS = shaped(
    {
        "region": field(["eu-west-1"], ["mars-1", 5]),
        "endpoint_url": field(["http://127.0.0.1:1"], ["ftp://x", "not a url", 5]),
        "admin_networks": field([["10.0.0.0/8"], "10.0.0.0/8"], [5, ["x"], [None]]),
        "pod_ports": field([["5000", "8400-8499"], [22]], [5, ["80-70"], ["²"], [None]]),
        "cidr": field(["10.42.0.0/16"], ["10.0.0.0/8", 5, "x"]),
        "address": field(["public", "private"], ["both"]),
        "zone_map": field([{"zone-a": "eu-west-1a"}], [[1], {"a": 5}]),
    }
)
POD = shaped(
    {
        "provider": field(["docker", "static", "aws"], ["nimbus", 5, ""]),
        "environment": NAME,
        "hosts": field([1, 3], [0, 100000, True, 2.5, "3"]),
        "zones": st.lists(NAME, max_size=3),
        "cpu": CPU,
        "memory": MEMORY,
        "labels": LABELS,
        "options": st.one_of(AWS, st.fixed_dictionaries({"hosts": ANY})),
    }
)
RUNNING = shaped(
    {
        "app": NAME,
        "service": NAME,
        "replica": field([1, 2], [0, 2000, "1"]),
        "cpu": CPU,
        "memory": MEMORY,
        "ports": st.lists(PORT, max_size=2),
    }
)
HOST = shaped(
    {
        "name": NAME,
        "zone": NAME,
        "cpu": CPU,
        "memory": MEMORY,
        "role": field(["worker", "manager"], ["boss"]),
        "labels": LABELS,
        "running": st.lists(RUNNING, max_size=2),
    }
)
MACHINE = shaped(
    {
        "address": field(["192.0.2.10", "h.example"], ["", "a\nb", 5]),
        "port": field([22, "22", 2222], ["²", 0, 70000, True]),
        "user": field(["mason", "ec2-user"], ["root\n", "", "a b", 5]),
        "zone": NAME,
        "role": field(["manager", "worker"], ["boss"]),
        "labels": LABELS,
        "cpu": CPU,
        "memory": MEMORY,
        "name": NAME,
    }
)
ADDON = shaped(
    {
        "description": field(["x"], [1]),
        "defaults": st.dictionaries(
            key(["port", "user"], [3]), field(["5432", "{app}"], [1, "{nope}"])
        ),
        "env": st.dictionaries(
            key(["MASON_X_URL"], ["MASON_X\n", "URL", 5]),
            field(["{app}://{host}"], ["{nope}", "{0}", "{app:{zzz}}", "{", 5, None]),
        ),
    }
)


# Raw YAML corners a dump of Python data never produces.
SNIPPETS = [
    "&a [*a]", "&a {x: *a}", "!!binary x", "!!python/object/apply:os.system [ls]",
    "? [a, b]\n: c", "<<: 1", "<<: [*x]", "2001-02-30", "1" * 5000, "0x1F", "0o17",
    "--- 1\n--- 2", "%YAML 1.1\n---\na: 1", "!!set {a, b}", "!!omap [a: 1]", "[[[[[[[[",
    '"\\x00"', "'a", "|\n  text", ">-\n  folded", "{a: 1, a: 2}", "*undefined", "\t- a",
    "a: 1\na: 2", "- - - - -", "!!timestamp x", "!!float nan", "!!int x", "a: !!str 1",
]  # fmt: skip
YAMLISH = st.one_of(
    st.text(
        alphabet=st.sampled_from(list(" \n\t:-[]{}&*!|>'\"%@#,?.0123456789abcxyz")), max_size=300
    ),
    st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=4).map("\n".join),
)


def dumped(data: Any) -> st.SearchStrategy[str]:
    """``data`` as YAML, in block or flow style, or as JSON."""
    return st.sampled_from(["block", "flow", "json"]).map(lambda style: _dump(data, style))


def _dump(data: Any, style: str) -> str:
    if style == "json":
        try:
            return json.dumps(data)
        except (TypeError, ValueError):
            style = "flow"
    try:
        return yaml.safe_dump(data, default_flow_style=style == "flow", allow_unicode=True)
    except yaml.YAMLError:
        return "{}"


@st.composite
def texts(draw: st.DrawFn, shape: Callable[[Any], Any] = lambda d: d) -> str:
    """YAML-ish text: structured (``shape`` puts generated data where a parser looks),
    raw corners, or either with one character inserted somewhere."""
    kind = draw(st.sampled_from(["structured", "yamlish"]))
    text = draw(dumped(shape(draw(documents_of())))) if kind == "structured" else draw(YAMLISH)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(list(":-[]{}&*!\n\t #'\"\x00\xa0"))) + text[at:]
    return text


CONTENT = st.one_of(st.binary(max_size=600), texts().map(str.encode))


def shapes(
    strategy: st.SearchStrategy[Any], shape: Callable[[Any], Any]
) -> st.SearchStrategy[bytes]:
    """Documents in a parser's own shape (``shape`` puts them where it looks), dumped."""
    return strategy.flatmap(lambda data: dumped(shape(data))).map(str.encode)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mason-props-") as path:
        yield Path(path)


def holds(parse: Callable[[], Any]) -> None:
    """The property: a model, or mason's own error."""
    with contextlib.suppress(MasonError):
        parse()


# -- mason.yml -----------------------------------------------------------------------


def _project(data: Any) -> Any:
    return {"version": 1, "pods": {"local": data}} if isinstance(data, dict) else data


@EXAMPLES
@given(content=st.one_of(CONTENT, texts(_project).map(str.encode), shapes(POD, _project)))
def test_project_file(workdir: Path, content: bytes):
    (workdir / "mason.yml").write_bytes(content)
    holds(lambda: load_project(workdir))


# -- app manifest --------------------------------------------------------------------


def _manifest(data: Any) -> Any:
    return {"name": "shop", "services": {"web": data}} if isinstance(data, dict) else data


@EXAMPLES
@given(content=st.one_of(CONTENT, texts(_manifest).map(str.encode), shapes(SERVICE, _manifest)))
def test_manifest(workdir: Path, content: bytes):
    path = workdir / "shop.yml"
    path.write_bytes(content)
    catalog = {"postgresql": {"image": "mason/postgresql:bookworm", "ports": [5432]}}
    holds(lambda: load_manifest(path, catalog=catalog, addons=["postgresql"]))


# -- hosts file (YAML and JSON) ------------------------------------------------------


def _hosts(data: Any) -> Any:
    return {"hosts": [data, {"name": "h2", "zone": "a", "cpu": 1, "memory": "1Gi"}]}


@EXAMPLES
@given(
    content=st.one_of(CONTENT, texts(_hosts).map(str.encode), shapes(HOST, _hosts)),
    suffix=st.sampled_from([".yml", ".json"]),
)
def test_hosts_file(workdir: Path, content: bytes, suffix: str):
    path = workdir / f"pod{suffix}"
    path.write_bytes(content)
    holds(lambda: load_hosts_file(path))


# -- static hosts (options.hosts of a static pod) ------------------------------------


def _static(data: Any) -> Any:
    return [data, "192.0.2.10"] if isinstance(data, dict) else data


@EXAMPLES
@given(content=st.one_of(CONTENT, texts(_static).map(str.encode), shapes(MACHINE, _static)))
def test_static_hosts(workdir: Path, content: bytes):
    path = workdir / "static.yml"
    path.write_bytes(content)
    holds(lambda: parse_static_hosts("rack", documents.load(path), "mason.yml: pods.rack"))


# -- extra vars (-e) -----------------------------------------------------------------


@EXAMPLES
@given(content=CONTENT, text=texts(), key=st.text(max_size=6))
def test_extra_vars(workdir: Path, content: bytes, text: str, key: str):
    path = workdir / "vars.yml"
    path.write_bytes(content)
    holds(lambda: parse_extra_vars([f"@{path}"]))
    holds(lambda: parse_extra_vars([text]))
    holds(lambda: parse_extra_vars([f"{key}={text}"]))


# -- catalog entry -------------------------------------------------------------------


@EXAMPLES
@given(
    service=st.one_of(CONTENT, texts().map(str.encode), shapes(SERVICE, lambda d: d)),
    addon=st.one_of(
        CONTENT, texts(lambda d: {"env": d}).map(str.encode), shapes(ADDON, lambda d: d)
    ),
    recipe=st.one_of(st.binary(max_size=100), st.just(b"ARG BASE\nFROM ${BASE}\n")),
)
def test_catalog_entry(workdir: Path, service: bytes, addon: bytes, recipe: bytes):
    entry = workdir / "catalog" / "thing"
    shutil.rmtree(entry, ignore_errors=True)
    shutil.copytree(builtin_dir() / "redis", entry)
    which = [("service.yml", service), ("addon.yml", addon), ("Dockerfile", recipe)]
    for name, data in which:
        (entry / name).write_bytes(data)
    holds(lambda: load_entry(entry))


def test_the_inputs_reach_the_models(workdir: Path):
    """Positive control: valid documents in the same shapes parse to models, so the
    properties above exercise the parsers, not only their first refusal."""
    (workdir / "mason.yml").write_text(_dump(_project({"hosts": 2, "cpu": 1}), "flow"))
    assert load_project(workdir).pod("local").hosts == 2
    path = workdir / "shop.yml"
    path.write_text(_dump(_manifest({"catalog": "postgresql"}), "json"))
    catalog = {"postgresql": {"image": "mason/postgresql:bookworm"}}
    assert load_manifest(path, catalog=catalog).services["web"].image.startswith("mason/")
    path = workdir / "pod.json"
    path.write_text(_dump(_hosts({"name": "h1", "zone": "a", "cpu": 2, "memory": 1024}), "json"))
    assert [h.name for h in load_hosts_file(path).hosts] == ["h1", "h2"]
    assert parse_static_hosts("rack", _static({"address": "a"}), "x")[1].address == "192.0.2.10"
    assert parse_extra_vars(["k=[1]"]) == {"k": [1]}
