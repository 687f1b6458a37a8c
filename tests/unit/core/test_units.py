from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mason.core.errors import InvalidInput
from mason.core.units import (
    MAX_MEMORY,
    MAX_MILLICORES,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_duration,
    parse_memory,
)


@pytest.mark.parametrize(
    ("value", "millicores"),
    [("500m", 500), ("2", 2000), (2, 2000), (0.5, 500), ("1.5", 1500), ("0", 0), ("1m", 1)],
)
def test_parse_cpu(value, millicores):
    assert parse_cpu(value) == millicores


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("500M", "expected cpu like '500m' or 2, got '500M'"),
        ("-1", "expected cpu like '500m' or 2, got '-1'"),
        (True, "expected cpu like '500m' or 2, got True"),
        ("0.0005", "cpu '0.0005' is finer than 1m (one millicore)"),
        (None, "expected cpu like '500m' or 2, got None"),
    ],
)
def test_parse_cpu_rejects(value, message):
    with pytest.raises(InvalidInput) as exc:
        parse_cpu(value)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("value", "nbytes"),
    [
        ("256Mi", 256 * 2**20),
        ("1Gi", 2**30),
        ("512M", 512 * 10**6),
        ("2G", 2 * 10**9),
        ("64k", 64_000),
        ("1.5Gi", 3 * 2**29),
        (1024, 1024),
        ("100", 100),
    ],
)
def test_parse_memory(value, nbytes):
    assert parse_memory(value) == nbytes


@pytest.mark.parametrize("value", ["256MB", "1 gib", "-1Gi", "", "Gi", 1.5, True, [1]])
def test_parse_memory_rejects(value):
    with pytest.raises(InvalidInput, match="memory"):
        parse_memory(value)


def test_parse_duration():
    assert parse_duration("10s") == 10_000
    assert parse_duration("500ms") == 500
    assert parse_duration("2m") == 120_000
    assert parse_duration("1d") == 86_400_000 and parse_duration("1w") == 7 * 86_400_000
    with pytest.raises(InvalidInput, match="expected a duration like '10s'"):
        parse_duration("10")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_MILLICORES))
def test_cpu_round_trip(millicores):
    assert parse_cpu(format_cpu(millicores)) == millicores


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_MEMORY))
def test_memory_round_trip(nbytes):
    assert parse_memory(format_memory(nbytes)) == nbytes
