"""Reading and writing quantities: 138.4M, 15.47G, 58.1 MiB, 0.5%."""

from __future__ import annotations

import re

_DECIMAL = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY = {"B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
           "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
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
        units = "B, KiB, MiB, GiB, TiB, KB, MB, GB" if binary else "K, M, G, T"
        raise ValueError(f"unknown unit '{unit}' in {text!r} (expected {units})")
    result = value * table[key]
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
    """138357544 -> '138.4M'; small numbers stay exact."""
    value = float(value)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f}{unit}"
    return f"{value:.0f}" if value.is_integer() else f"{value:.{digits}f}"


def format_bytes(value: float) -> str:
    """60948032 -> '58.1 MiB'."""
    value = float(value)
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"
