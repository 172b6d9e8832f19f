"""What a layer kind is: its arguments, and every rule about it in one class.

Adding a layer kind is one file under ``archcalc/ops/`` (the package finds every module
there and imports each when a spec names one of its kinds, see ``archcalc/ops/__init__.py``;
a kind may also live in any module imported before a spec is read): a subclass of
:class:`Op` decorated with :func:`register`. Everything else, the spec language, the JSON
Schema, the kinds table of docs/spec-format.md, ``archcalc kinds``, the torch module,
``export`` and the per-kind torch oracle tests, is derived from the class.

The contract
------------

Units. Every count is **per sample**: MACs, other ops, activations and saved
tensors are for one image, and the analysis multiplies them by the batch.
Parameters and buffers are per network. Shapes are without the batch axis:
``(C, H, W)`` or ``(features,)``.

When each hook runs. The builder converts the written arguments (``node.args``,
typed by the kind's :class:`Field` list; a kind never changes them) and knows the
inputs (``node.inputs``, each with its ``shape``). Then, in this order and once:

1. :meth:`Op.derive` computes the values the rules share that are not written
   (resolved padding, a default stride, a depthwise conv's groups). They are kept
   beside the node as ``node.derived`` and never written into ``node.args``.
2. :meth:`Op.output_shape`, a pure function of the inputs, args and derived values.
3. Once ``node.shape`` is set, the counting rules may be called, any number of
   times, in any order: :meth:`params`, :meth:`buffers`, :meth:`macs`,
   :meth:`other_ops`, :meth:`receptive_step`, :meth:`saved_for_backward`,
   :meth:`working_elements`, :meth:`torch_module`. They read the node only.

Only ``derive`` and ``output_shape`` may raise, with :class:`OpError` (the builder
points at the argument named by ``OpError.field``). The counting rules must not
fail on a node that has a shape.

No silent zero. Each counting rule is a decision of the kind: :func:`register`
refuses a class that neither defines a rule nor declares it with one of the
declarations below (``macs = none``, ``receptive_step = pointwise``, ...), so a
forgotten rule is an error at import, never a quiet 0 in every table.

Examples. Every kind lists small :class:`Example` s (an input shape and what a spec
writes for the layer); the oracle tests build each one as a real torch module and
compare every rule, per node, with torch: shapes, parameters, buffers, MACs,
other ops, saved tensors and the receptive field. A kind without examples fails
a test.

Import. ``torch_classes``, ``torch_functions`` and ``torch_part_functions`` name what the kind
computes in torch, and :meth:`Op.from_torch` / :meth:`Op.from_torch_call` /
:meth:`Op.from_torch_part` give the spec arguments of one module, call or part of a call
(``archcalc import``); a kind without them is never produced by an import.

Torch. ``torch_module`` imports torch lazily (the analytic path never imports it).
A kind that needs its own ``nn.Module`` defines it in its own file with
:func:`torch_class`; ``archcalc export`` copies such classes into the exported
file, so they may use only ``torch``, ``nn``, ``F`` and ``math``.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

if TYPE_CHECKING:
    from fractions import Fraction

# The records below are named tuples made by collections.namedtuple, their fields annotated (what
# tests/test_startup.py holds to the fields): every kind file imports them, and a frozen dataclass
# compiles its methods at import, typing.NamedTuple every string annotation (docs/decisions.md, Speed).
Shape = tuple[int, ...]
if TYPE_CHECKING:
    Number = int | Fraction
REQUIRED = object()


class OpError(ValueError):
    """A rule of the kind is broken; ``field`` names the argument to point at."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Field(namedtuple("Field", "name type default doc choices minimum maximum",
                       defaults=(REQUIRED, "", (), None, None))):
    """One argument of a layer kind.

    ``type`` names one of :data:`archcalc.spec.fields.TYPES` (its converter and its JSON
    Schema): int, pair, padding, float, bool, table or choice (one of ``choices``).
    ``minimum`` applies to integers (and to both halves of a pair).
    """

    __slots__ = ()
    name: str
    type: str
    default: Any
    doc: str
    choices: tuple[str, ...]
    minimum: int | float | None
    maximum: int | float | None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED



class ReceptiveStep(namedtuple("ReceptiveStep", "kernel stride padding exact context",
                               defaults=((1, 1), (1, 1), (0, 0), True, False))):
    """How a node moves the receptive field, per axis (height, width), in its input's grid.

    Output position ``i`` reads input positions ``i * stride - padding`` to
    ``i * stride - padding + kernel - 1`` (``kernel`` is the span of a dilated
    kernel, ``padding`` the rows or columns before the first input one). ``exact``
    is False where the window is an upper bound (adaptive pooling with uneven bins).
    ``context`` is True where every output position also reads statistics over all the
    input's positions (group and instance norm): like a gate's value they are the same
    for every position, so they add global context, not window.
    A kind that makes more positions than it reads (transposed convolution, upsampling)
    states its window with :class:`fractions.Fraction` s: the whole positions inside the
    real interval are read.
    """

    __slots__ = ()
    kernel: tuple[Number, Number]
    stride: tuple[Number, Number]
    padding: tuple[Number, Number]
    exact: bool
    context: bool


IDENTITY_STEP = ReceptiveStep()


class Example(namedtuple("Example", "input value before", defaults=(None, ()))):
    """A small case of a kind, for its oracle tests and its reference: ``input`` is the
    network input's shape, ``value`` what a spec writes after ``kind:`` (arguments as a
    mapping, a positional list or scalar, branches for a merge, None for none), and
    ``before`` the layers written ahead of it (to make its inputs)."""

    __slots__ = ()
    input: Shape
    value: Any
    before: tuple[Any, ...]

    def spec(self, kind: str) -> dict[str, Any]:
        """The example as a spec document."""
        layer = kind if self.value is None else {kind: self.value}
        return {"name": f"{kind}-example", "input": list(self.input), "layers": [*self.before, layer]}


class OpWarning(namedtuple("OpWarning", "code message hint", defaults=(None,))):
    """A likely mistake in one node that its shape rule accepts; ``code`` is the stable name
    a spec silences it by (listed in :data:`archcalc.lint.CODES`)."""

    __slots__ = ()
    code: str
    message: str
    hint: str | None


class Saved(namedtuple("Saved", "what shape dtype source per_sample", defaults=("act", None, True))):
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

    __slots__ = ()
    what: str
    shape: Shape
    dtype: str
    source: int | str | None
    per_sample: bool


class MacTerm(namedtuple("MacTerm", "what macs between_activations", defaults=(False,))):
    """One matrix product of a node that does several (attention: q, k and v, the scores, the
    weighted sum, the output), per sample. ``between_activations`` marks a product of two
    activations (no weight in it): what counters that follow the layers' weights leave out."""

    __slots__ = ()
    what: str
    macs: int
    between_activations: bool


def saved_input(node, index: int = 0, what: str | None = None) -> Saved:
    """The node's input ``index`` itself (shared storage)."""
    label = what or ("input" if len(node.inputs) == 1 else f"input {index}")
    return Saved(label, node.inputs[index].shape, source=index)


def saved_output(node, what: str = "output") -> Saved:
    """The node's own output (shared storage)."""
    return Saved(what, node.shape, source="output")


class Op:
    """Base of every layer kind; see the module docstring for the contract.

    Class attributes describe the kind; methods are its rules. The rules that count
    (``params``, ``buffers``, ``macs``, ``other_ops``, ``receptive_step``,
    ``saved_for_backward``, ``torch_module``) have no default: each kind defines or
    declares every one of them.
    """

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    # Groups kinds in `archcalc kinds`, the reference table and plot colours.
    family: ClassVar[str] = "other"
    # One line: what the kind is (shown by `archcalc kinds`).
    doc: ClassVar[str] = ""
    # Its shape rule and counting in a sentence, for the reference table of docs/spec-format.md.
    rules: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    positional: ClassVar[tuple[str, ...]] = ()
    examples: ClassVar[tuple[Example, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Output shares the input's storage: views, eval-mode identities.
    is_view: ClassVar[bool] = False
    # Trainable unless the spec says otherwise (LeNet's fixed RBF says otherwise).
    trainable: ClassVar[bool] = True
    # The network input (no inputs): a placeholder in torch; its memory belongs to the caller.
    graph_input: ClassVar[bool] = False
    # Written as `kind: [[branch], [branch], ...]`: each branch's output is one input.
    branch_merge: ClassVar[bool] = False
    # An inferred projection shortcut gets this kind too when the main path has it (batchnorm).
    shortcut_norm: ClassVar[bool] = False
    # The counters whose figure for this kind's module equals its MACs: "flop_counter"
    # (torch.utils.flop_counter, which counts matrix products and convolutions only) and
    # "fvcore". The oracle tests hold the kind to each one named.
    mac_counters: ClassVar[tuple[str, ...]] = ("flop_counter",)

    # --- shape (run once, may raise OpError) ----------------------------
    def derive(self, node) -> Any:
        """Values the rules share that the spec does not write (resolved padding, a default
        stride); kept as ``node.derived``. Runs before :meth:`output_shape`; pure."""
        return None

    def output_shape(self, node) -> Shape:
        """The output shape, per sample; pure (it writes nothing into the node)."""
        raise NotImplementedError

    # --- counting (node.shape is set; must not raise) -------------------
    def params(self, node) -> tuple[int, int]:
        """(weights, biases): the elements of the module's parameters (biases: those named ``bias``)."""
        raise NotImplementedError

    def buffers(self, node) -> int:
        """Elements of the module's buffers (batch norm's running statistics)."""
        raise NotImplementedError

    def macs(self, node) -> int:
        """Multiply-accumulates per sample (conv: ``H_out·W_out·C_out·k_h·k_w·C_in/groups``)."""
        raise NotImplementedError

    def other_ops(self, node) -> int:
        """Operations per sample that are not multiply-accumulates: one per element an
        elementwise operation produces (bias adds, activations, sums, products, normalising),
        one per element a window or reduction reads (pooling, means). Moving data (concat,
        pad, views) costs nothing."""
        raise NotImplementedError

    def receptive_step(self, node) -> ReceptiveStep:
        """How an output position's window of input positions is placed (see ReceptiveStep)."""
        raise NotImplementedError

    def label(self, node) -> str:
        """A short description for diagrams: the kind, and its window where it has one."""
        return self.kind

    def warnings(self, node) -> Sequence[OpWarning]:
        """What a careful reviewer would question in this node, though its figures are computable."""
        return ()

    def mac_terms(self, node) -> Sequence[MacTerm]:
        """The node's MACs by matrix product, where it does several that a reader should see
        apart (attention); empty where :meth:`macs` is one product or none."""
        return ()

    def matmul_channels(self, node) -> Sequence[tuple[str, int]]:
        """The channel counts this node multiplies as matrices, named: tensor cores want them
        in multiples of 8 (checked when a spec sets `tensor_cores: true`)."""
        return ()

    def aliases_input(self, node) -> bool:
        """True when the output reuses the input's memory (views, in-place)."""
        return self.is_view

    def working_elements(self, node) -> int:
        """Values per sample the node's torch module holds at its high-water mark beyond its
        inputs and its output, freed when it returns (attention's q, k, v and its heads·N²
        matrices). The inference peak adds them at the node; kernel scratch space (im2col,
        weight reorders) is the library's, not the kind's, and is not counted. In training the
        tensors that outlive the node are its :meth:`saved_for_backward`."""
        return 0

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
        Parameters (a convolution also keeps its weight) are never listed. Each kind
        states its own rule, following torch's derivatives (derivatives.yaml);
        :func:`keeps_inputs` is the rule of most.
        """
        raise NotImplementedError

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
        """A ``torch.nn.Module`` computing this node; torch is imported inside."""
        raise NotImplementedError

    # --- import: a torch model becomes a spec (archcalc.torch.importer) ---
    # The torch module classes this kind computes, as "package.Name" ("torch.nn.Conv2d"): the
    # importer traces a model with them as leaves and asks :meth:`from_torch` for the arguments.
    torch_classes: ClassVar[tuple[str, ...]] = ()
    # The functions and tensor methods this kind computes, by name ("cat", "add", "iadd", "relu"),
    # or a Python function it computes as a whole by its qualified name ("package.module.name"),
    # which the importer then traces as one call.
    torch_functions: ClassVar[tuple[str, ...]] = ()
    # The calls that return several tensors (``x.chunk``, ``x.split``) one part of which this kind computes.
    torch_part_functions: ClassVar[tuple[str, ...]] = ()

    def from_torch(self, module) -> dict[str, Any] | None:
        """The spec arguments that make this kind compute ``module``, an instance of one of
        :attr:`torch_classes`; None where no arguments can (a padding mode other than zeros), so
        that the import reports the module instead of writing an approximation. Reads attributes
        only: torch is not imported here."""
        return None

    def from_torch_call(self, name: str, constants: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The spec arguments of a call of ``name`` (one of :attr:`torch_functions`) whose
        tensor inputs are the node's inputs: ``constants`` are its other positional arguments
        after them, ``kwargs`` its keywords. None where the kind does not compute that call
        (``torch.cat`` along another axis than channels)."""
        return {} if not constants and not kwargs else None

    def from_torch_part(self, name: str, constants: Sequence[Any], kwargs: dict[str, Any], index: Any,
                        shape: Shape) -> dict[str, Any] | None:
        """The spec arguments of part ``index`` of a call of ``name`` (one of
        :attr:`torch_part_functions`) on an input of ``shape`` (per sample); None where the kind
        does not compute that part."""
        return None


# --- declarations: a rule the kind states as "none" -------------------------

def none(op, node) -> int:
    """The kind has none of this (no buffers, no MACs, no other ops): declared, not defaulted."""
    return 0


def no_params(op, node) -> tuple[int, int]:
    """The kind has no parameters."""
    return (0, 0)


def pointwise(op, node) -> ReceptiveStep:
    """Each output position reads the same input position only."""
    return IDENTITY_STEP


def same_shape(op, node) -> Shape:
    """The output has the first input's shape."""
    return node.inputs[0].shape


def keeps_nothing(op, node, needs_input_grad, trainable) -> list[Saved]:
    """Its backward needs no tensor from the forward pass."""
    return []


def keeps_inputs(op, node, needs_input_grad, trainable) -> list[Saved]:
    """Its backward keeps every input, when anything needs a gradient."""
    if not (any(needs_input_grad) or trainable):
        return []
    return [saved_input(node, i) for i in range(len(node.inputs))]


def elementwise(op, node) -> int:
    """One operation per output element."""
    return numel(node.shape)


RULES = ("output_shape", "params", "buffers", "macs", "other_ops", "receptive_step", "saved_for_backward",
         "torch_module")


def missing_rules(cls: type[Op]) -> list[str]:
    """The rules ``cls`` neither defines nor declares."""
    return [rule for rule in RULES if getattr(cls, rule) is getattr(Op, rule)]


# --- torch classes beside their kind ----------------------------------------

class TorchClass:
    """A custom ``nn.Module`` class, defined in its kind's file without importing torch.

    Decorate a function ``def Name(torch, nn, F, math):`` that defines and returns the
    class ``Name``; calling the handle builds the class once, on first use, then
    constructs it. :func:`archcalc.torch.build.export_torch_source` copies the class's
    source (the function's body) into an exported file, so it may use only those four
    names.
    """

    def __init__(self, define: Callable) -> None:
        self.define = define
        self.name = define.__name__
        self._cls = None

    @property
    def cls(self):
        if self._cls is None:
            import math as math_module

            import torch
            import torch.nn.functional as F
            from torch import nn

            self._cls = self.define(torch, nn, F, math_module)
            if self._cls.__name__ != self.name:
                raise TypeError(f"torch_class {self.name} returned a class named {self._cls.__name__}")
        return self._cls

    def __call__(self, *args, **kwargs):
        return self.cls(*args, **kwargs)


TORCH_CLASSES: dict[str, TorchClass] = {}


def torch_class(define: Callable) -> TorchClass:
    """Register a custom module class (see :class:`TorchClass`) under its name, once."""
    if define.__name__ in TORCH_CLASSES:
        raise RuntimeError(f"torch class '{define.__name__}' defined twice")
    handle = TORCH_CLASSES[define.__name__] = TorchClass(define)
    return handle


def torch_pair(value) -> int | list[int]:
    """A torch size argument ((3, 3), 3) as a spec writes it: n, or [h, w] where they differ."""
    if isinstance(value, (tuple, list)):
        return int(value[0]) if len(set(value)) == 1 else [int(v) for v in value]
    return int(value)


def bind_call(signature: dict[str, Any], constants: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """A call's arguments after its tensor inputs, by name: ``constants`` (positional) and ``kwargs``
    bound to ``signature`` (the function's parameters in order, each with its default, or
    :data:`REQUIRED`), for :meth:`Op.from_torch_call`. None where the call passes more or other
    arguments than the signature has, or leaves a required one out."""
    if len(constants) > len(signature) or not kwargs.keys() <= signature.keys():
        return None
    bound = {**signature, **dict(zip(signature, constants)), **kwargs}
    return None if any(value is REQUIRED for value in bound.values()) else bound


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
    """The `dropped-pixels` warning of a sliding window (args kernel, and dilation if any; derived stride and pads)."""
    a, g = node.args, node.derived
    _, h, w = node.inputs[0].shape
    top, bottom, left, right = g.pads
    (kh, kw), (sh, sw) = a["kernel"], g.stride
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


def resolve_padding(padding, kernel, stride, dilation, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int pair, 'same' or 'valid'."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return same_padding(h, kernel[0], stride[0], dilation[0]) + same_padding(w, kernel[1], stride[1], dilation[1])
    ph, pw = padding
    return (ph, ph, pw, pw)


def window_label(kind: str, kernel: tuple[int, int], stride: tuple[int, int], groups: int = 1) -> str:
    """'conv 3×3 /2 g4': a windowed kind's label for diagrams."""
    def pair(values):
        return str(values[0]) if values[0] == values[1] else f"{values[0]}×{values[1]}"

    text = f"{kind} {kernel[0]}×{kernel[1]}"
    if max(stride) > 1:
        text += f" /{pair(stride)}"
    if groups > 1:
        text += f" g{groups}"
    return text


class Window(namedtuple("Window", "stride pads")):
    """The resolved geometry of a sliding window: what ``derive`` keeps for conv and pools."""

    __slots__ = ()
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right

    @property
    def symmetric(self) -> bool:
        top, bottom, left, right = self.pads
        return top == bottom and left == right


class Registry:
    """Kind name (or alias) to its single Op instance.

    The kind modules of archcalc.ops are imported on demand (:meth:`defer`): :meth:`get` imports
    the one module that registers a name, so a spec of convolutions never loads attention; what
    needs every kind (:attr:`ops`, :meth:`names`, :meth:`kinds`) imports the rest first.
    """

    def __init__(self) -> None:
        self._ops: dict[str, Op] = {}
        # Name -> the module that registers it, for the modules not imported yet.
        self._deferred: dict[str, str] = {}
        # The canonical order of the kinds, kept whatever order the modules happen to be imported in:
        # the modules' order, then registration order (the order of _ops, which a stable sort keeps).
        self._module_order: dict[str, int] = {}
        self._ordered = True

    def defer(self, modules: Sequence[str], names: dict[str, str] | None) -> None:
        """Take note of the kind modules, in their canonical order, without importing them. With
        ``names`` (name -> module) :meth:`get` imports only the module of the name it is asked for
        and trusts that a name not there is no kind; without it every module is imported now."""
        self._module_order = {module: i for i, module in enumerate(modules)}
        if names is None:
            for module in modules:
                importlib.import_module(module)
        else:
            self._deferred = {name: module for name, module in names.items() if module not in sys.modules}

    def _load(self, module: str) -> None:
        importlib.import_module(module)
        self._deferred = {name: m for name, m in self._deferred.items() if m != module}

    def _load_all(self) -> None:
        for module in sorted(set(self._deferred.values()), key=self._module_order.__getitem__):
            self._load(module)

    @property
    def ops(self) -> dict[str, Op]:
        """Every kind name (aliases too) to its Op, in the canonical order (a module that imports
        another's kinds, as attention imports tokens, registers them before its own)."""
        self._load_all()
        if not self._ordered:
            last = len(self._module_order)  # kinds registered by other modules come after archcalc's
            self._ops = dict(sorted(self._ops.items(),
                                    key=lambda item: self._module_order.get(type(item[1]).__module__, last)))
            self._ordered = True
        return self._ops

    def register(self, cls: type[Op]) -> type[Op]:
        missing = missing_rules(cls)
        if missing:
            raise TypeError(
                f"layer kind '{cls.kind}' states no rule for {', '.join(missing)}: define each, or declare it "
                "with one of archcalc.ops.base's declarations (e.g. `macs = none`, `receptive_step = pointwise`)"
            )
        from archcalc.spec.fields import TYPES

        unknown = [f"{f.name}: {f.type}" for f in cls.fields if f.type not in TYPES]
        if unknown:
            raise TypeError(f"layer kind '{cls.kind}' has fields of unknown types ({', '.join(unknown)}); "
                            f"known: {', '.join(TYPES)}")
        op = cls()
        for name in (cls.kind, *cls.aliases):
            if name in self._ops:
                raise RuntimeError(f"layer kind '{name}' defined twice")
            self._ops[name] = op
        self._ordered = False
        return cls

    def remove(self, kind: str) -> None:
        """Forget a kind and its aliases (a kind registered by a test for its duration)."""
        op = self._ops[kind]
        for name in (op.kind, *op.aliases):
            del self._ops[name]

    def get(self, name: str) -> Op | None:
        op = self._ops.get(name)
        if op is None and name in self._deferred:
            self._load(self._deferred[name])
            op = self._ops.get(name)
            if op is None:  # the table was wrong after all: look everywhere
                self._load_all()
                op = self._ops.get(name)
        return op

    def names(self) -> dict[str, str]:
        """Every name a spec may write for a layer kind (aliases too), to its kind."""
        return {name: op.kind for name, op in self.ops.items() if not op.graph_input}

    def kinds(self) -> list[Op]:
        seen: dict[str, Op] = {}
        for op in self.ops.values():
            seen.setdefault(op.kind, op)
        return list(seen.values())


REGISTRY = Registry()
register: Callable[[type[Op]], type[Op]] = REGISTRY.register
