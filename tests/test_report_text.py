"""The summary table's fast renderable prints exactly what rich's Text of it prints."""

import io

import pytest
from rich.console import Console

import archcalc
from archcalc.report.rows import DEFAULT_COLUMNS, summary_rows
from archcalc.report.text import summary_table


def printed(renderable, **console_options) -> str:
    out = io.StringIO()
    Console(file=out, width=120, **console_options).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("spec", ["vgg16", "googlenet", "resnet50"])
@pytest.mark.parametrize("console_options", [
    {"force_terminal": True, "color_system": "truecolor"},
    {"force_terminal": True, "color_system": "standard"},
    {"force_terminal": False, "no_color": True},
])
def test_table_lines_print_as_their_text(spec, console_options):
    analysis = archcalc.analyze(spec)
    table = summary_table(summary_rows(analysis), DEFAULT_COLUMNS)
    fast = printed(table, **console_options)
    assert fast == printed(table.text(), **console_options)
    assert "conv" in fast and fast.count("\n") == len(table.lines)


def test_styles_reach_the_terminal():
    table = summary_table(summary_rows(archcalc.analyze("googlenet")), DEFAULT_COLUMNS)
    coloured = printed(table, force_terminal=True, color_system="truecolor")
    assert "\x1b[1m" in coloured  # the bold header and block rows
    assert "\x1b[2m" in coloured or "\x1b[1;2m" in coloured  # the dim training-only heads
