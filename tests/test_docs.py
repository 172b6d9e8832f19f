"""Every spec example in the docs and the README runs, and the reference covers every layer kind."""

import re
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


def test_every_layer_kind_is_documented():
    text = (ROOT / "docs" / "spec-format.md").read_text()
    for op in REGISTRY.kinds():
        if op.kind != "input":
            assert f"`{op.kind}`" in text, f"layer kind '{op.kind}' missing from docs/spec-format.md"
