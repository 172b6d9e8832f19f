"""Normalisation: batch normalisation and AlexNet's local response normalisation."""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    Saved,
    no_params,
    none,
    numel,
    pointwise,
    register,
    saved_input,
)


@register
class BatchNorm(Op):
    kind = "batchnorm"
    aliases = ("bn",)
    family = "norm"
    doc = (
        "Batch normalisation over channels (or features of a flat input). Buffers are the "
        "running mean and variance plus torch's one-element batch counter."
    )
    rules = "2C params, 2C+1 buffers (running mean, variance, batch counter); other ops 2 per element"
    fields = (
        Field("eps", "float", 1e-5, "added to the variance", minimum=0),
        Field("momentum", "float", 0.1, "running-statistics momentum", minimum=0),
        Field("affine", "bool", True, "learn a scale and a shift per channel"),
    )
    shortcut_norm = True
    examples = (Example((3, 5, 4)), Example((6,), {"affine": False, "eps": 1e-3}))

    torch_classes = ("torch.nn.BatchNorm2d", "torch.nn.BatchNorm1d")

    def from_torch(self, module):
        if module.momentum is None or not module.track_running_stats:
            return None
        return {"eps": float(module.eps), "momentum": float(module.momentum), "affine": bool(module.affine)}

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) not in (1, 3):
            raise OpError(f"batchnorm '{node.name}' expects (C, H, W) or (features,) input")
        return shape

    def params(self, node):
        c = node.shape[0]
        return (c, c) if node.args["affine"] else (0, 0)

    def buffers(self, node):
        return 2 * node.shape[0] + 1

    macs = none

    def other_ops(self, node):
        return 2 * numel(node.shape)

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Training-mode batch norm keeps its input and the batch mean and inverse std per channel."""
        if not (any(needs_input_grad) or trainable):
            return []
        c = node.shape[0]
        return [
            saved_input(node),
            Saved("save_mean", (c,), "stat", per_sample=False),
            Saved("save_invstd", (c,), "stat", per_sample=False),
        ]

    def torch_module(self, node):
        from torch import nn

        cls = nn.BatchNorm2d if len(node.shape) == 3 else nn.BatchNorm1d
        a = node.args
        return cls(node.shape[0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"])


@register
class LocalResponseNorm(Op):
    kind = "lrn"
    family = "norm"
    doc = "Local response normalisation across `size` neighbouring channels (AlexNet: size 5, k 2)."
    rules = "AlexNet's local response normalisation; no params; other ops `size + 5` per element"
    fields = (
        Field("size", "int", 5, "channels in the window", minimum=1),
        Field("alpha", "float", 1e-4, "scale"),
        Field("beta", "float", 0.75, "exponent"),
        Field("k", "float", 1.0, "additive constant (AlexNet uses 2)"),
    )
    positional = ("size",)
    examples = (Example((6, 4, 3), [3]), Example((4, 3, 3), {"size": 5, "k": 2.0}))

    torch_classes = ("torch.nn.LocalResponseNorm",)

    def from_torch(self, module):
        return {"size": module.size, "alpha": float(module.alpha), "beta": float(module.beta), "k": float(module.k)}

    def output_shape(self, node):
        shape = node.inputs[0].shape
        if len(shape) != 3:
            raise OpError(f"lrn '{node.name}' expects a 3-D input (C, H, W)")
        return shape

    params = no_params
    buffers = none
    macs = none

    def other_ops(self, node):
        """Per element: the square, the window of ``size`` squares, then scale, add ``k``, power, divide."""
        return numel(node.shape) * (node.args["size"] + 5)

    receptive_step = pointwise

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """torch's local_response_norm is composite: it keeps the input, the zero-padded squares
        (the average pool's input, ``size - 1`` channels longer), and the input and output of
        ``pow(beta)`` (the divisor)."""
        if not needs_input_grad[0]:
            return []
        c, h, w = node.shape
        return [
            saved_input(node),
            Saved("padded squares", (c + node.args["size"] - 1, h, w)),
            Saved("k + alpha * mean of squares", (c, h, w)),
            Saved("divisor", (c, h, w)),
        ]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"])
