"""Golden error messages: each tests/bad_specs/NAME.yaml must fail with exactly NAME.expected.

The expected text is the full ``SpecError.render()``: ``file:line:col: error: ...``,
the offending source line with a caret, notes and the hint. Specs are loaded by
the relative path ``tests/bad_specs/NAME.yaml`` from the repository root, so that
is the path the messages show.

After an intended change of wording, regenerate the files with
``ARCHCALC_UPDATE_GOLDEN=1 pytest tests/test_bad_specs.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import archcalc
from archcalc.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path("tests") / "bad_specs"
CASES = sorted(p.stem for p in (ROOT / CASES_DIR).glob("*.yaml"))
UPDATE = os.environ.get("ARCHCALC_UPDATE_GOLDEN") == "1"

# Options a case is loaded with, as a user would pass them (`--set widht=32`).
OPTIONS = {
    "unknown_override": {"overrides": {"widht": 32}},
}


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def run_case(name: str) -> SpecError:
    path = CASES_DIR / f"{name}.yaml"
    try:
        archcalc.analyze(str(path), **OPTIONS.get(name, {}))
    except SpecError as exc:
        return exc
    pytest.fail(f"{path} analysed without error")


def test_enough_cases_and_each_has_its_expected_output():
    assert len(CASES) >= 30
    expected = sorted(p.stem for p in (ROOT / CASES_DIR).glob("*.expected"))
    assert expected == CASES or UPDATE


@pytest.mark.parametrize("name", CASES)
def test_golden_message(name):
    rendered = run_case(name).render() + "\n"
    golden = ROOT / CASES_DIR / f"{name}.expected"
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASES)
def test_only_spec_errors_with_a_location_in_the_file(name):
    path = CASES_DIR / f"{name}.yaml"
    try:
        archcalc.analyze(str(path), **OPTIONS.get(name, {}))
    except SpecError as exc:
        assert exc.file == str(path)
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert 1 <= exc.line <= max(len(lines), 1)
        assert exc.column >= 1
        rendered = exc.render()
        assert rendered.startswith(f"{path}:{exc.line}:{exc.column}: error: ")
        if lines:
            # The caret line follows the quoted source line (a window of a long one).
            quoted, caret = rendered.splitlines()[1:3]
            shown = quoted.split("| ", 1)[1]
            assert shown.strip(".") in lines[exc.line - 1].expandtabs(1)
            assert len(shown) <= 106 and caret.endswith("^")
    except Exception as exc:  # pragma: no cover - the point of the test
        pytest.fail(f"{path} raised {type(exc).__name__}, not SpecError: {exc}")
    else:
        pytest.fail(f"{path} analysed without error")


def test_nodes_are_named_in_messages_about_nodes():
    # Messages about a layer say which one, by kind and full name.
    for name, node in {
        "conv_on_flat": "conv 'conv3_1'",
        "zero_size": "conv 'conv1'",
        "undefined_name": "conv 'conv1'",
        "error_in_block": "conv 'block1.conv1'",
        "add_shapes": "add 'sum'",
        "unknown_argument": "conv 'conv1'",
        "duplicate_node": "conv 'stem'",
        "from_cycle": "conv 'a'",
    }.items():
        exc = run_case(name)
        assert node in exc.message, (name, exc.message)
        assert exc.node is not None


def test_to_dict_carries_every_field():
    exc = run_case("error_in_block")
    data = exc.to_dict()
    assert data["file"] == str(CASES_DIR / "error_in_block.yaml")
    assert (data["line"], data["column"]) == (7, 59)
    assert data["node"] == "block1.conv1"
    assert data["notes"] and "block 'unit'" in data["notes"][0]
