"""Every table fits the width it is given: --width, else $COLUMNS, else 80 when piped.

Columns that do not fit are hidden whole (a note says which), a name may be shortened
in the middle, text wraps; no line is longer than the width, none ends in spaces, and
no figure is cut: every word printed at a narrow width is one printed at full width.
"""

import io
import json
import re

import pytest
from click.testing import CliRunner
from rich.console import Console

from archcalc.cli import cli
from archcalc.report.fit import ELLIPSIS, fit_table, shorten_middle

COMMANDS = [
    ("summary", "resnet152"),
    ("summary", "googlenet", "--columns", "name,kind,shape,activations,memory,params,weights,biases,trainable,"
                              "macs,other_ops,rf,jump,block"),
    ("summary", "vgg16", "--full-names"),
    ("summary", "resnet50", "--full-names", "--depth", "3"),
    ("list",),
    ("compare", "resnet50", "resnext50-32x4d", "wide-resnet50-2", "--by-block"),
    ("kinds",),
    ("kinds", "conv"),
    ("memory", "mobilenet-v2", "--layers", "--budget", "8GiB"),
]
NOTE = re.compile(r"--width (\d+)( shows all\))?$")


def printed(args, width=None, env=None):
    extra = [] if width is None else ["--width", str(width)]
    result = CliRunner().invoke(cli, [*args, *extra], env=env or {"COLUMNS": None})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def words(lines):
    return {w for line in lines if not NOTE.search(line) for w in line.split() if ELLIPSIS not in w and "─" not in w}


def test_the_note_names_as_many_hidden_columns_as_fit():
    lines = printed(COMMANDS[1], 60)
    assert [line for line in lines if NOTE.search(line)] == ["hidden: 9 columns, 45 names shortened; see --width 178"]


def headers(lines):
    return [lines[i - 1] for i, line in enumerate(lines) if line and set(line) == {"─"}]


@pytest.fixture(scope="module")
def whole():
    """Each command's output with room for every column."""
    return {args: printed(args, 1000) for args in COMMANDS}


@pytest.mark.parametrize("width", [60, 80, 120, None])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_tables_fit_their_width(whole, args, width):
    assert_fits(printed(args, width), whole[args], width or 80)  # piped, with no COLUMNS: 80


@pytest.fixture(scope="module")
def profiled():
    """One measured profile (timings differ run to run, so it is rendered, not rerun)."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    result = CliRunner().invoke(cli, ["profile", "googlenet", "--input", "3x64x64", "--batch", "1,2", "--warmup", "0",
                                      "--repeat", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    node = next(n for n in data["flops"]["nodes"] if n["compared"])  # a differing node, for its table
    node["fvcore"] += 5
    node["difference"] = 5
    return data


@pytest.mark.parametrize("width", [60, 80, 120])
def test_profile_tables_fit_their_width(profiled, width):
    from archcalc.report.profile import renderable

    def render(columns):
        console = Console(file=io.StringIO(), width=columns, no_color=True)
        console.print(renderable(profiled, columns))
        return [line.rstrip() for line in console.file.getvalue().splitlines()]

    assert_fits(render(width), render(1000), width)


def assert_fits(lines, whole_lines, limit):
    assert max(map(len, lines)) <= limit
    assert not [line for line in lines if line != line.rstrip()]
    assert words(lines) <= words(whole_lines)  # nothing cut: "118." or "2." would not be a word of the whole
    # A note under each table that hid a column (a header of the whole table is missing)
    # or shortened a name.
    narrow_headers, whole_headers = headers(lines), headers(whole_lines)
    missing = sum(1 for n, w in zip(narrow_headers, whole_headers) if set(w.split()) - set(n.split()))
    notes = [line for line in lines if NOTE.search(line)]
    if any(ELLIPSIS in line for line in lines if not NOTE.search(line)):
        assert len(notes) >= max(missing, 1)
    else:
        assert len(notes) == missing
    rules = [len(line) for line in whole_lines if line and set(line) == {"─"}]
    for note in notes:
        assert int(NOTE.search(note).group(1)) in rules


def test_columns_environment_sets_the_width():
    lines = printed(("summary", "resnet152"), env={"COLUMNS": "100"})
    assert max(map(len, lines)) <= 100
    assert not any(NOTE.search(line) for line in lines)  # 95 columns fit


def test_resnet152_at_80_columns_hides_and_says_what():
    lines = printed(("summary", "resnet152"), 80)
    header = next(line for line in lines if line.startswith("Layer"))
    assert header.split() == ["Layer", "Output", "Values", "Memory", "Params", "MACs", "RF"]
    assert "hidden to fit 80 columns: Kind (--width 95 shows all)" in lines
    assert "574 rows: --depth 1 shows 12, --depth 2 shows 62." in lines
    conv1 = next(line for line in lines if line.startswith("conv1 "))
    assert conv1.split() == ["conv1", "64×112×112", "802.8K", "3.1", "MiB", "9,408", "118.0M", "7"]
    # Each block row carries its whole path, so a nested row is found from its block.
    assert any(line.startswith("  layer3.35 ") for line in lines)


def test_full_names_show_every_path():
    lines = printed(("summary", "resnet152", "--full-names"), 200)
    assert any(line.startswith("layer3.35.conv2 ") for line in lines)


def test_fit_shortens_a_name_in_the_middle_and_hides_columns_in_order():
    cells = [["layer3.35.shortcut1.conv", "123,456", "7"], ["fc", "1", "2"]]
    fitted = fit_table(["Layer", "Params", "RF"], cells, [False, True, True], 30, drop=[2, 1], flex=0)
    assert fitted.hidden == ["RF"]
    assert fitted.lines[2] == "layer3…shortcut1.conv  123,456"
    assert fitted.shortened == 1 and fitted.full_width == 37
    assert shorten_middle("    layer1.0.shortcut1", 15) == "    lay…ortcut1"


def test_every_column_but_the_name_has_its_place_in_the_hide_order():
    from archcalc.report.rows import COLUMNS, HIDE_ORDER

    assert sorted(HIDE_ORDER) == sorted(set(COLUMNS) - {"name"})
