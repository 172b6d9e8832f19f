"""What a layer kind is: its arguments, and every rule about it in one class.

Each kind subclasses :class:`Op` once and states its fields, its shape rule,
parameters, MACs, other operations, receptive-field step and torch module. The
analytic path and the torch path both read these methods, so they cannot drift
apart. Methods receive the :class:`~archcalc.graph.Node` being built; its
``args`` are already type-checked values, ``inputs`` the producing nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

Shape = tuple[int, ...]
REQUIRED = object()


class OpError(ValueError):
    """A rule of the kind is broken; ``field`` names the argument to point at."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Field:
    """One argument of a layer kind.

    ``type`` names a converter in :mod:`archcalc.spec.fields`; ``minimum``
    applies to integers (and to both halves of a pair).
    """

    name: str
    type: str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def default_value(self) -> Any:
        """The default in the form the field's converter would produce."""
        if self.type in ("pair", "padding") and isinstance(self.default, int):
            return (self.default, self.default)
        return self.default


@dataclass
class ReceptiveStep:
    """How a node grows the receptive field: effective kernel and stride per axis."""

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)


IDENTITY_STEP = ReceptiveStep()


@dataclass(frozen=True)
class OpWarning:
    """A likely mistake in one node that its shape rule accepts; ``code`` is the stable name
    a spec silences it by (listed in :data:`archcalc.lint.CODES`)."""

    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Saved:
    """One tensor that autograd keeps from a node's forward pass for its backward pass.

    ``source`` says whose memory it is: an input index (the saved tensor *is* that
    input, so it shares its storage), ``"output"`` (the node's own output), or None
    (a tensor made for the backward pass alone: pooling indices, a dropout mask,
    batch statistics, a copy). ``shape`` is per sample when ``per_sample`` (the
    batch multiplies it), else the whole tensor. ``dtype`` is ``"act"`` (the
    activation type), ``"int64"``, ``"mask"`` (bool on CUDA, where dropout keeps a
    1-byte mask; the activation type on CPU) or ``"stat"`` (float32 on CUDA, the
    activation type on CPU). Parameters are never listed: they are held anyway.
    """

    what: str
    shape: Shape
    dtype: str = "act"
    source: int | str | None = None
    per_sample: bool = True


def saved_input(node, index: int = 0, what: str | None = None) -> Saved:
    """The node's input ``index`` itself (shared storage)."""
    label = what or ("input" if len(node.inputs) == 1 else f"input {index}")
    return Saved(label, node.inputs[index].shape, source=index)


def saved_output(node, what: str = "output") -> Saved:
    """The node's own output (shared storage)."""
    return Saved(what, node.shape, source="output")


class Op:
    """Base of every layer kind. Subclasses set the class attributes and rules."""

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = "other"
    doc: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    positional: ClassVar[tuple[str, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Output shares the input's storage: views, eval-mode identities.
    is_view: ClassVar[bool] = False
    # Trainable unless the spec says otherwise (LeNet's fixed RBF says otherwise).
    trainable: ClassVar[bool] = True

    # --- analytic rules -------------------------------------------------
    def output_shape(self, node) -> Shape:
        return node.inputs[0].shape

    def params(self, node) -> tuple[int, int]:
        """(weights, biases)."""
        return (0, 0)

    def buffers(self, node) -> int:
        return 0

    def macs(self, node) -> int:
        return 0

    def other_ops(self, node) -> int:
        """Operations that are not multiply-accumulates (bias adds, pooling, ...)."""
        return 0

    def receptive_step(self, node) -> ReceptiveStep:
        return IDENTITY_STEP

    def warnings(self, node) -> Sequence[OpWarning]:
        """What a careful reviewer would question in this node, though its figures are computable."""
        return ()

    def matmul_channels(self, node) -> Sequence[tuple[str, int]]:
        """The channel counts this node multiplies as matrices, named: tensor cores want them
        in multiples of 8 (checked when a spec sets `tensor_cores: true`)."""
        return ()

    def aliases_input(self, node) -> bool:
        """True when the output reuses the input's memory (views, in-place)."""
        return self.is_view

    # --- training -------------------------------------------------------
    def training_aliases_input(self, node) -> bool:
        """True when, in training mode, the output shares its input's storage.

        Views and activations that torch runs in place; dropout is a view at
        inference only and overrides this.
        """
        return self.aliases_input(node)

    def input_gradients(self, node) -> str:
        """How backward hands the gradient on to the inputs, for the memory of a training step:
        'passed' (the output's gradient itself, or views of it), 'one' (one new tensor for all
        inputs) or 'each' (a new tensor per input, what most kinds compute)."""
        return "passed" if self.training_aliases_input(node) else "each"

    def saved_for_backward(self, node, needs_input_grad: Sequence[bool], trainable: bool) -> list[Saved]:
        """The tensors torch's autograd keeps for this node's backward pass, in training mode.

        ``needs_input_grad[i]`` tells whether input ``i`` requires grad (something
        trainable lies before it); ``trainable`` whether this node's own parameters
        do. When neither holds, torch records no backward node and keeps nothing.
        Parameters (a convolution also keeps its weight) are never listed. This
        default keeps every input, the need of most kinds; each built-in kind
        states its own rule, following torch's derivatives (derivatives.yaml).
        """
        if not (any(needs_input_grad) or trainable):
            return []
        return [saved_input(node, i) for i in range(len(node.inputs))]

    def backward_macs(self, node, needs_input_grad: Sequence[bool], trainable: bool) -> tuple[int, int]:
        """Multiply-accumulates of the backward pass per sample: (to the inputs, to the weights).

        This default suits kinds whose MACs multiply an input by a weight (conv,
        linear): the input gradient multiplies the output gradient by the same
        weights, and the weight gradient multiplies it by the same inputs, so each
        costs what the forward pass did. No input gradient is computed where no input
        needs one (the first layer, a frozen prefix) and no weight gradient for frozen
        weights, as autograd does; estimators that take backward = 2 x forward miss both.
        """
        forward = self.macs(node)
        to_inputs = forward if any(needs_input_grad) else 0
        to_weights = forward if trainable and self.params(node)[0] else 0
        return to_inputs, to_weights

    def moves_memory(self, node) -> bool:
        """Whether running the node reads its inputs and writes its output (views move nothing)."""
        return not self.is_view

    # --- torch ----------------------------------------------------------
    def torch_module(self, node):
        """A ``torch.nn.Module`` computing this node; torch is imported lazily."""
        raise NotImplementedError(f"no torch module for kind '{self.kind}'")


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def describe(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def expect_image(node, what: str | None = None) -> tuple[int, int, int]:
    """The (C, H, W) input of a spatial kind, or a located explanation why not."""
    src = node.inputs[0]
    if len(src.shape) != 3:
        label = what or node.op.kind
        raise OpError(
            f"{label} '{node.name}' expects a 3-D input (C, H, W), got "
            f"{describe(src.shape)} from '{src.name}'"
        )
    return src.shape  # type: ignore[return-value]


def expect_flat(node) -> int:
    src = node.inputs[0]
    if len(src.shape) != 1:
        raise OpError(
            f"{node.op.kind} '{node.name}' expects a flat input (features), got "
            f"{describe(src.shape)} from '{src.name}'",
        )
    return src.shape[0]


def window_output(
    size: int, kernel: int, stride: int, pad_total: int, dilation: int, ceil_mode: bool, axis: str,
    node, pad_before: int = 0,
) -> int:
    """Output length of a sliding window, with torch's rules (ceil mode included)."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_total
    if span > padded:
        raise OpError(
            f"{node.op.kind} '{node.name}': kernel {kernel}"
            + (f" (dilated to {span})" if dilation > 1 else "")
            + f" is larger than the padded input {axis} of {padded}",
            "kernel",
        )
    if ceil_mode:
        out = -(-(padded - span) // stride) + 1
        if (out - 1) * stride >= size + pad_before:
            out -= 1
    else:
        out = (padded - span) // stride + 1
    if out < 1:
        raise OpError(f"{node.op.kind} '{node.name}': output {axis} would be {out}", "kernel")
    return out


def window_tail(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1) -> int:
    """Input rows (or columns) at the end that no window reads because the output length is
    rounded down, beyond the gap a stride wider than the window leaves between any two windows."""
    span = dilation * (kernel - 1) + 1
    unread = (size + pad_before + pad_after - span) % stride
    return max(unread - pad_after - max(stride - span, 0), 0)


def dropped_pixels(node, hint: str) -> list[OpWarning]:
    """The `dropped-pixels` warning of a sliding window (args kernel, stride, and pads and dilation if any)."""
    a = node.args
    _, h, w = node.inputs[0].shape
    top, bottom, left, right = a.get("pads", (0, 0, 0, 0))
    (kh, kw), (sh, sw) = a["kernel"], a["stride"]
    dh, dw = a.get("dilation", (1, 1))
    rows, cols = window_tail(h, kh, sh, top, bottom, dh), window_tail(w, kw, sw, left, right, dw)
    if not rows and not cols:
        return []
    pads = top if top == bottom == left == right else [top, bottom, left, right]
    lost = [axis if n == 1 else f"{n} {axis}s" for n, axis in ((rows, "row"), (cols, "column")) if n]
    return [OpWarning(
        "dropped-pixels",
        f"{node.op.kind} '{node.name}' leaves out the last {' and the last '.join(lost)} of its {h}x{w} input: "
        f"no window covers them (kernel {kh}x{kw}, stride {sh}x{sw}, padding {pads}; the output size "
        f"{node.shape[1]}x{node.shape[2]} is rounded down)",
        hint,
    )]


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow-style 'same': output = ceil(size / stride), extra pad at the end."""
    span = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def resolve_padding(node, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, 'same' or 'valid'."""
    a = node.args
    padding = a["padding"]
    kh, kw = a["kernel"]
    sh, sw = a["stride"]
    dh, dw = a.get("dilation", (1, 1))
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return same_padding(h, kh, sh, dh) + same_padding(w, kw, sw, dw)
    ph, pw = padding
    return (ph, ph, pw, pw)


@dataclass
class Registry:
    """Kind name (or alias) to its single Op instance."""

    ops: dict[str, Op] = field(default_factory=dict)

    def register(self, cls: type[Op]) -> type[Op]:
        op = cls()
        for name in (cls.kind, *cls.aliases):
            if name in self.ops:
                raise RuntimeError(f"layer kind '{name}' defined twice")
            self.ops[name] = op
        return cls

    def get(self, name: str) -> Op | None:
        return self.ops.get(name)

    def kinds(self) -> list[Op]:
        seen: dict[str, Op] = {}
        for op in self.ops.values():
            seen.setdefault(op.kind, op)
        return list(seen.values())


REGISTRY = Registry()
register: Callable[[type[Op]], type[Op]] = REGISTRY.register
