"""Human units in tables and in command-line budgets."""

import pytest

from archcalc.units import format_bytes, format_count, parse_fraction, parse_quantity


@pytest.mark.parametrize("value, text", [
    (138_357_544, "138.4M"),
    (15_470_264_320, "15.5G"),
    (999, "999"),
    (1_500, "1.5K"),
    (28_000_000_000_000, "28.0T"),
    (9_216_000_000_000_000, "9.2P"),
    (2_048_000_000_000_003_072, "2.0E"),
    (9_000_000_000_029_000_000_000_000, "9.0e+24"),
])
def test_format_count(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize("value, text", [
    (60_948_032, "58.1 MiB"),
    (512, "512 B"),
    (12 * 2**10, "12.0 KiB"),
    (int(7.3 * 2**50), "7.3 PiB"),
    (3 * 2**60, "3.0 EiB"),
    (36 * 10**24, "3.6e+25 B"),
])
def test_format_bytes(value, text):
    assert format_bytes(value) == text


@pytest.mark.parametrize("text, binary, value", [
    ("10M", False, 10_000_000),
    ("2G", False, 2_000_000_000),
    ("1.5P", False, 1_500_000_000_000_000),
    ("1e6", False, 1_000_000),
    ("200MiB", True, 200 * 2**20),
    ("16 GiB", True, 16 * 2**30),
    ("2GB", True, 2_000_000_000),
    ("1EiB", True, 2**60),
    ("4096", True, 4096),
])
def test_parse_quantity(text, binary, value):
    assert parse_quantity(text, binary=binary) == value


@pytest.mark.parametrize("text", ["ten", "10X", "MiB", "", "9" * 5000 + "GiB", "1e999"])
def test_parse_quantity_refuses(text):
    with pytest.raises(ValueError, match="expected|unknown unit|too large"):
        parse_quantity(text, binary=True)


def test_parse_fraction():
    assert parse_fraction("0.5%") == 0.005
    assert parse_fraction(0.01) == 0.01
