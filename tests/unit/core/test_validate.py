"""Numbers, ports, URLs, CIDRs and extra vars as users give them: bounds and types."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mason.core import validate
from mason.core.errors import InvalidInput, NotFound
from mason.core.extravars import parse_extra_vars
from mason.core.names import check_name, is_login_name, is_variable_name


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "--hosts: must be >= 1, got 0"),
        (1001, "--hosts: must be <= 1000, got 1001"),
        (True, "--hosts: expected an integer, got a boolean True"),
        (2.0, "--hosts: expected an integer, got a number 2.0"),
        ("3", "--hosts: expected an integer, got a string '3'"),
    ],
)
def test_check_count(value, message):
    with pytest.raises(InvalidInput) as err:
        validate.check_count(value, "--hosts", high=validate.MAX_HOSTS)
    assert str(err.value) == message
    assert validate.check_count(1000, "--hosts") == 1000


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -1, "nan", "inf", "x", True])
def test_parse_cores_refuses_what_is_not_a_finite_positive_number(value):
    with pytest.raises(InvalidInput, match=r"^--cpu: expected a number of cores > 0"):
        validate.parse_cores(value, "--cpu")


def test_parse_cores_bounds():
    assert validate.parse_cores(0.5, "x") == 0.5
    assert validate.parse_cores("2", "x") == 2.0
    with pytest.raises(InvalidInput, match="must be at most 1024 cores"):
        validate.parse_cores(1025, "x")


@pytest.mark.parametrize("value", [math.nan, math.inf, 0, -5, 10**9, "90"])
def test_check_seconds(value):
    with pytest.raises(InvalidInput, match=r"^--ssh-timeout: "):
        validate.check_seconds(value, "--ssh-timeout")
    assert validate.check_seconds(90, "x") == 90.0


@pytest.mark.parametrize("value", ["²", "٣", "0", "65536", "80 ", True, 8.0, "1" * 5000])
def test_parse_port_refuses(value):
    with pytest.raises(InvalidInput, match="expected a port 1-65535"):
        validate.parse_port(value, "p")
    assert validate.parse_port("8080") == 8080


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "not a url",
            "expected a URL such as https://host:port (http/https only), got 'not a url'",
        ),
        ("ftp://example.test", "got scheme 'ftp' in 'ftp://example.test'"),
        ("http://", "expected a URL such as https://host:port, got 'http://'"),
        ("http://h:99999", "got 'http://h:99999'"),
        ("http://h/a b", "got 'http://h/a b'"),
        ("http://h\n", "got 'http://h\\n'"),
        (5, "got an integer 5"),
    ],
)
def test_check_url(value, message):
    with pytest.raises(InvalidInput) as err:
        validate.check_url(value, "--endpoint-url")
    assert str(err.value).startswith("--endpoint-url: expected a URL")
    assert message in str(err.value)
    assert validate.check_url("http://127.0.0.1:4566", "x") == "http://127.0.0.1:4566"


def test_check_cidr():
    assert validate.check_cidr("10.0.0.1/24", "x") == "10.0.0.0/24"
    for bad in ("10.0.0.0/33", "nope", 10):
        with pytest.raises(InvalidInput, match=r"^--admin-network: expected a CIDR"):
            validate.check_cidr(bad, "--admin-network")


@pytest.mark.parametrize(
    "name", ["demo\n", "demo\r", " demo", "dém", "a" * 64, "", 123, None, ["a"], "de\x00mo"]
)
def test_names_use_fullmatch_and_types(name):
    with pytest.raises(InvalidInput):
        check_name("pod", name)


def test_name_type_error_says_the_type():
    with pytest.raises(InvalidInput, match=r"^app name: expected a string, got an integer 123$"):
        check_name("app", 123)


def test_variable_and_login_names():
    assert is_variable_name("firewall_pod_tcp_ports") and not is_variable_name("a\n")
    assert not is_variable_name("1x") and not is_variable_name("a-b")
    assert is_login_name("mason") and is_login_name("ec2-user")
    assert not is_login_name("root\n") and not is_login_name("a b") and not is_login_name("")


def test_extra_vars_forms(tmp_path: Path):
    f = tmp_path / "vars.yml"
    f.write_text("a: 1\nb: [x]\n")
    assert parse_extra_vars(["k=v", "n=3", "l=[1, 2]", "e=", '{"j": true}', f"@{f}", "k=w"]) == {
        "k": "w",
        "n": 3,
        "l": [1, 2],
        "e": "",
        "j": True,
        "a": 1,
        "b": ["x"],
    }


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("k=[unclosed", InvalidInput, "--extra-vars k: line 1, column 10: invalid YAML"),
        ("{bad json", InvalidInput, "--extra-vars: line 1, column 10: invalid YAML"),
        ("[1, 2]", InvalidInput, "--extra-vars: expected a mapping of variables, got a list"),
        ("novalue", InvalidInput, "--extra-vars: expected KEY=VALUE, @FILE or a JSON mapping"),
        ("1x=2", InvalidInput, "--extra-vars 1x: a string '1x' is not a variable name"),
        ("k=.nan", InvalidInput, "--extra-vars k: k: NaN and infinity are not allowed"),
        ('{"a": {"b": .inf}}', InvalidInput, "--extra-vars: a.b: NaN and infinity"),
        ("@/nonexistent/vars.yml", NotFound, "--extra-vars @/nonexistent/vars.yml: no such file"),
        ("@/", InvalidInput, "--extra-vars @/: a directory, expected a file"),
    ],
)
def test_extra_vars_errors_are_one_line(value, kind, message):
    with pytest.raises(kind) as err:
        parse_extra_vars([value])
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
