"""Regression corpus: minimal inputs that once crashed or hung archcalc (mostly found by test_fuzz.py).

Each tests/corpus/*.yaml must analyse (with its `expect:` figures checked) or
raise a SpecError located in the file; anything else fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzing import run_text

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))

def _param(path: Path):
    return pytest.param(path, id=path.stem)


def test_corpus_is_not_empty():
    assert CASES


@pytest.mark.parametrize("path", [_param(p) for p in CASES])
def test_corpus_case(path):
    run_text(path.read_text(encoding="utf-8"), name=path.name, seconds=5)
