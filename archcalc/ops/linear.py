"""Fully connected layers, and LeNet-5's fixed radial-basis output."""

from __future__ import annotations

from archcalc.ops.base import Example, Field, Op, expect_flat, none, numel, pointwise, register, saved_input, torch_class


@register
class Linear(Op):
    kind = "linear"
    aliases = ("fc", "dense_layer")
    family = "linear"
    doc = "Fully connected layer on a flat input (put `flatten` before it), or on each token of an (N, D) input."
    rules = "needs a flat input (use `flatten`) or tokens (N, D), applied per token; MACs `in·out` (x N per token)"
    fields = (
        Field("out", "int", doc="output features", minimum=1),
        Field("bias", "bool", True, "learn a bias per output"),
    )
    torch_classes = ("torch.nn.Linear",)

    def from_torch(self, module):
        return {"out": module.out_features, "bias": module.bias is not None}
    positional = ("out",)
    mac_counters = ("flop_counter", "fvcore")
    examples = (
        Example((12,), [5]),
        Example((2, 3, 3), {"out": 4, "bias": False}, before=("flatten",)),
        Example((3, 4, 4), [6], before=({"conv": {"out": 5, "kernel": 2, "stride": 2}}, "tokens")),
    )

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) != 2:
            expect_flat(node)
        return (*shape[:-1], node.args["out"])

    def params(self, node):
        out = node.args["out"]
        return node.inputs[0].shape[-1] * out, out if node.args["bias"] else 0

    buffers = none

    def macs(self, node):
        """Per token of a token input: the same weights multiply each of them."""
        return numel(node.inputs[0].shape) * node.args["out"]

    def other_ops(self, node):
        return numel(node.shape) if node.args["bias"] else 0

    receptive_step = pointwise

    def matmul_channels(self, node):
        return (("input features", node.inputs[0].shape[-1]), ("output features", node.args["out"]))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """addmm keeps its input only for the weight gradient (the input gradient needs the weight)."""
        return [saved_input(node)] if trainable else []

    def torch_module(self, node):
        from torch import nn

        return nn.Linear(node.inputs[0].shape[-1], node.args["out"], node.args["bias"])


@register
class RadialBasis(Op):
    kind = "rbf"
    family = "linear"
    doc = (
        "Euclidean radial-basis units (LeNet-5's output layer): squared distance to a "
        "fixed parameter vector per class. Its parameters were set by hand, so they count "
        "as frozen."
    )
    rules = "LeNet-5's Euclidean RBF output; its `in·out` parameters are fixed, so frozen; MACs `in·out`"
    fields = (Field("out", "int", doc="number of classes", minimum=1),)
    positional = ("out",)
    trainable = False
    mac_counters = ("flop_counter", "fvcore")  # its one matrix product
    examples = (Example((10,), [3]),)

    def output_shape(self, node):
        expect_flat(node)
        return (node.args["out"],)

    def params(self, node):
        return node.inputs[0].shape[0] * node.args["out"], 0

    buffers = none

    def macs(self, node):
        return node.inputs[0].shape[0] * node.args["out"]

    def other_ops(self, node):
        """|x - w|² as |x|² - 2 x·w + |w|²: squaring and summing x, then three operations per
        output (adding |w|², doubling x·w, subtracting); |w|² is per network, not per sample."""
        return 2 * node.inputs[0].shape[0] + 3 * node.args["out"]

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """``x.pow(2)`` keeps x; the product with the fixed codes keeps only the codes (parameters)."""
        return [saved_input(node)] if needs_input_grad[0] else []

    def torch_module(self, node):
        return RBF(node.inputs[0].shape[0], node.args["out"])


@torch_class
def RBF(torch, nn, F, math):
    class RBF(nn.Module):
        """LeNet-5's output: per class, the squared Euclidean distance to a fixed vector.

        The vectors were drawn by hand in the paper (7x12 bitmaps of +-1), so they are
        parameters with ``requires_grad=False``: counted as parameters, never trained.
        ``|x - w|^2`` is computed as ``|x|^2 - 2 x.w + |w|^2`` so the work is one
        ``in x out`` matrix product, the multiply-accumulates the analytic rule counts.
        """

        def __init__(self, in_features, out_features):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = nn.Parameter(torch.empty(out_features, in_features), requires_grad=False)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            """Random +-1 codes, the form of the paper's bitmaps."""
            with torch.no_grad():
                self.weight.copy_(torch.randint(0, 2, self.weight.shape).mul_(2).sub_(1))

        def forward(self, x):
            squares = x.pow(2).sum(1, keepdim=True) + self.weight.pow(2).sum(1)
            return squares - 2 * (x @ self.weight.t())

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}"

    return RBF
