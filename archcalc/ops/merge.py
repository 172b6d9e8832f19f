"""Joins of several inputs: channel concatenation, residual add, gating multiply."""

from __future__ import annotations

from archcalc.ops.base import Op, OpError, Saved, describe, numel, register, saved_input


def _listing(node) -> str:
    return ", ".join(f"{describe(i.shape)} from '{i.name}'" for i in node.inputs)


@register
class Concat(Op):
    kind = "concat"
    aliases = ("cat",)
    family = "merge"
    doc = "Concatenate inputs along channels; spatial sizes must agree."
    min_inputs = 1
    max_inputs = None

    def output_shape(self, node):
        shapes = [i.shape for i in node.inputs]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1 or {s[1:] for s in shapes}.__len__() != 1:
            raise OpError(
                f"concat '{node.name}' joins along channels, so the other sizes must agree; got "
                + _listing(node)
            )
        return (sum(s[0] for s in shapes), *shapes[0][1:])

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """cat's backward slices the gradient: nothing is kept."""
        return []

    def input_gradients(self, node):
        return "passed"  # each input gets a view (its slice) of the output's gradient

    def torch_module(self, node):
        from archcalc.torch import modules

        return modules.Concat()


@register
class Add(Op):
    kind = "add"
    family = "merge"
    doc = "Elementwise sum of inputs of one shape (residual connections)."
    min_inputs = 2
    max_inputs = None

    def output_shape(self, node):
        shapes = {i.shape for i in node.inputs}
        if len(shapes) != 1:
            raise OpError(f"{self.kind} '{node.name}' needs inputs of one shape; got " + _listing(node))
        return node.inputs[0].shape

    def other_ops(self, node):
        return numel(node.shape) * (len(node.inputs) - 1)

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """A sum passes its gradient through: nothing is kept (also for mean, a sum then a scalar division)."""
        return []

    def input_gradients(self, node):
        return "passed"  # every input gets the output's gradient itself

    def torch_module(self, node):
        from archcalc.torch import modules

        return modules.Add()


@register
class Multiply(Op):
    kind = "multiply"
    aliases = ("mul",)
    family = "merge"
    doc = (
        "Elementwise product (squeeze-and-excitation gates); an input of shape (C, 1, 1) "
        "is broadcast over the positions of a (C, H, W) one."
    )
    min_inputs = 2
    max_inputs = None

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
        from archcalc.torch import modules

        return modules.Multiply()


@register
class Mean(Add):
    kind = "mean"
    aliases = ("average",)
    doc = "Elementwise mean of inputs of one shape (FractalNet's join)."

    def other_ops(self, node):
        return numel(node.shape) * len(node.inputs)

    def input_gradients(self, node):
        return "one"  # the output's gradient divided by the count, once, for every input

    def torch_module(self, node):
        from archcalc.torch import modules

        return modules.Mean()
