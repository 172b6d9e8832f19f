"""Golden `archcalc check` output: each tests/check_specs/NAME.yaml beside its exact output
in every format (NAME.text, NAME.github, NAME.json).

There is one case per warning code (named after the code), so a new code cannot go
untested, and cases for what the checks make errors (an emptied branch, several errors
in one run). Specs are checked by the relative path ``tests/check_specs/NAME.yaml`` from
the repository root, the path the output shows.

After an intended change of wording, regenerate the files with
``ARCHCALC_UPDATE_GOLDEN=1 pytest tests/test_check_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.cli import cli
from archcalc.lint import CODES, lint

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path("tests") / "check_specs"
CASES = sorted(p.stem for p in (ROOT / CASES_DIR).glob("*.yaml"))
FORMATS = {"text": "text", "github": "github", "json": "json"}
UPDATE = os.environ.get("ARCHCALC_UPDATE_GOLDEN") == "1"
# The cases `check` fails without --strict: errors, and the codes that are errors in check.
FAILING = {"emptied-branch", "many-errors", *(code for code, c in CODES.items() if c.error_in_check)}


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def check(*args: str):
    return CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)


def test_every_code_has_a_case_and_every_case_its_outputs():
    assert set(CODES) <= set(CASES)
    for name in CASES:
        for suffix in FORMATS:
            assert (ROOT / CASES_DIR / f"{name}.{suffix}").is_file() or UPDATE, f"{name}.{suffix} is missing"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", CASES)
def test_golden_output(name, fmt):
    result = check(str(CASES_DIR / f"{name}.yaml"), "--format", fmt)
    golden = ROOT / CASES_DIR / f"{name}.{fmt}"
    if UPDATE:
        golden.write_text(result.output, encoding="utf-8")
    assert result.output == golden.read_text(encoding="utf-8")
    assert result.exit_code == (1 if name in FAILING else 0), result.output


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_warning_case_finds_its_code_where_the_spec_says(code):
    """The case of a code finds that code (and only it), located in the case's file."""
    path = CASES_DIR / f"{code}.yaml"
    found = lint(archcalc.load(path))
    assert found and {w.code for w in found} == {code}
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    for w in found:
        assert w.file == str(path) and 1 <= w.line <= len(lines) and w.column >= 1
        assert w.render().startswith(f"{path}:{w.line}:{w.column}: warning[{code}]: ")


@pytest.mark.parametrize("code", sorted(CODES))
def test_a_top_level_ignore_silences_its_code_only(code):
    text = (ROOT / CASES_DIR / f"{code}.yaml").read_text(encoding="utf-8")
    assert not lint(archcalc.load_text(f"ignore: [{code}]\n" + text, "case.yaml"))
    other = next(c for c in CODES if c != code)
    assert lint(archcalc.load_text(f"ignore: [{other}]\n" + text, "case.yaml"))


def test_strict_fails_on_any_warning_and_the_tally_counts_them():
    path = str(CASES_DIR / "dropped-pixels.yaml")
    assert check(path).exit_code == 0
    strict = check(path, "--strict")
    assert strict.exit_code == 1
    assert strict.output.splitlines()[0] == f"FAIL {path} (0 checks, 2 warnings)"
    assert strict.output.splitlines()[-1] == "archcalc check: 1 spec(s), 0 ok, 1 failing, 2 warning(s)"
    data = json.loads(check(path, "--strict", "--format", "json").output)
    assert data["passed"] is False and len(data["files"][0]["warnings"]) == 2


def test_the_builtin_library_passes_strict():
    result = check("specs/", "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_all_independent_errors_are_reported_in_one_run():
    data = json.loads(check(str(CASES_DIR / "many-errors.yaml"), "--format", "json").output)
    errors = data["files"][0]["errors"]
    assert [e["line"] for e in errors] == [6, 7, 8, 10, 11]
    assert data["files"][0]["error"] == errors[0]
    # `archcalc summary` and the API stop at the first.
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load(CASES_DIR / "many-errors.yaml")
    assert info.value.line == 6 and not hasattr(info.value, "errors")


def test_errors_stop_at_the_limit(monkeypatch, tmp_path):
    from archcalc.limits import LIMITS

    monkeypatch.setattr(LIMITS, "max_errors", 3)
    spec = tmp_path / "spec.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n" + "  - relux\n" * 10)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load(spec, all_errors=True)
    assert len(info.value.errors) == 3
    assert "stopped after 3 errors" in info.value.errors[-1].notes[-1]


def test_errors_inside_blocks_keep_their_call_notes(spec_text):
    with pytest.raises(archcalc.SpecError) as info:
        spec_text("""\
            input: [3, 8, 8]
            blocks:
              unit:
                params: [w]
                layers: [conv: {out: w, kernl: 3}, relux]
            layers:
              - unit: 4
            """, all_errors=True)
    notes = [e.notes for e in info.value.errors]
    assert notes == [["in block 'unit' (unit1), called at inline.yaml:7:5 with w=4"]] * 2


def test_summary_prints_warnings_once_below_the_table_on_stderr():
    result = CliRunner().invoke(cli, ["summary", str(CASES_DIR / "dropped-pixels.yaml")])
    assert result.exit_code == 0
    assert "warning" not in result.stdout
    assert result.stderr.count("warning[dropped-pixels]") == 2
    assert result.stderr == "\n".join(w.render() for w in lint(archcalc.load(CASES_DIR / "dropped-pixels.yaml"))) + "\n"
    quiet = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "json"])
    assert quiet.stderr == ""


def test_github_annotations_escape_spec_text():
    result = check(str(CASES_DIR / "unused-var.yaml"), "--format", "github")
    for line in result.output.splitlines()[:-1]:
        assert re.match(r"::warning file=tests/check_specs/unused-var\.yaml,line=\d+,col=\d+,title=unused-var::", line)
