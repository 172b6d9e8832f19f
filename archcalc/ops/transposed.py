"""Transposed convolution (deconvolution): each input position spreads the kernel over the output."""

from __future__ import annotations

from fractions import Fraction

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    expect_image,
    none,
    numel,
    register,
    saved_input,
    window_label,
)


@register
class ConvTranspose(Op):
    kind = "conv_transpose"
    aliases = ("deconv", "convtranspose2d", "conv_transpose2d", "upconv")
    family = "conv"
    doc = "2-D transposed convolution (torch ConvTranspose2d): upsampling by a learnt kernel (DCGAN, U-Net)."
    rules = (
        "output `(H_in−1)·stride − 2·padding + dilation·(k−1) + output_padding + 1` (torch's rule); "
        "MACs `C_in·C_out/groups·k_h·k_w·H_in·W_in` (every input position times the whole kernel, as "
        "fvcore and torch's FlopCounterMode count); receptive field and jump become fractions (jump / stride)"
    )
    fields = (
        Field("out", "int", doc="output channels", minimum=1),
        Field("kernel", "pair", doc="kernel size: n or [h, w]", minimum=1),
        Field("stride", "pair", 1, "upsampling step: n or [h, w]", minimum=1),
        Field("padding", "pair", 0, "rows/columns removed from each side of the full output", minimum=0),
        Field("output_padding", "pair", 0, "rows/columns added at the bottom/right (less than stride or dilation)",
              minimum=0),
        Field("dilation", "pair", 1, "spacing between kernel taps", minimum=1),
        Field("groups", "int", 1, "channel groups", minimum=1),
        Field("bias", "bool", True, "learn a bias per output channel"),
    )
    positional = ("out", "kernel", "stride", "padding")
    mac_counters = ("flop_counter", "fvcore")
    examples = (
        Example((4, 5, 7), {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
        Example((3, 4, 4), {"out": 2, "kernel": 4, "stride": 2, "padding": 1, "bias": False}),
        Example((2, 3, 4), {"out": 3, "kernel": [2, 3], "stride": [3, 1], "dilation": [1, 2]}),
        Example((2, 4, 3), [2, 1, 2]),
        Example((3, 1, 1), {"out": 2, "kernel": 4}),  # DCGAN's first layer: a 1x1 map spread over 4x4
        # After a strided conv the windows are uneven: the receptive field is an upper bound.
        Example((2, 9, 9), {"out": 2, "kernel": 2, "stride": 2}, before=({"conv": {"out": 2, "kernel": 3, "stride": 2}},)),
    )

    def derive(self, node):
        c, _, _ = expect_image(node)
        a = node.args
        for what, count in (("input", c), ("output", a["out"])):
            if count % a["groups"]:
                raise OpError(f"conv_transpose '{node.name}': {what} channels {count} are not divisible by "
                              f"groups={a['groups']}", "groups")
        for axis, (extra, stride, dilation) in enumerate(zip(a["output_padding"], a["stride"], a["dilation"])):
            if extra >= max(stride, dilation):
                raise OpError(f"conv_transpose '{node.name}': output_padding {extra} must be smaller than the "
                              f"stride or the dilation ({max(stride, dilation)}) of the {('height', 'width')[axis]}",
                              "output_padding")
        return None

    def output_shape(self, node):
        _, h, w = node.inputs[0].shape
        a = node.args
        sizes = []
        for axis, size in enumerate((h, w)):
            out = ((size - 1) * a["stride"][axis] - 2 * a["padding"][axis] + a["dilation"][axis] * (a["kernel"][axis] - 1)
                   + a["output_padding"][axis] + 1)
            if out < 1:
                raise OpError(f"conv_transpose '{node.name}': output {('height', 'width')[axis]} would be {out}",
                              "padding")
            sizes.append(out)
        return (a["out"], *sizes)

    def label(self, node):
        return window_label(self.kind, node.args["kernel"], node.args["stride"], node.args["groups"])

    def _weights_per_tap(self, node) -> int:
        return node.inputs[0].shape[0] * node.args["out"] // node.args["groups"]

    def params(self, node):
        kh, kw = node.args["kernel"]
        return self._weights_per_tap(node) * kh * kw, node.args["out"] if node.args["bias"] else 0

    buffers = none

    def macs(self, node):
        _, h, w = node.inputs[0].shape
        kh, kw = node.args["kernel"]
        return self._weights_per_tap(node) * kh * kw * h * w

    def other_ops(self, node):
        return numel(node.shape) if node.args["bias"] else 0

    def receptive_step(self, node):
        """Output position o reads the input positions i with i·stride − padding + j·dilation = o for a
        tap j: the whole numbers in [(o + padding − span + 1) / stride, (o + padding) / stride]."""
        a = node.args
        spans = [d * (k - 1) + 1 for k, d in zip(a["kernel"], a["dilation"])]
        return ReceptiveStep(
            kernel=tuple(Fraction(span - 1, s) + 1 for span, s in zip(spans, a["stride"])),
            stride=tuple(Fraction(1, s) for s in a["stride"]),
            padding=tuple(Fraction(span - 1 - p, s) for span, p, s in zip(spans, a["padding"], a["stride"])),
            exact=a["dilation"] == (1, 1),
        )

    def matmul_channels(self, node):
        a, c = node.args, node.inputs[0].shape[0]
        per = " per group" if a["groups"] > 1 else ""
        return ((f"input channels{per}", c // a["groups"]), (f"output channels{per}", a["out"] // a["groups"]))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Like a convolution, it keeps its input (and its weight, a parameter) for either gradient."""
        if not (any(needs_input_grad) or trainable):
            return []
        return [saved_input(node)]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.ConvTranspose2d(node.inputs[0].shape[0], a["out"], a["kernel"], a["stride"], a["padding"],
                                  a["output_padding"], a["groups"], a["bias"], a["dilation"])
