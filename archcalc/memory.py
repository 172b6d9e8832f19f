"""Memory of one training step: will it fit, and how large a batch does?

A pure function of a layer graph (no torch): weights, gradients, optimizer state,
the activations autograd saves for the backward pass (each layer kind states what
it keeps in :meth:`~archcalc.ops.base.Op.saved_for_backward`), the input batch,
their total, and the peak of a simulated step. Every figure is split into a fixed
part and a per-sample part, so the largest batch that fits a budget is exact under
the model. ``to_dict()`` is the JSON contract (schema ``archcalc.memory/1``).

The model of a step (documented in docs/memory.md):

* forward in train mode, node by node; a tensor is freed after its last reader
  unless autograd keeps it, or it is a network output;
* ``loss.backward()`` in reverse node order: each node's backward allocates the
  gradients of its inputs (views, sums and concatenations pass theirs through),
  allocates its parameters' ``.grad`` the first time, then releases its gradient
  and what it kept; gradients reaching a tensor twice are summed in place when the
  first is not shared, as torch's input buffers do;
* ``optimizer.step()`` (foreach Adam needs one temporary the size of the trainable
  parameters) and ``zero_grad(set_to_none=True)``.

Optimizer state persists between steps, so it is held throughout; parameter
gradients exist from the backward pass to ``zero_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import SpecError
from archcalc.graph import Graph, Node
from archcalc.ops.base import numel
from archcalc.training import is_trainable, params_of, requires_grad, training_nodes

SCHEMA = "archcalc.memory/1"
# Optimizer -> state tensors per trainable value (a step counter per tensor comes on top for Adam).
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
DEVICES = ("cuda", "cpu")


@dataclass(frozen=True)
class Precision:
    """Bytes per value of each kind of tensor under a training precision."""

    name: str
    activation: int  # activations and their gradients
    weight: int  # the model's copy of every parameter
    grad: int  # parameter gradients
    master: int  # an extra copy of the trainable parameters (0: none)
    state: int  # optimizer state
    activation_type: str

    def describe(self) -> str:
        if self.master:
            return (f"mixed: {self.activation_type} weights, gradients and activations; "
                    f"float32 master weights and optimizer state")
        return self.name


PRECISIONS = {
    "float32": Precision("float32", 4, 4, 4, 0, 4, "float32"),
    "float16": Precision("float16", 2, 2, 2, 0, 2, "float16"),
    "bfloat16": Precision("bfloat16", 2, 2, 2, 0, 2, "bfloat16"),
    # Micikevicius et al. 2018 / ZeRO's accounting: 2 + 2 bytes of fp16 weights and gradients,
    # 4 bytes of fp32 master weights and 4 per optimizer state value.
    "mixed": Precision("mixed", 2, 2, 2, 4, 4, "float16"),
}

PART_NAMES = ("weights", "master_weights", "buffers", "gradients", "optimizer_state", "input", "activations")


@dataclass
class Size:
    """Bytes as ``fixed + per_sample * batch``."""

    fixed: int = 0
    per_sample: int = 0

    def at(self, batch: int) -> int:
        return self.fixed + self.per_sample * batch

    def __add__(self, other: "Size") -> "Size":
        return Size(self.fixed + other.fixed, self.per_sample + other.per_sample)

    def __sub__(self, other: "Size") -> "Size":
        return Size(self.fixed - other.fixed, self.per_sample - other.per_sample)

    def to_dict(self) -> dict[str, int]:
        return {"fixed": self.fixed, "per_sample": self.per_sample}


@dataclass
class SavedTensor:
    """One distinct storage autograd keeps, listed at the first node that keeps it."""

    node: str
    what: str
    shape: list[int]
    dtype: str
    size: Size
    owner: str | None  # the node whose output it is; None when made for the backward pass
    kept_by: list[str] = field(default_factory=list)
    is_input: bool = False  # the network input: counted as the input batch

    def to_dict(self, batch: int) -> dict[str, Any]:
        return {
            "node": self.node,
            "what": self.what,
            "shape": self.shape,
            "per_sample": self.size.fixed == 0,
            "dtype": self.dtype,
            "bytes": self.size.at(batch),
            "owner": self.owner,
            "kept_by": self.kept_by,
            "is_input": self.is_input,
        }


@dataclass
class LayerMemory:
    name: str
    kind: str
    trainable: bool
    requires_grad: bool
    params: int
    saved: list[dict[str, Any]]  # every tensor the node keeps, shared ones included
    new_saved: Size  # distinct storages first kept here (the network input excluded)

    def to_dict(self, batch: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "params": self.params,
            "trainable": self.trainable,
            "requires_grad": self.requires_grad,
            "saved": [{**s, "bytes": s["size"].at(batch), "size": s["size"].to_dict()} for s in self.saved],
            "saved_bytes": self.new_saved.at(batch),
        }


@dataclass
class Event:
    """Live bytes after one allocation point of the simulated step."""

    live: Size
    phase: str  # forward, backward, optimizer
    node: str


@dataclass
class MemoryEstimate:
    graph: Graph
    batch: int
    precision: Precision
    optimizer: str
    device: str
    params: int
    trainable_params: int
    trainable_tensors: int
    buffers: int
    parts: dict[str, Size]
    saved: list[SavedTensor]
    layers: list[LayerMemory]
    events: list[Event]
    first_trainable: str | None
    macs: dict[str, int] = field(default_factory=dict)  # of one step: step_forward_macs, backward_*, training_macs
    extra: dict[str, Any] = field(default_factory=dict)  # head, freeze: set by the caller for reports

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def training(self) -> bool:
        return self.trainable_params > 0

    def part(self, name: str, batch: int | None = None) -> int:
        return self.parts[name].at(self.batch if batch is None else batch)

    def total_size(self) -> Size:
        total = Size()
        for name in PART_NAMES:
            total = total + self.parts[name]
        return total

    def total(self, batch: int | None = None) -> int:
        return self.total_size().at(self.batch if batch is None else batch)

    def peak_event(self, batch: int | None = None) -> Event:
        b = self.batch if batch is None else batch
        return max(self.events, key=lambda e: e.live.at(b))

    def peak(self, batch: int | None = None) -> int:
        return self.peak_event(batch).live.at(self.batch if batch is None else batch)

    def max_batch(self, budget: int) -> tuple[int, Event | None]:
        """The largest batch whose simulated peak fits ``budget`` bytes (0 when none does).

        The peak at batch b is the largest ``fixed + b * per_sample`` over the step's
        events, so the answer is the smallest ``(budget - fixed) // per_sample``.
        """
        best: int | None = None
        binding: Event | None = None
        for event in self.events:
            f, s = event.live.fixed, event.live.per_sample
            if s <= 0:
                if f > budget:
                    return 0, event
                continue
            fits = max((budget - f) // s, 0)
            if best is None or fits < best:
                best, binding = fits, event
        return (best if best is not None else 0), binding

    def to_dict(self, budget: int | None = None) -> dict[str, Any]:
        g, b = self.graph, self.batch
        peak = self.peak_event()
        parts = {name: self.part(name) for name in PART_NAMES}
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "name": g.name,
            "title": g.title,
            "input": list(g.input.shape),
            "batch": b,
            "dtype": self.precision.name,
            "precision": {
                "activations": self.precision.activation,
                "weights": self.precision.weight,
                "gradients": self.precision.grad,
                "master_weights": self.precision.master,
                "optimizer_state": self.precision.state,
            },
            "optimizer": self.optimizer,
            "device": self.device,
            "params": {
                "total": self.params,
                "trainable": self.trainable_params,
                "frozen": self.frozen_params,
                "trainable_tensors": self.trainable_tensors,
                "buffers": self.buffers,
            },
            "first_trainable": self.first_trainable,
            "macs": dict(self.macs),
            "activations_are": "saved_for_backward" if self.training else "inference_peak_live",
            "bytes": {**parts, "total": self.total(), "peak": peak.live.at(b)},
            "sizes": {**{name: self.parts[name].to_dict() for name in PART_NAMES},
                      "total": self.total_size().to_dict()},
            "peak": {"bytes": peak.live.at(b), "phase": peak.phase, "node": peak.node, **peak.live.to_dict()},
            "layers": [row.to_dict(b) for row in self.layers],
            **self.extra,
        }
        if budget is not None:
            fits, event = self.max_batch(budget)
            data["budget"] = {
                "bytes": budget,
                "max_batch": fits,
                "peak_at_max_batch": self.peak(fits) if fits else None,
                "binding": None if event is None else {
                    "phase": event.phase, "node": event.node, **event.live.to_dict()
                },
            }
        return data


def dtype_bytes(token: str, precision: Precision, device: str) -> tuple[int, str]:
    """Bytes per element and the torch type name of a Saved dtype token."""
    if token == "act":
        return precision.activation, precision.activation_type
    if token == "int64":
        return 8, "int64"
    if token == "mask":
        return (1, "bool") if device == "cuda" else (precision.activation, precision.activation_type)
    if token == "stat":
        return (4, "float32") if device == "cuda" else (precision.activation, precision.activation_type)
    if token in ("float32", "int32"):
        return 4, token
    raise ValueError(f"unknown saved dtype {token!r}")


def estimate_memory(
    graph: Graph,
    *,
    batch: int = 1,
    dtype: str = "float32",
    optimizer: str = "adam",
    device: str = "cuda",
) -> MemoryEstimate:
    """The memory of one training step of ``graph`` (frozen nodes as marked).

    In phases: what is held for the whole step (:func:`_held_parts`), which storage each
    output lives in, what autograd keeps per node (:func:`_kept`), then the simulated
    forward pass, backward pass and optimizer step.
    """
    _check_options(dtype, optimizer, device, batch)
    prec = PRECISIONS[dtype]
    nodes = training_nodes(graph)
    rg = requires_grad(graph)
    counts, parts = _held_parts(graph, prec, optimizer)
    storage = _storages(nodes)
    kept = _kept(graph, nodes, rg, storage, prec, device)
    held = Size()
    for name in ("weights", "master_weights", "buffers", "optimizer_state", "input"):
        held = held + parts[name]
    sim = _Step(held, prec.activation)
    _forward(sim, graph, nodes, storage, kept)
    if not any(rg[n.index] for n in nodes):
        # Nothing trains: the activations are the forward pass's live tensors at their peak.
        live = [e.live - held for e in sim.events]
        parts["activations"] = max(live, key=lambda s: s.at(batch))
    else:
        parts["activations"] = kept.total
        _backward(sim, graph, nodes, rg, storage, kept.node_keys, kept.holders, kept.keep, prec, prec.activation)
        temp = Size(counts.trainable * prec.state) if optimizer in ("adam", "adamw") else Size()
        sim.live = held + parts["gradients"] + temp
        sim.mark("optimizer", "step")

    return MemoryEstimate(
        graph=graph,
        batch=batch,
        precision=prec,
        optimizer=optimizer,
        device=device,
        params=counts.params,
        trainable_params=counts.trainable,
        trainable_tensors=counts.tensors,
        buffers=counts.buffers,
        parts=parts,
        saved=kept.saved,
        layers=kept.layers,
        events=sim.events,
        first_trainable=kept.first_trainable,
        macs=training_step_macs(graph, batch),
    )


def _check_options(dtype: str, optimizer: str, device: str, batch: int) -> None:
    if dtype not in PRECISIONS:
        raise SpecError(f"unknown training dtype '{dtype}'; expected one of {', '.join(PRECISIONS)}")
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{optimizer}'; expected one of {', '.join(OPTIMIZERS)}")
    if device not in DEVICES:
        raise SpecError(f"unknown device '{device}'; expected one of {', '.join(DEVICES)}")
    if batch < 1:
        raise SpecError(f"batch must be a positive integer, got {batch}")


@dataclass
class _Counts:
    params: int = 0
    trainable: int = 0
    tensors: int = 0  # trainable parameter tensors (a weight and a bias are two)
    buffers: int = 0


def _held_parts(graph: Graph, prec: Precision, optimizer: str) -> tuple[_Counts, dict[str, Size]]:
    """Parameters, buffers, gradients, optimizer state and the input batch: sized once."""
    counts = _Counts()
    for node in graph.nodes:
        weights, biases = node.op.params(node)
        counts.params += weights + biases
        counts.buffers += node.op.buffers(node)
        if is_trainable(node):
            counts.trainable += weights + biases
            counts.tensors += (weights > 0) + (biases > 0)
    step_counters = counts.tensors * 4 if optimizer in ("adam", "adamw") else 0
    trainable = counts.trainable
    return counts, {
        "weights": Size(counts.params * prec.weight),
        "master_weights": Size(trainable * prec.master),
        "buffers": Size(counts.buffers * prec.weight),
        "gradients": Size(trainable * prec.grad),
        "optimizer_state": Size(OPTIMIZERS[optimizer] * trainable * prec.state + step_counters),
        "input": Size(0, numel(graph.input.shape) * prec.activation),
        "activations": Size(),
    }


def _storages(nodes: list[Node]) -> dict[int, int]:
    """Which node's storage each output lives in, in train mode (views and in-place share)."""
    storage: dict[int, int] = {}
    for node in nodes:
        aliased = node.op.training_aliases_input(node)
        storage[node.index] = storage[node.inputs[0].index] if aliased else node.index
    return storage


def _storage_size(graph: Graph, key: int, prec: Precision) -> Size:
    return Size(0, numel(graph.nodes[key].shape) * prec.activation)


@dataclass
class _Kept:
    """What autograd keeps: distinct storages, per node the ones it holds, and who holds each."""

    distinct: dict[Any, SavedTensor]
    node_keys: dict[int, list[Any]]
    layers: list[LayerMemory]
    first_trainable: str | None
    holders: dict[Any, int]
    keep: set[int]  # storages alive to the end: the outputs and the input

    @property
    def saved(self) -> list[SavedTensor]:
        return list(self.distinct.values())

    @property
    def total(self) -> Size:
        total = Size()
        for s in self.distinct.values():
            if not s.is_input:
                total = total + s.size
        return total


def _kept(graph: Graph, nodes: list[Node], rg: list[bool], storage: dict[int, int], prec: Precision,
          device: str) -> _Kept:
    """Each node's saved_for_backward, as distinct storages (a tensor two nodes keep counts once)."""
    distinct: dict[Any, SavedTensor] = {}
    node_keys: dict[int, list[Any]] = {}
    layers: list[LayerMemory] = []
    first_trainable = None
    for node in nodes:
        if node.op.graph_input:  # the caller's batch: counted as the input part
            continue
        needs = tuple(rg[src.index] for src in node.inputs)
        train = is_trainable(node)
        if train and first_trainable is None:
            first_trainable = node.name
        keys: list[Any] = []
        listed: list[dict[str, Any]] = []
        new = Size()
        for k, item in enumerate(node.op.saved_for_backward(node, needs, train)):
            width, type_name = dtype_bytes(item.dtype, prec, device)
            if item.source is None:
                key: Any = ("new", node.index, k)
                count = numel(item.shape) * width
                size = Size(0, count) if item.per_sample else Size(count, 0)
                owner = None
            else:
                src = node if item.source == "output" else node.inputs[int(item.source)]
                key = storage[src.index]
                size = _storage_size(graph, key, prec)
                owner = graph.nodes[key].name
            first = key not in distinct
            if first:
                distinct[key] = SavedTensor(node.name, item.what, list(item.shape), type_name, size, owner,
                                            is_input=key == graph.input.index)
                if key != graph.input.index:
                    new = new + size
            distinct[key].kept_by.append(node.name)
            if key not in keys:
                keys.append(key)
            listed.append({"what": item.what, "shape": list(item.shape), "dtype": type_name, "size": size,
                           "owner": owner, "first": first})
        node_keys[node.index] = keys
        layers.append(LayerMemory(node.name, node.kind, train, rg[node.index], params_of(node), listed, new))
    holders: dict[Any, int] = {}
    for keys in node_keys.values():
        for key in keys:
            holders[key] = holders.get(key, 0) + 1
    keep = {storage[out.index] for out in graph.outputs} | {graph.input.index}
    return _Kept(distinct, node_keys, layers, first_trainable, holders, keep)


def _forward(sim: "_Step", graph: Graph, nodes: list[Node], storage: dict[int, int], kept: _Kept) -> None:
    """The forward pass in train mode: outputs are freed after their last reader unless kept."""
    in_step = {n.index for n in nodes}
    pending: dict[int, int] = {}
    sim.mark("start", "input")

    def release(key: int) -> None:
        if (key in sim.alive and pending.get(key, 0) == 0 and kept.holders.get(key, 0) == 0
                and key not in kept.keep):
            sim.free(key)

    for node in nodes:
        key = storage[node.index]
        if node.op.graph_input:
            sim.alive[key] = Size()  # the input batch is counted as held
        elif key == node.index:
            sim.alloc(key, Size(0, numel(node.shape) * sim.activation))
        pending[key] = pending.get(key, 0) + sum(1 for c in node.consumers if c.index in in_step)
        for k in kept.node_keys.get(node.index, []):
            if isinstance(k, tuple):  # made for the backward pass: born here
                sim.alloc(k, kept.distinct[k].size)
        if not node.op.graph_input:
            sim.mark("forward", node.name)
        for src in node.inputs:
            skey = storage[src.index]
            pending[skey] -= 1
            release(skey)
        release(key)


def training_step_macs(graph: Graph, batch: int) -> dict[str, int]:
    """The step's MACs, from the analysis (each kind's ``backward_macs`` rule)."""
    from archcalc.analysis import STEP_MACS, analyze_graph

    totals = analyze_graph(graph, batch=batch).totals
    return {key: totals[key] for key in STEP_MACS}


class _Step:
    """Live bytes during the simulated step, with an event after each allocation point."""

    def __init__(self, held: Size, activation: int) -> None:
        self.live = held
        self.activation = activation  # bytes per activation value
        self.alive: dict[Any, Size] = {}
        self.events: list[Event] = []

    def alloc(self, key: Any, size: Size) -> None:
        self.alive[key] = size
        self.live = self.live + size

    def free(self, key: Any) -> None:
        self.live = self.live - self.alive.pop(key)

    def mark(self, phase: str, node: str) -> None:
        self.events.append(Event(self.live, phase, node))


def _backward(sim: _Step, graph: Graph, nodes: list[Node], rg: list[bool], storage: dict[int, int],
              node_keys: dict[int, list[Any]], holders: dict[Any, int], keep: set[int],
              prec: Precision, act: int) -> None:
    """``loss.backward()``: gradients flow in reverse node order, kept tensors are released."""
    refs: dict[Any, int] = {}
    grads: dict[int, Any] = {}
    counter = iter(range(1 << 62))

    def new_grad(node: Node) -> Any:
        key = ("grad", next(counter))
        sim.alloc(key, Size(0, numel(node.shape) * act))
        refs[key] = 1
        return key

    def share(key: Any) -> Any:
        refs[key] += 1
        return key

    def drop(key: Any) -> None:
        refs[key] -= 1
        if refs[key] == 0:
            sim.free(key)

    def accumulate(src: Node, key: Any) -> None:
        old = grads.get(src.index)
        if old is None:
            grads[src.index] = key
        elif refs[old] == 1:  # summed into the first gradient, in place
            drop(key)
        elif refs[key] == 1:  # or into the new one
            grads[src.index] = key
            drop(old)
        else:
            total = new_grad(src)
            drop(old)
            drop(key)
            grads[src.index] = total

    for out in graph.outputs:
        if rg[out.index] and out.index not in grads:
            grads[out.index] = new_grad(out)
    for node in reversed(nodes):
        if not rg[node.index]:
            continue
        grad = grads.pop(node.index, None)
        if is_trainable(node):
            sim.live = sim.live + Size(params_of(node) * prec.grad)
        handed = node.op.input_gradients(node)
        shared = None
        for src in node.inputs:
            if not rg[src.index]:
                continue
            if handed == "passed" and grad is not None:
                accumulate(src, share(grad))
            elif handed == "one":
                shared = shared if shared is not None else new_grad(node)
                accumulate(src, share(shared))
            else:
                accumulate(src, new_grad(src))
        if shared is not None:
            drop(shared)
        sim.mark("backward", node.name)
        if grad is not None:
            drop(grad)
        for key in node_keys.get(node.index, []):
            holders[key] -= 1
            if holders[key] == 0 and key in sim.alive and key not in keep:
                sim.free(key)
    for key in list(sim.alive):  # outputs and leftover gradients go when backward returns
        if key != graph.input.index:
            sim.free(key)
