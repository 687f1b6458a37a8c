"""CPU, memory and duration quantities as users write them, and back.

Everything is kept as integers inside mason (millicores, bytes, milliseconds) so
that placement arithmetic is exact: the same input gives the same plan on every
machine, with no float rounding deciding which host wins.

CPU: ``2``, ``0.5``, ``"1.5"``, ``"500m"`` (millicores).
Memory: ``"256Mi"``, ``"1Gi"``, ``"512M"``, ``"2G"``, ``"64k"``, or a plain integer of bytes.
Binary suffixes (Ki, Mi, Gi, Ti) are powers of 1024, decimal ones (k, M, G, T) powers of
1000, as in Kubernetes and Docker.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from mason.core.errors import InvalidInput

MEMORY_SUFFIXES = {
    "": 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
# ASCII digits only (\d would take "²" and other Unicode digits); applied with fullmatch.
_MEMORY = re.compile(r"\s*([0-9]{1,15}(?:\.[0-9]{1,15})?)\s*([kKMGT]i?)?\s*")
_CPU = re.compile(r"\s*([0-9]{1,15}(?:\.[0-9]{1,15})?)\s*(m?)\s*")
MAX_MILLICORES = 1024 * 1000  # 1024 cores: no host has more
MAX_MEMORY = 64 * 1024**4  # 64Ti: no host has more
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION_MS["w"] = 7 * _DURATION_MS["d"]


def parse_cpu(value: object) -> int:
    """Return millicores for ``value`` (``"500m"``, ``2``, ``"0.25"``); raise InvalidInput."""
    expected = f"expected cpu like '500m' or 2, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(expected)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{expected} (not a finite number)")
    if isinstance(value, str):
        m = _CPU.fullmatch(value)
        if not m:
            raise InvalidInput(expected)
        number, milli = Decimal(m.group(1)), m.group(2)
    else:
        number, milli = Decimal(repr(value)), ""
        if number < 0:
            raise InvalidInput(expected)
    millicores = number if milli else number * 1000
    if millicores > MAX_MILLICORES:
        raise InvalidInput(f"cpu {value!r} is more than {MAX_MILLICORES // 1000} cores")
    if millicores != millicores.to_integral_value():
        raise InvalidInput(f"cpu {value!r} is finer than 1m (one millicore)")
    return int(millicores)


def parse_memory(value: object) -> int:
    """Return bytes for ``value`` (``"256Mi"``, ``"1Gi"``, ``"512M"``, ``1048576``)."""
    if isinstance(value, bool):
        raise InvalidInput(f"expected memory like '256Mi' or '1Gi', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"memory must not be negative, got {value!r}")
        return _bounded_memory(value, value)
    if not isinstance(value, str):
        raise InvalidInput(f"expected memory like '256Mi' or '1Gi', got {value!r}")
    m = _MEMORY.fullmatch(value)
    if not m:
        raise InvalidInput(
            f"expected memory like '256Mi' or '1Gi' (suffixes: k, M, G, T, Ki, Mi, Gi, Ti), "
            f"got {value!r}"
        )
    try:
        amount = Decimal(m.group(1)) * MEMORY_SUFFIXES[m.group(2) or ""]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise InvalidInput(f"bad memory quantity {value!r}") from exc
    if amount != amount.to_integral_value():
        raise InvalidInput(f"memory {value!r} is not a whole number of bytes")
    return _bounded_memory(int(amount), value)


def _bounded_memory(nbytes: int, value: object) -> int:
    if nbytes > MAX_MEMORY:
        raise InvalidInput(f"memory {value!r} is more than {format_memory(MAX_MEMORY)}")
    return nbytes


def parse_duration(value: object) -> int:
    """Return milliseconds for ``"10s"``, ``"500ms"``, ``"1m"``, ``"2h"``, ``"7d"``, ``"1w"``
    (the one reading of a duration with its unit; :func:`mason.core.pki.parse_duration`
    adds bare seconds)."""
    if not isinstance(value, str):
        raise InvalidInput(f"expected a duration like '10s' or '500ms', got {value!r}")
    m = _DURATION.match(value)
    if not m:
        raise InvalidInput(f"expected a duration like '10s' or '500ms', got {value!r}")
    return int(m.group(1)) * _DURATION_MS[m.group(2)]


def format_cpu(millicores: int) -> str:
    """``1500`` -> ``"1500m"``, ``2000`` -> ``"2"``: the shortest exact spelling."""
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def format_memory(nbytes: int) -> str:
    """Largest binary suffix that divides exactly; else plain bytes."""
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        unit = MEMORY_SUFFIXES[suffix]
        if nbytes and nbytes % unit == 0:
            return f"{nbytes // unit}{suffix}"
    return str(nbytes)


def format_size(nbytes: int) -> str:
    """A size for people to read, rounded: ``1.0Gi``, ``512Mi`` (format_memory is exact)."""
    return f"{nbytes / 2**30:.1f}Gi" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f}Mi"


def format_span(seconds: float) -> str:
    """A time span for people to read, two units at most: ``1d02h``, ``5h07m``, ``4m05s``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"
