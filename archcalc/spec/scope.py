"""Where an item of a layer list is built (its scope) and the item itself, split up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import Location
from archcalc.spec.yaml_loader import LMap


@dataclass
class Scope:
    """Where an item is built: its name path, visible values and defaults."""

    path: tuple[str, ...]
    values: dict[str, Any]
    defaults: dict[str, LMap]
    blocks_open: tuple[str, ...] = ()
    frozen: bool = False
    counters: dict[str, int] = field(default_factory=dict)
    opened: bool = False  # made for one item, so its output can be named by the path

    def full(self, local: str) -> str:
        return ".".join((*self.path, local))

    @property
    def label(self) -> str | None:
        return ".".join(self.path) or None

    def auto_name(self, base: str) -> str:
        n = self.counters.get(base, 0) + 1
        self.counters[base] = n
        return f"{base}{n}"

    def same(self, **changes) -> "Scope":
        """This scope with other values or defaults; names keep counting in it."""
        return Scope(
            path=self.path,
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            counters=self.counters,
        )

    def child(self, local: str, **changes) -> "Scope":
        return Scope(
            path=(*self.path, local),
            values=changes.get("values", self.values),
            defaults=changes.get("defaults", self.defaults),
            blocks_open=changes.get("blocks_open", self.blocks_open),
            frozen=changes.get("frozen", self.frozen),
            opened=True,
        )


@dataclass
class Item:
    """One entry of a layer list, split into its head, arguments and meta fields."""

    head: str
    args: Any
    args_loc: Location
    loc: Location
    meta: dict[str, Any]
    meta_locs: dict[str, Location]
    extra: LMap | None  # the whole mapping, for construct modifiers

    def modifier(self, key: str, default=None):
        if self.extra is not None and key in self.extra:
            return self.extra[key]
        return default

    def modifier_loc(self, key: str) -> Location:
        if self.extra is not None and key in self.extra:
            return self.extra.value_loc(key)
        return self.loc
