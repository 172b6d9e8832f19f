"""docs/library.md is generated from the specs and must be current."""

import runpy
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"


def test_library_table_is_current():
    render = runpy.run_path(str(DOCS / "make_library.py"))["render"]
    assert (DOCS / "library.md").read_text() == render(), "run: python docs/make_library.py > docs/library.md"
