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
