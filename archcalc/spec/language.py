"""The spec language's reserved words, and how a raw value is named in messages.

Shared by the builder, the JSON Schema (spec/schema.py) and the fuzz tests, so a new
keyword is added in one place.
"""

from __future__ import annotations

import math
import re

TOP_KEYS = (
    "name", "title", "source", "notes", "input", "vars", "defaults", "blocks",
    "layers", "outputs", "expect", "reference", "ignore", "tensor_cores",
)
REFERENCE_KEYS = ("top1", "top5", "dataset", "source")
META_KEYS = ("name", "from", "frozen", "when", "ignore")
# Keywords that build structure; the joins written as branches are layer kinds (Op.branch_merge).
CONSTRUCT_KEYS = {
    "repeat": ("layers", "index", "dense"),
    "residual": ("shortcut",),
    "split": (),
    "chunk": (),
}
# The items that part a node's channels into views, one `slice` node per part (spec/splits.py).
SPLIT_KEYS = ("split", "chunk")
MODIFIER_KEYS = {"layers", "index", "dense", "shortcut"}
SHORTCUTS = ("auto", "identity", "projection", "optional", "none")
BLOCK_KEYS = ("params", "defaults", "layers", "doc")
# Node, block, variable and parameter names.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
# A node or group may also be named by a number, as torch names the children of nn.Sequential.


def describe_raw(value) -> str:
    """A value of the parsed YAML as a message shows it: as written ('5', 'relu', 'true'),
    or what it is ('a list', 'a mapping', 'nothing', 'a 4,000-digit number')."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else f"{value:g} (a number too large to hold)"
    if isinstance(value, int) and abs(value) >= 10**24:
        return f"a {len(str(abs(value))):,}-digit number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return str(value)
