"""Regression corpus: minimal inputs that once crashed or hung archcalc (mostly found by test_fuzz.py).

Each tests/corpus/*.yaml must analyse (with its `expect:` figures checked) or
raise a SpecError located in the file; anything else fails. Cases whose bug lies
outside the spec package and is not fixed yet are marked xfail(strict=True) with
the bug's description, so the marker must go once the fix lands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzing import run_text

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))

# file name -> the unfixed bug it shows (reported to the owners of those files).
KNOWN_BUGS = {
    "expect_with_list.yaml": "archcalc/expect.py: `with:` values are not validated; a list makes "
    "check_expectations fail with TypeError (unhashable type)",
    "dead_node_after_aux_output.yaml": "archcalc/analysis.py: peak_live_bytes looks up the storage of "
    "a training-only input of a node that reaches no output (KeyError)",
    "adaptive_pool_huge.yaml": "archcalc/ops/pool.py: AdaptiveAvgPool._bin loops over every output "
    "position, so a huge `size` hangs the receptive-field computation",
}


def _param(path: Path):
    reason = KNOWN_BUGS.get(path.name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


def test_corpus_is_not_empty():
    assert CASES


@pytest.mark.parametrize("path", [_param(p) for p in CASES])
def test_corpus_case(path):
    run_text(path.read_text(encoding="utf-8"), name=path.name, seconds=5)
