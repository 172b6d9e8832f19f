import textwrap

import pytest

import archcalc


@pytest.fixture
def spec_text():
    """Build a graph from an inline spec (dedented), as a user file would be."""

    def build(text: str, **kwargs):
        return archcalc.load_text(textwrap.dedent(text), "inline.yaml", **kwargs)

    return build
