import textwrap
from pathlib import Path

import pytest

import archcalc

EVERY_KIND = Path(__file__).parent / "every_kind.yaml"


@pytest.fixture
def spec_text():
    """Build a graph from an inline spec (dedented), as a user file would be."""

    def build(text: str, **kwargs):
        return archcalc.load_text(textwrap.dedent(text), "inline.yaml", **kwargs)

    return build


@pytest.fixture(scope="module")
def kinds():
    """tests/every_kind.yaml: every layer kind, for the tests of the torch side."""
    return archcalc.load(EVERY_KIND)
