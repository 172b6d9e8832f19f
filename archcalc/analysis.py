"""Per-node metrics and totals of a layer graph: params, MACs, memory, receptive field.

Pure functions of a built graph and the batch/dtype to size it for; the result's
``to_dict()`` is the stable JSON contract (schema ``archcalc.summary/1``).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING, Any

from archcalc.collector import paused_gc
from archcalc.graph import Graph, Node
from archcalc.ops.base import numel
from archcalc.training import is_trainable, requires_grad, training_nodes

if TYPE_CHECKING:
    from fractions import Fraction

SCHEMA = "archcalc.summary/1"
# The totals of one training step (step_totals), shared with archcalc.memory/1.
STEP_MACS = ("step_forward_macs", "backward_input_macs", "backward_weight_macs", "training_macs")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}



class LayerMetrics:
    """One node's figures, per sample where they are counts (the batch multiplies them in the totals).

    A plain class, not a dataclass: a dataclass compiles its methods at every start-up
    (docs/decisions.md, Speed).
    """

    __slots__ = ("name", "kind", "block", "inputs", "output_shape", "weights", "biases", "buffers", "macs",
                 "other_ops", "activations", "activation_bytes", "receptive_field", "jump", "rf_padding",
                 "global_context", "trainable", "training_only", "backward_input_macs", "backward_weight_macs",
                 "input_bytes", "weight_bytes", "output_bytes", "mac_terms", "attention_macs")

    def __init__(
        self,
        *,
        name: str,
        kind: str,
        block: str | None,
        inputs: list[str],
        output_shape: list[int],
        weights: int,
        biases: int,
        buffers: int,
        macs: int,
        other_ops: int,
        activations: int,
        activation_bytes: int,
        receptive_field: list[int | Fraction],
        jump: list[int | Fraction],
        rf_padding: list[int | Fraction],
        global_context: bool,
        trainable: bool,
        training_only: bool,
        backward_input_macs: int = 0,
        backward_weight_macs: int = 0,
        input_bytes: int = 0,
        weight_bytes: int = 0,
        output_bytes: int = 0,
        mac_terms: dict[str, int] | None = None,
        attention_macs: int = 0,
    ) -> None:
        self.name = name
        self.kind = kind
        self.block = block
        self.inputs = inputs
        self.output_shape = output_shape
        self.weights = weights
        self.biases = biases
        self.buffers = buffers
        self.macs = macs
        self.other_ops = other_ops
        self.activations = activations
        self.activation_bytes = activation_bytes
        # Fractions after a transposed convolution or an upsampling (see ReceptiveField).
        self.receptive_field = receptive_field
        self.jump = jump
        self.rf_padding = rf_padding
        self.global_context = global_context
        self.trainable = trainable
        self.training_only = training_only
        # One training step (see analyze_graph): the backward pass's MACs, by where they flow.
        self.backward_input_macs = backward_input_macs
        self.backward_weight_macs = backward_weight_macs
        # Memory traffic of the node alone (docs/performance.md): no reuse across layers.
        self.input_bytes = input_bytes
        self.weight_bytes = weight_bytes
        self.output_bytes = output_bytes
        # The MACs by matrix product where a node does several (Op.mac_terms), and those of them
        # between two activations (attention's scores and weighted sum).
        self.mac_terms = {} if mac_terms is None else mac_terms
        self.attention_macs = attention_macs

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def training_macs(self) -> int:
        """Forward + backward to the inputs + backward to the weights."""
        return self.macs + self.backward_input_macs + self.backward_weight_macs

    @property
    def bytes_moved(self) -> int:
        return self.input_bytes + self.weight_bytes + self.output_bytes

    @property
    def macs_per_byte(self) -> float:
        """Arithmetic intensity: MACs per byte moved (0 when nothing moves)."""
        return self.macs / self.bytes_moved if self.bytes_moved else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "block": self.block,
            "inputs": self.inputs,
            "output_shape": self.output_shape,
            "params": self.params,
            "weights": self.weights,
            "biases": self.biases,
            "buffers": self.buffers,
            "trainable": self.trainable,
            "training_only": self.training_only,
            "macs": self.macs,
            "other_ops": self.other_ops,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "receptive_field": json_numbers(self.receptive_field),
            "jump": json_numbers(self.jump),
            "rf_padding": json_numbers(self.rf_padding),
            "global_context": self.global_context,
            "backward_input_macs": self.backward_input_macs,
            "backward_weight_macs": self.backward_weight_macs,
            "training_macs": self.training_macs,
            "input_bytes": self.input_bytes,
            "weight_bytes": self.weight_bytes,
            "output_bytes": self.output_bytes,
            "bytes_moved": self.bytes_moved,
            "macs_per_byte": round(self.macs_per_byte, 4),
            **({"mac_terms": self.mac_terms, "attention_macs": self.attention_macs} if self.mac_terms else {}),
        }


class Analysis:
    """A graph's per-node figures and totals at one batch size and dtype."""

    def __init__(self, graph: Graph, batch: int, dtype: str, layers: list[LayerMetrics],
                 totals: dict[str, Any] | None = None) -> None:
        self.graph = graph
        self.batch = batch
        self.dtype = dtype
        self.layers = layers
        self.totals: dict[str, Any] = {} if totals is None else totals

    def layer(self, name: str) -> LayerMetrics:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        with paused_gc():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        g = self.graph
        return {
            "schema": SCHEMA,
            "name": g.name,
            "title": g.title,
            "source": g.source,
            "input": list(g.input.shape),
            "outputs": [{"name": n.name, "shape": list(n.shape)} for n in g.outputs],
            "variables": dict(g.variables),
            "reference": g.reference,
            "batch": self.batch,
            "dtype": self.dtype,
            "totals": {**self.totals, "receptive_field": json_numbers(self.totals["receptive_field"])},
            "layers": [row.to_dict() for row in self.layers],
        }


def json_numbers(values) -> list[int | str]:
    """Integers as they are, fractions as the text "n/d" (JSON has no exact fractions)."""
    return [v if isinstance(v, int) else str(v) for v in values]


def _exact(value) -> int | Fraction:
    """An int where the value is whole, else the Fraction it is (the steps hold ints and Fractions only)."""
    return int(value) if value.denominator == 1 else value


class ReceptiveField(namedtuple("ReceptiveField", "size jump start exact context",
                                defaults=((1, 1), (1, 1), (0, 0), True, None))):
    """Which input positions one output position reads, per axis (height, width).

    Output position ``i`` reads input positions ``start + i * jump`` to
    ``start + i * jump + size - 1`` (clipped to the input): ``size`` and ``jump``
    (effective stride) as usual, ``start`` the offset (minus torchscan's effective
    padding). Over a DAG the window is the union over paths.

    A value broadcast over positions (an SE gate's (C, 1, 1) output) is the same for
    every position, so it adds no window: it is ``context``, the input region (first,
    last per axis) that every output position also reads; for a gate made by a global
    pool it is the whole input. ``exact`` is False where the window is an upper bound
    (adaptive pooling with uneven bins, joined paths of different jumps).

    After a transposed convolution or an upsampling the jump, and with it size and start,
    may be fractions (exact, :class:`fractions.Fraction`): the window is then a real
    interval and reads the input positions inside it.
    """

    __slots__ = ()
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]
    exact: bool
    context: tuple[tuple[int, int], tuple[int, int]] | None

    def window(self, position: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """(first, last) input row and column of the window of an output position, unclipped."""
        return tuple(  # type: ignore[return-value]
            (math.ceil(self.start[a] + position[a] * self.jump[a]),
             math.floor(self.start[a] + position[a] * self.jump[a] + self.size[a] - 1))
            for a in (0, 1)
        )

    def region(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(first, last) per axis of the window of output position 0: a 1x1 output's whole field."""
        return self.window((0, 0))


def _broadcast(src: Node, node: Node) -> bool:
    """``src`` is one value per channel spread over the positions of the node's other input (a gate);
    a node's only input is never broadcast (a transposed convolution of a 1x1 map reads it)."""
    return len(node.inputs) > 1 and len(src.shape) == 3 and src.shape[1:] == (1, 1) and len(node.shape) == 3 and node.shape[1:] != (1, 1)


def _union(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return tuple((min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b))


def _span(f: ReceptiveField, positions: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(first, last) per axis of the windows of all of a grid's positions together."""
    return tuple((f.start[a], f.start[a] + (positions[a] - 1) * f.jump[a] + f.size[a] - 1)  # type: ignore[return-value]
                 for a in (0, 1))


def _join(fields: list[ReceptiveField], positions: tuple[int, int]) -> ReceptiveField:
    """The union of the windows of several positional inputs of one node with ``positions`` per axis.

    A window that is the same for every position (jump 0: after attention, the whole input)
    and holds every other input's windows is that union, exactly (a residual add around
    attention)."""
    if len(fields) == 1:
        return fields[0]
    for f in fields:
        whole = f.window((0, 0))
        if f.jump == (0, 0) and all(_union(whole, _span(g, positions)) == whole for g in fields):
            context = None
            for g in fields:
                context = _union(context, g.context)
            return ReceptiveField(f.size, f.jump, f.start, all(g.exact for g in fields), context)
    start = tuple(min(f.start[a] for f in fields) for a in (0, 1))
    end = tuple(max(f.start[a] + f.size[a] for f in fields) for a in (0, 1))
    jumps = {f.jump for f in fields}
    context = None
    for f in fields:
        context = _union(context, f.context)
    return ReceptiveField(
        size=(end[0] - start[0], end[1] - start[1]),
        jump=max(jumps, key=max),
        start=start,  # type: ignore[arg-type]
        exact=len(jumps) == 1 and all(f.exact for f in fields),
        context=context,
    )


def receptive_fields(graph: Graph) -> list[ReceptiveField]:
    """The receptive field of every node, in node order (see :class:`ReceptiveField`)."""
    result: list[ReceptiveField] = []
    for node in graph.nodes:
        positional = [result[src.index] for src in node.inputs if not _broadcast(src, node)]
        into = _join(positional, _grid_size(node)) if positional else ReceptiveField()
        context = into.context
        for src in node.inputs:
            if _broadcast(src, node):
                gate = result[src.index]
                context = _union(_union(context, gate.context), gate.region())
        step = node.op.receptive_step(node)
        if step.context:  # statistics over all positions of its input
            h, w = node.inputs[0].shape[1:]
            context = _union(context, _union(into.window((0, 0)), into.window((h - 1, w - 1))))
        result.append(
            ReceptiveField(
                size=tuple(_exact(into.size[a] + (step.kernel[a] - 1) * into.jump[a]) for a in (0, 1)),  # type: ignore[arg-type]
                jump=tuple(_exact(into.jump[a] * step.stride[a]) for a in (0, 1)),  # type: ignore[arg-type]
                start=tuple(_exact(into.start[a] - step.padding[a] * into.jump[a]) for a in (0, 1)),  # type: ignore[arg-type]
                exact=into.exact and step.exact and (_whole(step) or _rounding_commutes(into)),
                context=context,
            )
        )
    return result


def _whole(step) -> bool:
    return all(v.denominator == 1 for v in (*step.kernel, *step.stride, *step.padding))


def _rounding_commutes(field: ReceptiveField) -> bool:
    """Whether a fractional window placed on ``field``'s grid reads what its rounded (inner)
    window reads: true when each position of the grid maps to whole input positions by
    ``x / n + m / n`` (jump 1/n and both window ends whole in units of 1/n), since
    ceil(ceil(x) / n) = ceil(x / n). A strided layer before a transposed convolution breaks
    it (its windows are then uneven: an upper bound)."""
    return all(
        field.jump[a].numerator == 1
        and field.start[a] % field.jump[a] == 0
        and (field.start[a] + field.size[a] - 1) % field.jump[a] == 0
        for a in (0, 1)
    )


def input_region(graph: Graph, node: Node, position: tuple[int, int], *, clip: bool = True,
                 context: bool = False):
    """The rows and columns ((first, last), (first, last)) of the network input that one output
    position of ``node`` reads, or None when it reads none (a position in a pad's zeros).

    Composed from the nodes' receptive steps back to the input. With ``clip`` every node's
    window is cut to its input's size, so padding anywhere on the way reads nothing: the
    exact region near borders, where the :class:`ReceptiveField` window (which ignores the
    padding of layers in between) is an upper bound; ``clip=False`` gives that window.
    Gates add their region, and statistics over all positions (group norm) their whole input,
    only with ``context``. A flat node has the one position (0, 0).
    """
    need: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {node.index: ((position[0],) * 2, (position[1],) * 2)}
    for current in reversed(graph.nodes[: node.index + 1]):
        region = need.pop(current.index, None)
        if region is None:
            continue
        if current.op.graph_input:
            return region
        step = current.op.receptive_step(current)
        for src in current.inputs:
            if _broadcast(src, current):
                found = ((0, 0), (0, 0)) if context else None
            elif step.context and context:
                found = ((0, src.shape[1] - 1), (0, src.shape[2] - 1))
            else:
                # A fractional step (transposed convolution) reads the whole positions inside.
                found = tuple(
                    (math.ceil(region[a][0] * step.stride[a] - step.padding[a]),
                     math.floor(region[a][1] * step.stride[a] - step.padding[a] + step.kernel[a] - 1))
                    for a in (0, 1)
                )
                if clip:
                    size = _grid_size(src)
                    found = tuple((max(lo, 0), min(hi, n - 1)) for (lo, hi), n in zip(found, size))
                    if any(lo > hi for lo, hi in found):
                        found = None
            if found is not None:
                need[src.index] = _union(need.get(src.index), found)
    return None


def _grid_size(node: Node) -> tuple[int, int]:
    """The positions of a node's output per axis: its (H, W), a token tensor's patch grid, or one."""
    if len(node.shape) == 3:
        return node.shape[1:]
    if len(node.shape) != 2:
        return (1, 1)
    from archcalc.ops.tokens import token_grid  # a token tensor: a spec of tokens loaded their kinds

    grid = token_grid(node)
    return (grid.height, grid.width) if grid else (1, 1)


def peak_live_bytes(graph: Graph, nodes: list[Node], sizes: dict[int, int], working: dict[int, int]) -> int:
    """Largest total of live activations in one inference pass, in node order.

    A node's output is allocated when it runs (views and in-place nodes share
    their input's storage) and freed once its last consumer has run, unless it
    is a network output; while it runs it also holds its ``working`` bytes
    (:meth:`Op.working_elements`).
    """
    included = {n.index for n in nodes}
    outputs = {n.index for n in graph.outputs}
    storage: dict[int, int] = {}
    pending: dict[int, int] = {}
    keep: set[int] = set()
    live = peak = 0
    for node in nodes:
        if node.op.aliases_input(node):
            own = storage[node.inputs[0].index]
        else:
            own = node.index
            live += sizes[node.index]
            pending[own] = 0
        storage[node.index] = own
        pending[own] += sum(1 for c in node.consumers if c.index in included)
        if node.index in outputs:
            keep.add(own)
        peak = max(peak, live + working.get(node.index, 0))
        for src in node.inputs:
            if src.index not in storage:  # a training-only input of a node that feeds no output
                continue
            s = storage[src.index]
            pending[s] -= 1
            if pending[s] == 0 and s not in keep:
                live -= sizes[s]
        if pending[own] == 0 and own not in keep:
            live -= sizes[own]
    return peak


def analyze_graph(graph: Graph, batch: int = 1, dtype: str = "float32") -> Analysis:
    if dtype not in DTYPE_BYTES:
        from archcalc.errors import SpecError

        raise SpecError(f"unknown dtype '{dtype}'; expected one of {', '.join(DTYPE_BYTES)}")
    with paused_gc():
        return _analyze(graph, batch, dtype)


def _analyze(graph: Graph, batch: int, dtype: str) -> Analysis:
    width = DTYPE_BYTES[dtype]
    aux = graph.training_only()
    fields = receptive_fields(graph)
    grad = requires_grad(graph)
    stepped = {n.index for n in training_nodes(graph)}
    rows: list[LayerMetrics] = []
    sizes: dict[int, int] = {}
    working: dict[int, int] = {}
    for node, rf in zip(graph.nodes, fields):
        op = node.op
        weights, biases = op.params(node)
        buffers = op.buffers(node)
        elements = numel(node.shape) * batch
        sizes[node.index] = elements * width
        working[node.index] = op.working_elements(node) * batch * width
        allocated = 0 if op.aliases_input(node) else elements
        backward = (0, 0)
        if node.index in stepped:
            backward = op.backward_macs(node, [grad[src.index] for src in node.inputs], is_trainable(node))
        moves = op.moves_memory(node)
        terms = op.mac_terms(node)
        rows.append(
            LayerMetrics(
                name=node.name,
                kind=node.kind,
                block=node.block,
                inputs=[src.name for src in node.inputs],
                output_shape=list(node.shape),
                weights=weights,
                biases=biases,
                buffers=buffers,
                macs=op.macs(node) * batch,
                other_ops=op.other_ops(node) * batch,
                activations=allocated,
                activation_bytes=allocated * width,
                receptive_field=list(rf.size),
                jump=list(rf.jump),
                rf_padding=[-s for s in rf.start],
                global_context=rf.context is not None,
                trainable=not node.frozen,
                training_only=node.index in aux,
                backward_input_macs=backward[0] * batch,
                backward_weight_macs=backward[1] * batch,
                input_bytes=sum(sizes[src.index] for src in node.inputs) if moves else 0,
                weight_bytes=(weights + biases + buffers) * width if moves else 0,
                output_bytes=sizes[node.index] if moves else 0,
                mac_terms={term.what: term.macs * batch for term in terms},
                attention_macs=sum(term.macs for term in terms if term.between_activations) * batch,
            )
        )
    main = [r for r in rows if not r.training_only]
    inference = [n for n in graph.nodes if n.index not in aux]
    params = sum(r.params for r in main)
    trainable = sum(r.params for r in main if r.trainable)
    macs = sum(r.macs for r in main)
    spatial = [r.receptive_field for n, r in zip(graph.nodes, rows)
               if not r.training_only and _grid_size(n)[0] * _grid_size(n)[1] > 1]
    activations = sum(r.activations for r in main)
    analysis = Analysis(graph, batch, dtype, rows)
    analysis.totals = {
        "params": params,
        "weights": sum(r.weights for r in main),
        "biases": sum(r.biases for r in main),
        "trainable_params": trainable,
        "frozen_params": params - trainable,
        "buffers": sum(r.buffers for r in main),
        "training_only_params": sum(r.params for r in rows if r.training_only),
        "training_only_macs": sum(r.macs for r in rows if r.training_only),
        "training_only_buffers": sum(r.buffers for r in rows if r.training_only),
        "macs": macs,
        "attention_macs": sum(r.attention_macs for r in main),
        "flops": 2 * macs,
        "other_ops": sum(r.other_ops for r in main),
        "activations": activations,
        "activation_bytes": activations * width,
        "peak_activation_bytes": peak_live_bytes(graph, inference, sizes, working),
        "param_bytes": params * width,
        "receptive_field": max(spatial, key=max) if spatial else [1, 1],
        **step_totals([r for n, r in zip(graph.nodes, rows) if n.index in stepped]),
        **traffic_totals(main),
    }
    return analysis


def params_and_macs(graph: Graph) -> tuple[int, int]:
    """The totals' ``params`` and ``macs`` (one sample) alone: all that `archcalc list` shows of
    each built-in spec, without the receptive fields, memory and training figures that are most
    of a full analysis's time. A test holds them to :func:`analyze_graph`'s totals."""
    aux = graph.training_only()
    params = macs = 0
    for node in graph.nodes:
        if node.index not in aux:
            weights, biases = node.op.params(node)
            params += weights + biases
            macs += node.op.macs(node)
    return params, macs


def mac_term_totals(rows: list[LayerMetrics]) -> dict[str, int]:
    """The MACs of the nodes that list matrix products (attention), summed by product."""
    totals: dict[str, int] = {}
    for row in rows:
        if not row.training_only:
            for what, macs in row.mac_terms.items():
                totals[what] = totals.get(what, 0) + macs
    return totals


def step_totals(rows: list[LayerMetrics]) -> dict[str, int]:
    """The MACs of one training step: every node the step runs, auxiliary heads included."""
    forward = sum(r.macs for r in rows)
    to_inputs = sum(r.backward_input_macs for r in rows)
    to_weights = sum(r.backward_weight_macs for r in rows)
    return {
        "step_forward_macs": forward,
        "backward_input_macs": to_inputs,
        "backward_weight_macs": to_weights,
        "training_macs": forward + to_inputs + to_weights,
    }


def traffic_totals(rows: list[LayerMetrics]) -> dict[str, Any]:
    """Bytes each inference node moves, summed: an upper bound that assumes no cache reuse."""
    moved = sum(r.bytes_moved for r in rows)
    macs = sum(r.macs for r in rows)
    return {
        "input_bytes": sum(r.input_bytes for r in rows),
        "weight_bytes": sum(r.weight_bytes for r in rows),
        "output_bytes": sum(r.output_bytes for r in rows),
        "bytes_moved": moved,
        "macs_per_byte": round(macs / moved, 4) if moved else 0.0,
    }
