"""Display rows of a summary: one per node, or one per block below a chosen depth.

Row data, totals and formatting are kept apart (as torchinfo does): this module
only decides *what* the rows are; the renderers decide how they look.
"""

from __future__ import annotations

from archcalc.analysis import Analysis, LayerMetrics
from archcalc.collector import paused_gc
from archcalc.units import format_bytes, format_count


class Row:
    """One row of a summary table: a node, or a block folded into one row (``layers`` > 1)."""

    __slots__ = ("name", "depth", "kind", "block", "output_shape", "activations", "activation_bytes", "params",
                 "weights", "biases", "macs", "other_ops", "receptive_field", "jump", "training_only", "trainable",
                 "layers", "backward_input_macs", "backward_weight_macs", "input_bytes", "weight_bytes",
                 "output_bytes")

    def __init__(self, *, name: str, depth: int, kind: str, block: str | None, output_shape: list[int],
                 activations: int, activation_bytes: int, params: int, weights: int, biases: int, macs: int,
                 other_ops: int, receptive_field: list[int], jump: list[int], training_only: bool, trainable: bool,
                 layers: int = 1, backward_input_macs: int = 0, backward_weight_macs: int = 0, input_bytes: int = 0,
                 weight_bytes: int = 0, output_bytes: int = 0) -> None:
        self.name = name
        self.depth = depth
        self.kind = kind
        self.block = block
        self.output_shape = output_shape
        self.activations = activations
        self.activation_bytes = activation_bytes
        self.params = params
        self.weights = weights
        self.biases = biases
        self.macs = macs
        self.other_ops = other_ops
        self.receptive_field = receptive_field
        self.jump = jump
        self.training_only = training_only
        self.trainable = trainable
        self.layers = layers
        self.backward_input_macs = backward_input_macs
        self.backward_weight_macs = backward_weight_macs
        self.input_bytes = input_bytes
        self.weight_bytes = weight_bytes
        self.output_bytes = output_bytes

    @property
    def training_macs(self) -> int:
        return self.macs + self.backward_input_macs + self.backward_weight_macs

    @property
    def macs_per_byte(self) -> float:
        moved = self.input_bytes + self.weight_bytes + self.output_bytes
        return self.macs / moved if moved else 0.0


COLUMNS = {
    # key: (header, exact value, human value, right-aligned)
    "name": ("Layer", lambda r: r.name, lambda r: nested_name(r), False),
    "kind": ("Kind", lambda r: r.kind, lambda r: (f"{r.layers} layer" + "s" * (r.layers != 1)) if r.kind == "block" else r.kind, False),
    "shape": ("Output", lambda r: "x".join(map(str, r.output_shape)), lambda r: "×".join(map(str, r.output_shape)), True),
    "activations": ("Values", lambda r: r.activations, lambda r: format_count(r.activations) if r.activations else "-", True),
    "memory": ("Memory", lambda r: r.activation_bytes, lambda r: format_bytes(r.activation_bytes) if r.activation_bytes else "-", True),
    "params": ("Params", lambda r: r.params, lambda r: f"{r.params:,}" if r.params else "-", True),
    "weights": ("Weights", lambda r: r.weights, lambda r: f"{r.weights:,}" if r.weights else "-", True),
    "biases": ("Biases", lambda r: r.biases, lambda r: f"{r.biases:,}" if r.biases else "-", True),
    "trainable": ("Trainable", lambda r: "true" if r.trainable else "false",
                  lambda r: ("yes" if r.trainable else "frozen") if r.params else "-", False),
    "macs": ("MACs", lambda r: r.macs, lambda r: format_count(r.macs) if r.macs else "-", True),
    "other_ops": ("Other ops", lambda r: r.other_ops, lambda r: format_count(r.other_ops) if r.other_ops else "-", True),
    "rf": ("RF", lambda r: _pair(r.receptive_field, "x"), lambda r: _pair(r.receptive_field), True),
    "jump": ("Jump", lambda r: _pair(r.jump, "x"), lambda r: _pair(r.jump), True),
    "block": ("Block", lambda r: r.block or "", lambda r: r.block or "", False),
    "backward_input_macs": ("Bwd input", lambda r: r.backward_input_macs, lambda r: _count(r.backward_input_macs), True),
    "backward_weight_macs": ("Bwd weights", lambda r: r.backward_weight_macs, lambda r: _count(r.backward_weight_macs), True),
    "training_macs": ("Train MACs", lambda r: r.training_macs, lambda r: _count(r.training_macs), True),
    "input_bytes": ("Read in", lambda r: r.input_bytes, lambda r: _bytes(r.input_bytes), True),
    "weight_bytes": ("Read W", lambda r: r.weight_bytes, lambda r: _bytes(r.weight_bytes), True),
    "output_bytes": ("Written", lambda r: r.output_bytes, lambda r: _bytes(r.output_bytes), True),
    "macs_per_byte": ("MACs/B", lambda r: round(r.macs_per_byte, 4), lambda r: f"{r.macs_per_byte:.1f}" if r.macs else "-", True),
}
DEFAULT_COLUMNS = ("name", "kind", "shape", "activations", "memory", "params", "macs", "rf")
# `summary --training`: what one training step multiplies, by where the backward pass sends it.
TRAINING_COLUMNS = ("name", "kind", "shape", "params", "macs", "backward_input_macs", "backward_weight_macs",
                    "training_macs")
# `summary --traffic`: the bytes each node moves on its own, and its arithmetic intensity.
TRAFFIC_COLUMNS = ("name", "kind", "shape", "macs", "input_bytes", "weight_bytes", "output_bytes", "macs_per_byte")


def _count(value: int) -> str:
    return format_count(value) if value else "-"


def _bytes(value: int) -> str:
    return format_bytes(value) if value else "-"
# Columns whose exact values are bytes: machine formats name them <key>_bytes.
BYTE_COLUMNS = {"memory"}
# The order in which a table too wide for its width hides columns (docs/decisions.md):
# the optional detail first, then what another column says again (Values beside
# Memory, Kind beside the name), the layer name never.
HIDE_ORDER = ("block", "jump", "other_ops", "biases", "weights", "trainable", "activations", "kind",
              "macs_per_byte", "input_bytes", "weight_bytes", "output_bytes",
              "backward_input_macs", "backward_weight_macs", "training_macs", "rf", "memory", "shape", "macs", "params")


def nested_name(row: Row) -> str:
    """The name under its block's indentation: a layer by its last part, a block by its
    whole path, so every row has its block's full path at most a block's length above."""
    if not row.depth:
        return row.name
    return "  " * row.depth + (row.name if row.kind == "block" else row.name.rsplit(".", 1)[-1])


def _pair(values: list[int], times: str = "×") -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}{times}{values[1]}"


def _depth(block: str | None) -> int:
    return 0 if not block else block.count(".") + 1


def _row(m: LayerMetrics) -> Row:
    return Row(
        name=m.name, depth=_depth(m.block), kind=m.kind, block=m.block, output_shape=m.output_shape,
        activations=m.activations, activation_bytes=m.activation_bytes, params=m.params, weights=m.weights,
        biases=m.biases, macs=m.macs, other_ops=m.other_ops, receptive_field=m.receptive_field, jump=m.jump,
        training_only=m.training_only, trainable=m.trainable, backward_input_macs=m.backward_input_macs,
        backward_weight_macs=m.backward_weight_macs, input_bytes=m.input_bytes, weight_bytes=m.weight_bytes,
        output_bytes=m.output_bytes,
    )


def _fold(block: Row, row: Row) -> None:
    block.layers += 1
    block.output_shape, block.jump = row.output_shape, row.jump
    block.receptive_field = max(block.receptive_field, row.receptive_field, key=max)
    for attr in ("activations", "activation_bytes", "params", "weights", "biases", "macs", "other_ops",
                 "backward_input_macs", "backward_weight_macs", "input_bytes", "weight_bytes", "output_bytes"):
        setattr(block, attr, getattr(block, attr) + getattr(row, attr))
    block.training_only = block.training_only and row.training_only
    block.trainable = block.trainable or row.trainable


def _prefixes(block: str | None) -> list[str]:
    if not block:
        return []
    parts = block.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def block_rows(analysis: Analysis) -> dict[str, Row]:
    """One aggregate row per block path (every level), summing the nodes inside it.

    A block row shows its last node's output shape and its largest receptive
    field, so a collapsed block reads like one layer of a coarser network.
    """
    blocks: dict[str, Row] = {}
    for m in analysis.layers:
        if not m.block:  # a top-level layer is in no block
            continue
        row = _row(m)
        for prefix in _prefixes(m.block):
            block = blocks.get(prefix)
            if block is None:
                parent = prefix.rpartition(".")[0] or None
                block = blocks[prefix] = Row(
                    name=prefix, depth=_depth(parent), kind="block", block=parent, output_shape=row.output_shape,
                    activations=0, activation_bytes=0, params=0, weights=0, biases=0, macs=0, other_ops=0,
                    receptive_field=row.receptive_field, jump=row.jump, training_only=True, trainable=False, layers=0,
                )
            _fold(block, row)
    return blocks


def summary_rows(analysis: Analysis, depth: int | None = None, headers: bool = True) -> list[Row]:
    """Rows in graph order; with ``depth`` N, only N levels are shown and deeper blocks are summed.

    Depth 1 shows the top-level layers and blocks only.

    With ``headers``, each block is introduced by its summed row, so the block
    structure is visible in an expanded table.
    """
    with paused_gc():
        return _summary_rows(analysis, depth, headers)


def _summary_rows(analysis: Analysis, depth: int | None, headers: bool) -> list[Row]:
    blocks = block_rows(analysis)
    shown: set[str] = set()
    rows: list[Row] = []
    for m in analysis.layers:
        prefixes = _prefixes(m.block)
        collapsed = depth is not None and len(prefixes) >= depth
        visible = prefixes[:depth] if collapsed else prefixes
        for prefix in visible:
            if prefix not in shown and (headers or (collapsed and prefix == visible[-1])):
                shown.add(prefix)
                rows.append(blocks[prefix])
        if not collapsed:
            rows.append(_row(m))
    return rows
