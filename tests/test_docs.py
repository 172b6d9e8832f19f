"""Every spec example in the docs and the README runs, and the reference covers every layer kind."""

import re
import runpy
from pathlib import Path

import pytest

import archcalc
from archcalc.expect import check_expectations
from archcalc.ops import REGISTRY

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "docs" / "spec-format.md", ROOT / "README.md"]


def examples():
    for doc in DOCS:
        text = doc.read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            block = match.group(1)
            if re.search(r"^layers:", block, re.M):
                line = text[: match.start()].count("\n") + 2
                yield pytest.param(block, id=f"{doc.name}:{line}")


@pytest.mark.parametrize("block", list(examples()))
def test_example_runs(block):
    graph = archcalc.load_text(block, "example.yaml")
    analysis = archcalc.analyze(graph)
    assert analysis.layers[-1].output_shape
    results = check_expectations(graph, loader=lambda o: archcalc.load_text(block, "example.yaml", overrides=o))
    assert all(r.passed for r in results), [r.message for r in results]


def test_reference_has_many_examples():
    assert len(list(examples())) >= 20


def test_the_kinds_table_is_generated_from_the_registry():
    text = (ROOT / "docs" / "spec-format.md").read_text()
    make = runpy.run_path(str(ROOT / "docs" / "make_kinds.py"))
    assert make["render"]() in text, "run: python docs/make_kinds.py"
    for op in REGISTRY.kinds():
        if not op.graph_input:
            assert f"| `{op.kind}`" in make["render"](), op.kind
            assert op.doc and op.rules, f"layer kind '{op.kind}' needs `doc` and `rules` for the reference"


def test_the_reference_examples_give_no_warnings():
    from archcalc.lint import lint

    for param in examples():
        block = param.values[0]
        assert not lint(archcalc.load_text(block, "example.yaml")), param.id


def warning_sections():
    """(code, its example) for each section of docs/warnings.md; None for the text above them."""
    intro, *sections = re.split(r"^## ", (ROOT / "docs" / "warnings.md").read_text(), flags=re.M)
    for code, part in [(None, intro), *((s.split("\n", 1)[0].strip(), s) for s in sections)]:
        for block in re.findall(r"```yaml\n(.*?)```", part, re.S):
            yield code, block


def test_every_warning_code_is_documented_with_an_example_that_gives_it():
    from archcalc.lint import CODES, lint

    sections = list(warning_sections())
    assert {code for code, _ in sections if code} == set(CODES)
    for code, block in sections:
        found = {w.code for w in lint(archcalc.load_text(block, "example.yaml"))}
        assert found == ({code} if code else set()), (code, found)
