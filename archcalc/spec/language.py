"""The spec language's reserved words, and how a raw value is named in messages.

Shared by the builder, the JSON Schema (spec/schema.py) and the fuzz tests, so a new
keyword is added in one place.
"""

from __future__ import annotations

import re

TOP_KEYS = (
    "name", "title", "source", "notes", "input", "vars", "defaults", "blocks",
    "layers", "outputs", "expect", "reference",
)
REFERENCE_KEYS = ("top1", "top5", "dataset", "source")
META_KEYS = ("name", "from", "frozen", "when")
BRANCH_MERGES = ("concat", "add", "multiply", "mean")
CONSTRUCT_KEYS = {
    "repeat": ("layers", "index", "dense"),
    "residual": ("shortcut",),
    "concat": (),
    "add": (),
    "multiply": (),
    "mean": (),
}
MODIFIER_KEYS = {"layers", "index", "dense", "shortcut"}
SHORTCUTS = ("auto", "identity", "projection", "optional", "none")
BLOCK_KEYS = ("params", "defaults", "layers", "doc")
# Node, block, variable and parameter names.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def describe_raw(value) -> str:
    """A value of the parsed YAML as a message shows it: 'a mapping', 'a list', 'nothing', '5'."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
