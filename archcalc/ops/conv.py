"""Convolutions: standard, grouped, depthwise, and LeNet-5's partial connection table."""

from __future__ import annotations

from archcalc.ops.base import (
    Field,
    Op,
    OpError,
    ReceptiveStep,
    Saved,
    dropped_pixels,
    expect_image,
    numel,
    register,
    resolve_padding,
    saved_input,
    window_output,
)

_WINDOW_FIELDS = (
    Field("kernel", "pair", doc="kernel size: n or [h, w]", minimum=1),
    Field("stride", "pair", 1, "step: n or [h, w]", minimum=1),
    Field("padding", "padding", 0, "n, [h, w], 'same' (output = ceil(input / stride)) or 'valid'"),
    Field("dilation", "pair", 1, "spacing between kernel taps", minimum=1),
)


@register
class Conv(Op):
    kind = "conv"
    aliases = ("conv2d",)
    family = "conv"
    doc = "2-D convolution; grouped and depthwise through `groups`, LeNet-5 style partial connections through `table`."
    fields = (
        Field("out", "int", doc="output channels", minimum=1),
        *_WINDOW_FIELDS,
        Field("groups", "int", 1, "channel groups (set to the input channels for depthwise)", minimum=1),
        Field("bias", "bool", True, "learn a bias per output channel"),
        Field(
            "table",
            "table",
            None,
            "for each output channel, the list of input channels it sees (LeNet-5's C3)",
        ),
    )
    positional = ("out", "kernel", "stride", "padding")

    def output_shape(self, node):
        c, h, w = expect_image(node)
        a = node.args
        groups, out = a["groups"], a["out"]
        if a["table"] is not None:
            self._check_table(node, c)
        elif c % groups:
            raise OpError(
                f"conv '{node.name}': input channels {c} are not divisible by groups={groups}",
                "groups",
            )
        elif out % groups:
            raise OpError(
                f"conv '{node.name}': output channels {out} are not divisible by groups={groups}",
                "groups",
            )
        a["pads"] = pads = resolve_padding(node, h, w)
        (kh, kw), (sh, sw), (dh, dw) = a["kernel"], a["stride"], a["dilation"]
        ho = window_output(h, kh, sh, pads[0] + pads[1], dh, False, "height", node, pads[0])
        wo = window_output(w, kw, sw, pads[2] + pads[3], dw, False, "width", node, pads[2])
        return (out, ho, wo)

    def _check_table(self, node, channels: int) -> None:
        table, out = node.args["table"], node.args["out"]
        if node.args["groups"] != 1:
            raise OpError(f"conv '{node.name}': use either `table` or `groups`, not both", "table")
        if len(table) != out:
            raise OpError(
                f"conv '{node.name}': `table` has {len(table)} rows but out is {out}", "table"
            )
        for row, inputs in enumerate(table):
            bad = [i for i in inputs if not 0 <= i < channels]
            if bad or not inputs or len(set(inputs)) != len(inputs):
                raise OpError(
                    f"conv '{node.name}': table row {row} must list distinct input channels "
                    f"0..{channels - 1}, got {list(inputs)}",
                    "table",
                )

    def connections(self, node) -> int:
        """Input channels summed over output channels: the weight count per kernel tap."""
        table = node.args["table"]
        if table is not None:
            return sum(len(row) for row in table)
        return node.args["out"] * node.inputs[0].shape[0] // node.args["groups"]

    def params(self, node):
        kh, kw = node.args["kernel"]
        weights = self.connections(node) * kh * kw
        return weights, node.args["out"] if node.args["bias"] else 0

    def macs(self, node):
        _, ho, wo = node.shape
        kh, kw = node.args["kernel"]
        return ho * wo * self.connections(node) * kh * kw

    def other_ops(self, node):
        return numel(node.shape) if node.args["bias"] else 0

    def receptive_step(self, node):
        (kh, kw), (dh, dw) = node.args["kernel"], node.args["dilation"]
        return ReceptiveStep((dh * (kh - 1) + 1, dw * (kw - 1) + 1), node.args["stride"])

    def warnings(self, node):
        return dropped_pixels(node, "pad so that the windows cover the input (`padding: same`, or `padding: 1` "
                                    "for a 3x3 stride-2 conv), or crop it first to mean it")

    def matmul_channels(self, node):
        """Per group; depthwise convolutions and connection tables do not run as matrix products."""
        a, c = node.args, node.inputs[0].shape[0]
        if a["table"] is not None or a["groups"] == c:
            return ()
        per = " per group" if a["groups"] > 1 else ""
        return ((f"input channels{per}", c // a["groups"]), (f"output channels{per}", a["out"] // a["groups"]))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """torch's convolution keeps its input (and its weight, a parameter) for either gradient.

        Asymmetric padding runs as a separate zero pad, so the padded copy is what
        the convolution keeps. A connection table gathers each group of rows' input
        channels (``x[:, sources]``, whose index keeps its int64 indices when the
        input needs a gradient) and convolves the gathered copy, which it keeps;
        when the rows are regrouped out of order, one more index puts them back.
        """
        if not (any(needs_input_grad) or trainable):
            return []
        a = node.args
        c, h, w = node.inputs[0].shape
        top, bottom, left, right = a["pads"]
        padded = (c, h + top + bottom, w + left + right)
        if a["table"] is None:
            if top == bottom and left == right:
                return [saved_input(node)]
            return [Saved("padded input", padded)]
        by_fan_in: dict[int, list[int]] = {}
        for row, inputs in enumerate(a["table"]):
            by_fan_in.setdefault(len(inputs), []).append(row)
        saved: list[Saved] = []
        order = []
        for fan_in, rows in sorted(by_fan_in.items()):
            sources = fan_in * len(rows)
            if needs_input_grad[0]:
                saved.append(Saved(f"gather indices ({fan_in}-input rows)", (sources,), "int64", per_sample=False))
            saved.append(Saved(f"gathered input ({fan_in}-input rows)", (sources, padded[1], padded[2])))
            order += rows
        if order != sorted(order):
            saved.append(Saved("reorder indices", (len(order),), "int64", per_sample=False))
        return saved

    def torch_module(self, node):
        from torch import nn

        from archcalc.torch import modules

        a = node.args
        cin = node.inputs[0].shape[0]
        top, bottom, left, right = a["pads"]
        if a["table"] is not None:
            conv = modules.TableConv2d(a["table"], a["kernel"], a["stride"], a["dilation"], a["bias"])
        else:
            symmetric = top == bottom and left == right
            conv = nn.Conv2d(
                cin,
                a["out"],
                a["kernel"],
                a["stride"],
                (top, left) if symmetric else 0,
                a["dilation"],
                a["groups"],
                a["bias"],
            )
            if symmetric:
                return conv
        if any(a["pads"]):
            return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
        return conv


@register
class DepthwiseConv(Conv):
    kind = "dwconv"
    aliases = ()
    doc = "Depthwise convolution: one filter per input channel (`multiplier` filters each)."
    fields = (
        *_WINDOW_FIELDS,
        Field("multiplier", "int", 1, "filters per input channel", minimum=1),
        Field("bias", "bool", True, "learn a bias per output channel"),
    )
    positional = ("kernel", "stride", "padding")

    def output_shape(self, node):
        c = expect_image(node)[0]
        node.args.update(out=c * node.args["multiplier"], groups=c, table=None)
        return super().output_shape(node)
