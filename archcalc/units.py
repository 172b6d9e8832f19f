"""Reading and writing quantities: 138.4M, 15.47G, 58.1 MiB, 0.5%."""

from __future__ import annotations

import math
import re

_DECIMAL = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_BINARY = {"B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50, "EIB": 2**60,
           "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15, "EB": 10**18}
_QUANTITY = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]*)\s*\Z")


def parse_quantity(text, *, binary: bool = False) -> float:
    """A count ('15.47G', '3.2M', '1e6') or, with ``binary``, a size ('58.1MiB', '2GB')."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    match = _QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"expected a number such as 15.5G or 200MiB, got {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    table = _BINARY if binary else _DECIMAL
    key = (unit.upper() or "B") if binary else unit.upper()
    if key not in table:
        units = "B, KiB, MiB, GiB, TiB, PiB, EiB, KB, MB, GB, TB, PB, EB" if binary else "K, M, G, T, P, E"
        raise ValueError(f"unknown unit '{unit}' in {text!r} (expected {units})")
    result = value * table[key]
    if not math.isfinite(result):
        raise ValueError(f"{text!r} is too large a number")
    return int(result) if result.is_integer() else result


def parse_fraction(text) -> float:
    """A relative tolerance: 0.005 or '0.5%'."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip()
    if s.endswith("%"):
        return float(s[:-1]) / 100
    return float(s)


def format_count(value: float, digits: int = 1) -> str:
    """138357544 -> '138.4M'; small numbers stay exact, absurd ones (from 1000E) go to 1.2e+21."""
    value = float(value)
    if abs(value) >= 1e21:
        return f"{value:.{digits}e}"
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f}{unit}"
    return f"{value:.0f}" if value.is_integer() else f"{value:.{digits}f}"


def format_bytes(value: float) -> str:
    """60948032 -> '58.1 MiB'; from 1024 EiB on, '1.2e+21 B'."""
    value = float(value)
    if abs(value) >= 2**70:
        return f"{value:.1e} B"
    for unit, scale in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                        ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"
