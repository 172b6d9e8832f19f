"""The summary table's fast renderable prints exactly what rich's Text of it prints."""

import io
import os
import re
import subprocess
import sys

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
    lines = printed(table, force_terminal=True, color_system="truecolor").splitlines()
    header, rule = lines[0], lines[1]
    rows = {re.sub(r"\x1b\[[0-9;]*m", "", line).split()[0]: line for line in lines[2:]}
    assert header.startswith("\x1b[1mLayer") and not rule.startswith("\x1b[")
    assert rows["inception3a"].startswith("\x1b[1m")  # a block row: bold
    assert rows["aux1"].startswith("\x1b[2m")  # a training-only head: dim
    assert rows["input"].startswith("input")  # a plain layer: no style


@pytest.mark.parametrize("spec", ["vgg16", "googlenet", "resnet50", "lenet5"])
@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_plain_summary_is_what_rich_prints_on_a_plain_console(spec, width):
    from archcalc.cli.options import plain_text
    from archcalc.report.text import summary_plain, summary_renderable

    analysis = archcalc.analyze(spec)
    rows = summary_rows(analysis)
    # The text of --output and of a pipe, fitted to the width, as rich prints it.
    expected = plain_text(summary_renderable(analysis, rows, DEFAULT_COLUMNS, width), width)
    assert summary_plain(analysis, rows, DEFAULT_COLUMNS, width) == expected
    assert max(map(len, expected.splitlines())) <= width


def test_plain_summary_with_full_names_is_what_rich_prints():
    from archcalc.cli.options import plain_text
    from archcalc.report.text import summary_plain, summary_renderable

    analysis = archcalc.analyze("resnet50")
    rows = summary_rows(analysis)
    expected = plain_text(summary_renderable(analysis, rows, DEFAULT_COLUMNS, 80, full_names=True), 80)
    assert summary_plain(analysis, rows, DEFAULT_COLUMNS, 80, full_names=True) == expected


@pytest.mark.parametrize("title", ["x" * 81, "网络 " * 3])
def test_plain_summary_declines_what_it_cannot_wrap_as_rich_does(title):
    from archcalc.report.text import summary_plain

    analysis = archcalc.analyze("lenet5")
    analysis.graph.title = title
    assert summary_plain(analysis, summary_rows(analysis), DEFAULT_COLUMNS, 80) is None


PIPED_SUMMARY = """
import sys
from archcalc.cli import main
try:
    main(["summary", "vgg16"])
except SystemExit:
    pass
print("rich.console" in sys.modules, "torch" in sys.modules, file=sys.stderr)
"""


def test_a_piped_summary_does_not_import_rich_console():
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
    done = subprocess.run([sys.executable, "-c", PIPED_SUMMARY], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and "138,357,544" in done.stdout
    assert done.stderr.split()[-2:] == ["False", "False"]
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80 and not any(line.endswith(" ") for line in lines), "fitted to 80 columns"


def test_a_totals_line_without_separators_wraps_under_its_figures():
    from archcalc.report.text import TOTALS_INDENT, wrap_totals

    line = "Traffic".ljust(TOTALS_INDENT) + "887.9 MiB moved = 354.4 MiB inputs + 230.2 MiB weights read + 303.3 MiB written"
    wrapped = wrap_totals([line], 60)
    assert wrapped[0].startswith("Traffic       887.9 MiB")
    assert len(wrapped) == 2 and all(len(w) <= 60 for w in wrapped)
    assert wrapped[1].startswith(" " * TOTALS_INDENT) and not wrapped[1][TOTALS_INDENT].isspace()
    assert [word for w in wrapped for word in w.split()] == line.split()


@pytest.mark.parametrize("spec, line", [
    ("vit-b-16", "Receptive field  224×224 (largest of any spatial node; every position sees the whole input "
                 "from encoder_block1.self_attention (attention) on)"),
    ("resnet50", "Receptive field  427×427 (largest of any spatial node)"),
])
def test_the_totals_say_where_every_position_sees_the_whole_input(spec, line):
    from archcalc.report.text import totals_lines

    assert totals_lines(archcalc.analyze(spec))[-1] == line
