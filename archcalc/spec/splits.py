"""`split:` and `chunk:` items: one input's channels parted into views, each a `slice` node.

torch.split and torch.chunk return several views of one tensor. archcalc keeps one output
per node, so an item ``- split: [58, 58]`` named ``s`` becomes the nodes ``s.0`` and
``s.1``, each a `slice` of its channel range (a view: no memory, no ops, the receptive
field of its input); ``from: s.1`` names a part, and the item's own output, what the
next layer reads, is its last part. Mixed into :class:`~archcalc.spec.builder.Builder`.
"""

from __future__ import annotations

from archcalc.graph import Node
from archcalc.limits import LIMITS
from archcalc.ops import REGISTRY
from archcalc.ops.base import describe
from archcalc.spec.expressions import ExpressionError, dollar_name, evaluate
from archcalc.spec.fields import FieldError, integer
from archcalc.spec.language import describe_raw
from archcalc.spec.scope import Item, Scope
from archcalc.spec.yaml_loader import LList


def chunk_sizes(channels: int, chunks: int) -> list[int]:
    """torch.chunk's parts: ceil(C / n) channels each, the last one what is left."""
    size = -(-channels // chunks)
    full, rest = divmod(channels, size)
    return [size] * full + ([rest] if rest else [])


class ChannelSplits:
    """Builds `split:` and `chunk:` items; remembers each one's parts for messages about it."""

    splits: dict[str, int]  # full name of a split item -> its number of parts

    def channel_split(self, item: Item, scope: Scope, cur: Node) -> Node:
        src = self.start(item, scope, cur)
        name = scope.full(self.local_name(item, scope, item.head))
        owner = f"{item.head} '{name}'"
        values = dict(scope.values)
        values[dollar_name("in")] = src.shape[0]
        if len(src.shape) == 3:
            values[dollar_name("h")], values[dollar_name("w")] = src.shape[1], src.shape[2]
        if item.head == "chunk":
            sizes = self._chunks(item, values, owner, src)
        else:
            sizes = self._sizes(item, values, owner, src)
        if "ignore" in item.meta:
            scope = scope.same(ignore=self.ignoring(item, scope))
        self.splits[name] = len(sizes)
        piece, start = REGISTRY.get("slice"), 0
        node = src
        for i, size in enumerate(sizes):
            node = self.add_node(piece, f"{name}.{i}", [src], {"start": start, "end": start + size}, {}, item.loc,
                                 scope, scope.frozen, use_defaults=False, name_loc=item.meta_locs.get("name"))
            start += size
        return node

    def _chunks(self, item: Item, values, owner: str, src: Node) -> list[int]:
        channels = src.shape[0]
        try:
            chunks = integer(item.args, values, f"{owner}: the number of chunks", minimum=1)
        except FieldError as exc:
            self.fail_value(exc, item.args_loc)
        sizes = chunk_sizes(channels, min(chunks, channels))
        if len(sizes) != chunks:
            parts = ", ".join(map(str, sizes)) if len(sizes) <= 8 else f"{sizes[0]} each"
            self.fail(
                f"{owner}: torch.chunk parts {channels} channels from '{src.name}' into {len(sizes)} parts "
                f"({parts}), not {chunks:,}",
                item.args_loc,
                hint="torch.chunk gives parts of ceil(C / n) channels, so it can give fewer than n; "
                "write the sizes with `split: [...]`",
            )
        return sizes

    def _sizes(self, item: Item, values, owner: str, src: Node) -> list[int]:
        raw, loc = item.args, item.args_loc
        what = f"{owner}: sizes"
        written = raw
        if isinstance(raw, str):
            try:
                written = evaluate(raw, values)
            except ExpressionError as exc:
                self.fail_value(exc, loc, what=what, text=raw)
        if not isinstance(written, (LList, tuple)) or not written:
            self.fail(
                f"{what} expected a list of channel counts such as [58, 58], got {describe_raw(written)}", loc,
                hint=f"for n equal parts write `chunk: n`; {src.shape[0]} channels come from '{src.name}'",
            )
        channels = src.shape[0]
        if len(written) > channels:
            self.fail(f"{what}: {len(written):,} parts of {channels} channels from '{src.name}' leave some empty",
                      loc, hint="every part needs at least one channel")
        sizes = []
        for i, value in enumerate(written):
            where = raw.item_loc(i) if isinstance(raw, LList) else loc
            try:
                sizes.append(integer(value, values, f"{what}: part {i}", minimum=1, maximum=LIMITS.max_integer))
            except FieldError as exc:
                self.fail_value(exc, where)
        if sum(sizes) != channels:
            shown = describe(sizes) if len(sizes) <= 16 else f"{len(sizes)} parts"
            self.fail(
                f"{what} {shown} add up to {sum(sizes):,}, but the input {describe(src.shape)} from "
                f"'{src.name}' has {channels} channels",
                loc,
                hint="the parts of a split must cover the channels exactly, as torch.split's do",
            )
        return sizes
