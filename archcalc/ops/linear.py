"""Fully connected layers, and LeNet-5's fixed radial-basis output."""

from __future__ import annotations

from archcalc.ops.base import Field, Op, expect_flat, register, saved_input


@register
class Linear(Op):
    kind = "linear"
    aliases = ("fc", "dense_layer")
    family = "linear"
    doc = "Fully connected layer on a flat input (put `flatten` before it)."
    fields = (
        Field("out", "int", doc="output features", minimum=1),
        Field("bias", "bool", True, "learn a bias per output"),
    )
    positional = ("out",)

    def output_shape(self, node):
        expect_flat(node)
        return (node.args["out"],)

    def params(self, node):
        out = node.args["out"]
        return node.inputs[0].shape[0] * out, out if node.args["bias"] else 0

    def macs(self, node):
        return node.inputs[0].shape[0] * node.args["out"]

    def other_ops(self, node):
        return node.args["out"] if node.args["bias"] else 0

    def matmul_channels(self, node):
        return (("input features", node.inputs[0].shape[0]), ("output features", node.args["out"]))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """addmm keeps its input only for the weight gradient (the input gradient needs the weight)."""
        return [saved_input(node)] if trainable else []

    def torch_module(self, node):
        from torch import nn

        return nn.Linear(node.inputs[0].shape[0], node.args["out"], node.args["bias"])


@register
class RBF(Op):
    kind = "rbf"
    family = "linear"
    doc = (
        "Euclidean radial-basis units (LeNet-5's output layer): squared distance to a "
        "fixed parameter vector per class. Its parameters were set by hand, so they count "
        "as frozen."
    )
    fields = (Field("out", "int", doc="number of classes", minimum=1),)
    positional = ("out",)
    trainable = False

    def output_shape(self, node):
        expect_flat(node)
        return (node.args["out"],)

    def params(self, node):
        return node.inputs[0].shape[0] * node.args["out"], 0

    def macs(self, node):
        return node.inputs[0].shape[0] * node.args["out"]

    def other_ops(self, node):
        return node.inputs[0].shape[0] * node.args["out"]

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """``x.pow(2)`` keeps x; the product with the fixed codes keeps only the codes (parameters)."""
        return [saved_input(node)] if needs_input_grad[0] else []

    def torch_module(self, node):
        from archcalc.torch import modules

        return modules.RBF(node.inputs[0].shape[0], node.args["out"])
