"""Where an item of a layer list is built (its scope) and the item itself, split up."""

from __future__ import annotations

from typing import Any

from archcalc.errors import Location
from archcalc.spec.expressions import dollar_name
from archcalc.spec.yaml_loader import LMap

BLOCK_IN, BLOCK_H, BLOCK_W = dollar_name("block_in"), dollar_name("block_h"), dollar_name("block_w")
# The block's input node, for `from: $block_in` (a key no expression can name).
BLOCK_NODE = dollar_name("block_in node")


class Scope:
    """Where an item is built: its name path, visible values and defaults."""

    __slots__ = ("path", "values", "defaults", "blocks_open", "frozen", "ignore", "counters", "opened")

    def __init__(self, path: tuple[str, ...], values: dict[str, Any], defaults: dict[str, LMap],
                 blocks_open: tuple[str, ...] = (), frozen: bool = False, ignore: frozenset[str] = frozenset(),
                 counters: dict[str, int] | None = None, opened: bool = False) -> None:
        self.path = path
        self.values = values
        self.defaults = defaults
        self.blocks_open = blocks_open
        self.frozen = frozen
        self.ignore = ignore  # warning codes silenced for everything built here
        self.counters: dict[str, int] = {} if counters is None else counters
        self.opened = opened  # made for one item, so its output can be named by the path

    def full(self, local: str) -> str:
        return ".".join((*self.path, local))

    @property
    def label(self) -> str | None:
        return ".".join(self.path) or None

    def auto_name(self, base: str) -> str:
        """``base`` and a counter, with '_' between them when ``base`` ends in a digit
        (block `up2` gives `up2_1`, not `up21`)."""
        n = self.counters.get(base, 0) + 1
        self.counters[base] = n
        return f"{base}_{n}" if base[-1:].isdigit() else f"{base}{n}"

    def same(self, **changes) -> "Scope":
        """This scope with other values or defaults; names keep counting in it."""
        return Scope(
            path=self.path,
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            ignore=changes.get("ignore", self.ignore),
            counters=self.counters,
        )

    def child(self, local: str, **changes) -> "Scope":
        return Scope(
            path=(*self.path, local),
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            ignore=changes.get("ignore", self.ignore),
            opened=True,
        )


class Item:
    """One entry of a layer list, split into its head, arguments and meta fields."""

    __slots__ = ("head", "args", "args_loc", "loc", "meta", "meta_locs", "extra")

    def __init__(self, head: str, args: Any, args_loc: Location, loc: Location, meta: dict[str, Any],
                 meta_locs: dict[str, Location], extra: LMap | None) -> None:
        self.head = head
        self.args = args
        self.args_loc = args_loc
        self.loc = loc
        self.meta = meta
        self.meta_locs = meta_locs
        self.extra = extra  # the whole mapping, for construct modifiers

    def modifier(self, key: str, default=None):
        if self.extra is not None and key in self.extra:
            return self.extra[key]
        return default

    def modifier_loc(self, key: str) -> Location:
        if self.extra is not None and key in self.extra:
            return self.extra.value_loc(key)
        return self.loc


def block_input(values: dict, src) -> None:
    """Name the input of a block (or, at the top level, of the network) in ``values``:
    `$block_in`, `$block_h`, `$block_w`; `from: $block_in` names the node itself."""
    values[BLOCK_NODE] = src
    values[BLOCK_IN] = src.shape[0]
    if len(src.shape) == 3:
        values[BLOCK_H], values[BLOCK_W] = src.shape[1], src.shape[2]
    else:
        values.pop(BLOCK_H, None)
        values.pop(BLOCK_W, None)


def call_note(block: str, label: str | None, loc: Location, names, values) -> str:
    """The note on an error inside a block: which call led there, with which arguments."""
    shown = ", ".join(f"{p}={_value_text(values[p])}" for p in names)
    return (f"in block '{block}'" + (f" ({label})" if label else "")
            + f", called at {loc}" + (f" with {shown}" if shown else ""))


def _value_text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
