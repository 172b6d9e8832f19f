"""Transfer learning on a layer graph: freeze a prefix, replace the classifier, see what trains.

Pure functions of a built :class:`~archcalc.graph.Graph`; no torch. Freezing sets
``node.frozen``, which the analysis reports as frozen parameters and the torch
builder turns into ``requires_grad=False``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from archcalc.errors import SpecError
from archcalc.graph import Graph, Node
from archcalc.suggest import did_you_mean

if TYPE_CHECKING:
    from pathlib import Path


def params_of(node: Node) -> int:
    """Weights + biases of one node."""
    return sum(node.op.params(node))


def is_trainable(node: Node) -> bool:
    """The node has parameters and they are not frozen."""
    return not node.frozen and params_of(node) > 0


def is_weight_layer(node: Node) -> bool:
    """A layer with multiply-accumulating weights that training can change: conv, linear, subsample.

    BatchNorm's scale and shift are parameters but not weight layers; LeNet's fixed
    RBF codes are never trained.
    """
    return node.op.trainable and params_of(node) > 0 and node.op.macs(node) > 0


def resolve_node(graph: Graph, name: str, option: str = "--freeze-until") -> Node:
    """A node by its name, or the output node of a block or scope (``layer3``)."""
    by_name = {n.name: n for n in graph.nodes}
    target = graph.scopes.get(name, name)
    if target not in by_name:
        known = [*by_name, *graph.scopes]
        raise SpecError(
            f"{option}: no node or block named '{name}' in '{graph.name}'" + did_you_mean(name, known),
            hint="names are as `archcalc summary` prints them, e.g. conv1, layer3 or layer3.1.conv2",
        )
    return by_name[target]


def freeze(graph: Graph, until: str | None = None, train_last: int | None = None) -> list[Node]:
    """Mark nodes frozen for transfer learning; return the nodes this call froze.

    ``until``: the named node (or the output of the named block) and everything it
    depends on — "up to and including", over any DAG. Side branches that do not
    feed it (an auxiliary head) stay trainable.

    ``train_last``: every node but the last N weight layers (conv, linear) of the
    main network and what follows them; auxiliary (training-only) heads are frozen
    too. ``train_last=0`` freezes everything.

    Nodes the spec already marks ``frozen`` stay frozen; nothing is unfrozen.
    """
    if until is not None and train_last is not None:
        raise SpecError("freeze either up to a node (--freeze-until) or all but the last N layers (--train-last), not both")
    if until is not None:
        chosen = graph.ancestors(resolve_node(graph, until))
    elif train_last is not None:
        if train_last < 0:
            raise SpecError(f"--train-last expects a number of layers >= 0, got {train_last}")
        aux = graph.training_only()
        weights = [n for n in graph.nodes if n.index not in aux and is_weight_layer(n)]
        if train_last > len(weights):
            raise SpecError(
                f"--train-last {train_last}: '{graph.name}' has only {len(weights)} weight layers (conv, linear)"
            )
        start = weights[-train_last].index if train_last else len(graph.nodes)
        chosen = {n.index for n in graph.nodes if n.index < start or n.index in aux}
    else:
        return []
    changed = [n for n in graph.nodes if n.index in chosen and n.inputs and not n.frozen]
    for node in changed:
        node.frozen = True
    return changed


def requires_grad(graph: Graph) -> list[bool]:
    """Per node, whether its output requires grad: it or something before it trains."""
    flags: list[bool] = []
    for node in graph.nodes:
        flags.append(is_trainable(node) or any(flags[src.index] for src in node.inputs))
    return flags


def training_nodes(graph: Graph) -> list[Node]:
    """The nodes a training step runs: everything some output (auxiliary heads too) depends on."""
    needed: set[int] = set()
    for out in graph.outputs:
        needed |= graph.ancestors(out)
    return [n for n in graph.nodes if n.index in needed]


class HeadChange:
    """A layer whose parameters changed when ``num_classes`` was set."""

    def __init__(self, name: str, kind: str, params: int, previous_params: int, output_shape: list[int]) -> None:
        self.name = name
        self.kind = kind
        self.params = params
        self.previous_params = previous_params
        self.output_shape = output_shape

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "params": self.params,
                "previous_params": self.previous_params, "output_shape": list(self.output_shape)}


def with_classes(
    spec: str | Path,
    classes: int,
    *,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
) -> tuple[Graph, list[HeadChange]]:
    """The spec with its classifier replaced for ``classes`` classes, and the layers that changed.

    The spec must have a ``num_classes`` variable (every built-in classifier has);
    the new head is every layer whose parameter count depends on it.
    """
    from archcalc.api import load

    if classes < 1:
        raise SpecError(f"--classes expects a positive number of classes, got {classes}")
    base = dict(overrides or {})
    original = load(spec, overrides=base, input_shape=input_shape)
    if "num_classes" not in original.variables:
        known = ", ".join(original.variables) or "none"
        raise SpecError(
            f"--classes needs a `num_classes` variable to replace the classifier, and '{original.name}' "
            f"has none (its variables: {known})",
            hint="declare `vars: {num_classes: 1000}` in the spec and use it as the last layer's `out`",
        )
    graph = load(spec, overrides={**base, "num_classes": classes}, input_shape=input_shape)
    # The head is every layer whose parameters follow num_classes: compare with one class more.
    probe = load(spec, overrides={**base, "num_classes": classes + 1}, input_shape=input_shape)
    before = {n.name: n for n in original.nodes}
    moved = {n.name for n, m in zip(graph.nodes, probe.nodes) if params_of(n) != params_of(m)}
    changes = [
        HeadChange(n.name, n.kind, params_of(n), params_of(before[n.name]) if n.name in before else 0, list(n.shape))
        for n in graph.nodes
        if n.name in moved
    ]
    if not changes:
        raise SpecError(
            f"'{graph.name}' declares num_classes but no layer's parameters depend on it, so --classes "
            "cannot replace a classifier"
        )
    return graph, changes


def prepare_transfer(
    spec: str | Path,
    *,
    classes: int | None = None,
    freeze_until: str | None = None,
    train_last: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    input_shape: Sequence[int] | None = None,
) -> tuple[Graph, dict[str, Any]]:
    """The graph a transfer-learning run trains, and what was changed, as archcalc.memory/1
    reports it: ``head`` (the new classifier, with ``classes``) and ``freeze``.
    """
    from archcalc.api import load

    if classes is not None:
        graph, changes = with_classes(spec, classes, overrides=overrides, input_shape=input_shape)
    else:
        graph, changes = load(spec, overrides=overrides, input_shape=input_shape), []
    frozen = freeze(graph, until=freeze_until, train_last=train_last)
    head = None
    if classes is not None:
        by_name = {n.name: n for n in graph.nodes}
        head = {
            "classes": classes,
            "params": sum(c.params for c in changes),
            "layers": [{**c.to_dict(), "frozen": by_name[c.name].frozen} for c in changes],
        }
    return graph, {
        "head": head,
        "freeze": {
            "until": freeze_until,
            "node": None if freeze_until is None else resolve_node(graph, freeze_until).name,
            "train_last": train_last,
            "frozen_nodes": len(frozen),
            "frozen_param_layers": sum(1 for n in frozen if params_of(n)),
        },
    }

