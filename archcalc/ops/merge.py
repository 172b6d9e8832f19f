"""Joins of several inputs: channel concatenation, residual add, gating multiply."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Op,
    OpError,
    Saved,
    describe,
    keeps_nothing,
    no_params,
    none,
    numel,
    pointwise,
    register,
    saved_input,
    torch_class,
)

_CONV = {"conv": {"out": 3, "kernel": 3, "padding": 1}}


def _listing(node) -> str:
    return ", ".join(f"{describe(i.shape)} from '{i.name}'" for i in node.inputs)


class _Merge(Op):
    """A join: written as branches (``kind: [[...], [...]]``) or with ``from:``."""

    family = "merge"
    branch_merge = True
    min_inputs = 2
    max_inputs = None
    params = no_params
    buffers = none
    macs = none
    receptive_step = pointwise


@register
class Concatenate(_Merge):
    kind = "concat"
    aliases = ("cat",)
    doc = "Concatenate inputs along channels; spatial sizes must agree."
    rules = "joins inputs along channels; other sizes must agree; moves data, no ops"
    min_inputs = 1
    examples = (
        Example((3, 5, 5), [[], [_CONV]]),
        Example((6,), [[], [{"linear": 2}]]),
    )

    torch_functions = ("cat", "concat", "concatenate")

    def from_torch_call(self, name, constants, kwargs):
        dim = [*constants, *kwargs.values()]
        return {} if dim in ([1], [-3]) else None

    def output_shape(self, node):
        shapes = [i.shape for i in node.inputs]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1 or {s[1:] for s in shapes}.__len__() != 1:
            raise OpError(
                f"concat '{node.name}' joins along channels, so the other sizes must agree; got "
                + _listing(node)
            )
        return (sum(s[0] for s in shapes), *shapes[0][1:])

    other_ops = none
    # cat's backward slices the gradient: nothing is kept.
    saved_for_backward = keeps_nothing

    def input_gradients(self, node):
        return "passed"  # each input gets a view (its slice) of the output's gradient

    def torch_module(self, node):
        return Concat()


@register
class Sum(_Merge):
    kind = "add"
    doc = "Elementwise sum of inputs of one shape (residual connections)."
    rules = "inputs of one shape; other ops one per element per added input"
    examples = (
        Example((3, 5, 5), [[], [_CONV], [{"maxpool": {"kernel": 3, "stride": 1, "padding": 1}}]]),
        Example((3, 5, 5), [[_CONV], []]),  # in place, onto the conv's output
        Example((3, 5, 5), [[_CONV, "relu"], []]),  # not in place: relu keeps its output for backward
    )

    torch_functions = ("add", "iadd", "add_")

    def output_shape(self, node):
        shapes = {i.shape for i in node.inputs}
        if len(shapes) != 1:
            raise OpError(f"{self.kind} '{node.name}' needs inputs of one shape; got " + _listing(node))
        return node.inputs[0].shape

    def other_ops(self, node):
        return numel(node.shape) * (len(node.inputs) - 1)

    # A sum passes its gradient through: nothing is kept (also for mean, a sum then a scalar division).
    saved_for_backward = keeps_nothing

    def aliases_input(self, node):
        """The sum is added onto its first input, as torchvision's ``out += identity``, when
        nothing else reads that input again (a new output is a fresh allocation per block:
        at ResNet-50 batch 8 on CPU it cost 8% of the forward pass), and no node whose
        storage that input shares keeps it for its backward pass (a relu before the join
        keeps its output), since autograd refuses a saved tensor that was overwritten.
        One rule for inference and training: the module is the same."""
        if not node.inplace_allowed:
            return False
        src = node.inputs[0]
        while True:
            everything = [True] * len(src.inputs)
            if any(s.source == "output" for s in src.op.saved_for_backward(src, everything, True)):
                return False
            if not src.op.training_aliases_input(src):
                return True
            src = src.inputs[0]

    def input_gradients(self, node):
        return "passed"  # every input gets the output's gradient itself

    def torch_module(self, node):
        return Add(self.aliases_input(node))


@register
class Product(_Merge):
    kind = "multiply"
    aliases = ("mul",)
    doc = (
        "Elementwise product (the gates of squeeze and excitation); an input of shape (C, 1, 1) "
        "is broadcast over the positions of a (C, H, W) one."
    )
    rules = (
        "one shape, or (C, 1, 1) gates broadcast over (C, H, W); a gate adds global context to the "
        "receptive field, not size"
    )
    examples = (
        Example((3, 6, 6), [[], ["global_avgpool", {"conv": {"out": 3, "kernel": 1}}, "sigmoid"]]),
        Example((3, 5, 5), [["global_maxpool"], [_CONV], []]),
    )

    torch_functions = ("mul", "imul", "mul_")

    def output_shape(self, node):
        shapes = [i.shape for i in node.inputs]
        out = max(shapes, key=numel)
        for s in shapes:
            if len(s) != len(out) or any(a not in (b, 1) for a, b in zip(s, out)):
                raise OpError(
                    f"multiply '{node.name}' needs inputs of one shape, or (C, 1, 1) gates; got "
                    + _listing(node)
                )
        return out

    def other_ops(self, node):
        return numel(node.shape) * (len(node.inputs) - 1)

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """``a * b`` keeps b when a needs a gradient and a when b does; with more inputs the
        running product is multiplied on, so it is kept (a new tensor) when the next input
        needs a gradient."""
        saved: list[Saved] = []
        product = node.inputs[0].shape
        product_grad = needs_input_grad[0]
        for i in range(1, len(node.inputs)):
            shape = node.inputs[i].shape
            if product_grad:
                saved.append(saved_input(node, i))
            if needs_input_grad[i]:
                saved.append(saved_input(node, 0) if i == 1 else Saved(f"product of inputs 0-{i - 1}", product))
            product = tuple(max(a, b) for a, b in zip(product, shape))
            product_grad = product_grad or needs_input_grad[i]
        return saved

    def torch_module(self, node):
        return Multiply()


@register
class Average(Sum):
    kind = "mean"
    aliases = ("average",)
    doc = "Elementwise mean of inputs of one shape (FractalNet's join)."
    torch_functions = ()
    rules = "inputs of one shape; other ops one per element per input (the sums and the division)"
    examples = (Example((3, 5, 5), [[], [_CONV]]), Example((3, 5, 5), [[_CONV, "batchnorm"], []]))

    def other_ops(self, node):
        return numel(node.shape) * len(node.inputs)

    def input_gradients(self, node):
        return "one"  # the output's gradient divided by the count, once, for every input

    def torch_module(self, node):
        return Mean(self.aliases_input(node))


@torch_class
def Concat(torch, nn, F, math):
    class Concat(nn.Module):
        """Concatenation of its inputs along channels (dim 1, after the batch)."""

        def forward(self, *inputs):
            return torch.cat(inputs, 1)

    return Concat


@torch_class
def Add(torch, nn, F, math):
    class Add(nn.Module):
        """Elementwise sum of its inputs (residual joins), onto the first when ``inplace``."""

        def __init__(self, inplace=False):
            super().__init__()
            self.inplace = inplace

        def forward(self, *inputs):
            if not self.inplace:
                return sum(inputs[1:], inputs[0])
            total = inputs[0]
            for x in inputs[1:]:
                total += x
            return total

        def extra_repr(self) -> str:
            return "inplace=True" if self.inplace else ""

    return Add


@torch_class
def Multiply(torch, nn, F, math):
    class Multiply(nn.Module):
        """Elementwise product of its inputs, broadcasting (C, 1, 1) gates over positions."""

        def forward(self, *inputs):
            product = inputs[0]
            for x in inputs[1:]:
                product = product * x
            return product

    return Multiply


@torch_class
def Mean(torch, nn, F, math):
    class Mean(nn.Module):
        """Elementwise mean of its inputs (FractalNet's join), onto the first when ``inplace``."""

        def __init__(self, inplace=False):
            super().__init__()
            self.inplace = inplace

        def forward(self, *inputs):
            if not self.inplace:
                return sum(inputs[1:], inputs[0]) / len(inputs)
            total = inputs[0]
            for x in inputs[1:]:
                total += x
            return total.div_(len(inputs))

        def extra_repr(self) -> str:
            return "inplace=True" if self.inplace else ""

    return Mean
