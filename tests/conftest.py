import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.cli import cli

EVERY_KIND = Path(__file__).parent / "every_kind.yaml"


@pytest.fixture
def spec_text():
    """Build a graph from an inline spec (dedented), as a user file would be."""

    def build(text: str, **kwargs):
        return archcalc.load_text(textwrap.dedent(text), "inline.yaml", **kwargs)

    return build


@pytest.fixture(scope="module")
def kinds():
    """tests/every_kind.yaml: many kinds in one network; each kind alone is tested from its own
    examples (tests/test_kinds.py), so a new kind need not be added here."""
    return archcalc.load(EVERY_KIND)


@pytest.fixture
def run():
    """Run the `archcalc` command line in-process: run("summary", "vgg16") -> click's Result."""
    runner = CliRunner()

    def invoke(*args, **kwargs):
        return runner.invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return invoke
