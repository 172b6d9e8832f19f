"""Convolutions: standard, grouped, depthwise, and LeNet-5's partial connection table."""

from __future__ import annotations

from collections import namedtuple

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    Saved,
    Window,
    dropped_pixels,
    expect_image,
    none,
    numel,
    register,
    resolve_padding,
    saved_input,
    torch_class,
    torch_pair,
    window_label,
    window_output,
)

_WINDOW_FIELDS = (
    Field("kernel", "pair", doc="kernel size: n or [h, w]", minimum=1),
    Field("stride", "pair", 1, "step: n or [h, w]", minimum=1),
    Field("padding", "padding", 0, "n, [h, w], 'same' (output = ceil(input / stride)) or 'valid'"),
    Field("dilation", "pair", 1, "spacing between kernel taps", minimum=1),
)


class ConvGeometry(namedtuple("ConvGeometry", "stride pads out groups table", defaults=(0, 1, None))):
    """A convolution's resolved arguments: its :class:`Window`, and ``out`` and ``groups``, which a
    depthwise one derives."""

    __slots__ = ()
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    out: int
    groups: int
    table: tuple[tuple[int, ...], ...] | None

    symmetric = Window.symmetric


@register
class Conv(Op):
    kind = "conv"
    aliases = ("conv2d",)
    family = "conv"
    doc = "2-D convolution; grouped and depthwise through `groups`, LeNet-5 style partial connections through `table`."
    rules = (
        "MACs `H_out·W_out·C_out·k_h·k_w·C_in/groups`; `same` pads like TensorFlow (output = ceil(input/stride), "
        "extra padding at the end); a `table` row lists the input channels of one output channel"
    )
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
    mac_counters = ("flop_counter", "fvcore")
    torch_classes = ("torch.nn.Conv2d",)
    examples = (
        Example((3, 9, 9), {"out": 4, "kernel": 3, "stride": 2, "padding": 1}),
        Example((4, 8, 7), {"out": 6, "kernel": [3, 2], "padding": "same", "stride": 2, "dilation": [1, 2],
                            "groups": 2, "bias": False}),
        Example((3, 7, 7), {"out": 3, "kernel": 3, "padding": 1, "table": [[0, 1], [2], [1, 2]]}),
        Example((4, 6, 6), {"out": 2, "kernel": 2, "padding": "same", "table": [[0, 3], [1, 2]]}),
    )

    def derive(self, node):
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
        return self._geometry(node, h, w, out, groups, a["table"])

    @staticmethod
    def _geometry(node, h, w, out, groups, table) -> ConvGeometry:
        a = node.args
        pads = resolve_padding(a["padding"], a["kernel"], a["stride"], a["dilation"], h, w)
        return ConvGeometry(a["stride"], pads, out, groups, table)

    def output_shape(self, node):
        _, h, w = node.inputs[0].shape
        g = node.derived
        (kh, kw), (sh, sw), (dh, dw) = node.args["kernel"], g.stride, node.args["dilation"]
        ho = window_output(h, kh, sh, g.pads[0] + g.pads[1], dh, False, "height", node, g.pads[0])
        wo = window_output(w, kw, sw, g.pads[2] + g.pads[3], dw, False, "width", node, g.pads[2])
        return (g.out, ho, wo)

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

    def label(self, node):
        return window_label(self.kind, node.args["kernel"], node.derived.stride, node.derived.groups)

    def from_torch(self, module):
        if module.padding_mode != "zeros":
            return None
        padding = module.padding if isinstance(module.padding, str) else torch_pair(module.padding)
        return {"out": module.out_channels, "kernel": torch_pair(module.kernel_size),
                "stride": torch_pair(module.stride), "padding": padding, "dilation": torch_pair(module.dilation),
                "groups": module.groups, "bias": module.bias is not None}

    def connections(self, node) -> int:
        """Input channels summed over output channels: the weight count per kernel tap."""
        g = node.derived
        if g.table is not None:
            return sum(len(row) for row in g.table)
        return g.out * node.inputs[0].shape[0] // g.groups

    def params(self, node):
        kh, kw = node.args["kernel"]
        weights = self.connections(node) * kh * kw
        return weights, node.derived.out if node.args["bias"] else 0

    buffers = none

    def macs(self, node):
        _, ho, wo = node.shape
        kh, kw = node.args["kernel"]
        return ho * wo * self.connections(node) * kh * kw

    def other_ops(self, node):
        return numel(node.shape) if node.args["bias"] else 0

    def receptive_step(self, node):
        (kh, kw), (dh, dw) = node.args["kernel"], node.args["dilation"]
        g = node.derived
        # A dilated kernel reads every d-th position of its span: the span is its window's hull,
        # which at a border may start in a gap, so it is an upper bound there.
        return ReceptiveStep((dh * (kh - 1) + 1, dw * (kw - 1) + 1), g.stride, (g.pads[0], g.pads[2]),
                             exact=(dh, dw) == (1, 1))

    def warnings(self, node):
        return dropped_pixels(node, "pad so that the windows cover the input (`padding: same`, or `padding: 1` "
                                    "for a 3x3 stride-2 conv), or crop it first to mean it")

    def matmul_channels(self, node):
        """Per group; depthwise convolutions and connection tables do not run as matrix products."""
        g, c = node.derived, node.inputs[0].shape[0]
        if g.table is not None or g.groups == c:
            return ()
        per = " per group" if g.groups > 1 else ""
        return ((f"input channels{per}", c // g.groups), (f"output channels{per}", g.out // g.groups))

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
        g = node.derived
        c, h, w = node.inputs[0].shape
        top, bottom, left, right = g.pads
        padded = (c, h + top + bottom, w + left + right)
        if g.table is None:
            if g.symmetric:
                return [saved_input(node)]
            return [Saved("padded input", padded)]
        by_fan_in: dict[int, list[int]] = {}
        for row, inputs in enumerate(g.table):
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

        a, g = node.args, node.derived
        cin = node.inputs[0].shape[0]
        top, bottom, left, right = g.pads
        if g.table is not None:
            conv = TableConv2d(g.table, a["kernel"], g.stride, a["dilation"], a["bias"])
        else:
            conv = nn.Conv2d(
                cin,
                g.out,
                a["kernel"],
                g.stride,
                (top, left) if g.symmetric else 0,
                a["dilation"],
                g.groups,
                a["bias"],
            )
            if g.symmetric:
                return conv
        if any(g.pads):
            return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
        return conv


@register
class DepthwiseConv(Conv):
    kind = "dwconv"
    aliases = ()
    torch_classes = ()  # an imported depthwise Conv2d is a `conv` with its `groups`
    doc = "Depthwise convolution: one filter per input channel (`multiplier` filters each)."
    rules = "`groups` = input channels, `out` = input channels × multiplier; counted as `conv`"
    fields = (
        *_WINDOW_FIELDS,
        Field("multiplier", "int", 1, "filters per input channel", minimum=1),
        Field("bias", "bool", True, "learn a bias per output channel"),
    )
    positional = ("kernel", "stride", "padding")
    examples = (
        Example((4, 8, 8), {"kernel": 3, "stride": 2, "padding": "same", "multiplier": 2}),
        Example((3, 7, 7), [3]),
    )

    def derive(self, node):
        c, h, w = expect_image(node)
        return self._geometry(node, h, w, c * node.args["multiplier"], c, None)


@torch_class
def TableConv2d(torch, nn, F, math):
    class TableConv2d(nn.Module):
        """LeNet-5's C3: output channel ``o`` convolves only the input channels ``table[o]``.

        Parameters are exactly ``sum(len(row)) * kh * kw`` weights plus one bias per output.
        Rows with the same number of inputs run together as one grouped convolution over
        the gathered channels, so a counter sees ``len(row) * kh * kw`` MACs per output
        position of each row, as the analytic rule counts. Padding is not an argument:
        the builder puts a ``ZeroPad2d`` in front when the spec asks for it.
        """

        def __init__(self, table, kernel_size, stride=1, dilation=1, bias=True):
            super().__init__()
            self.table = [[int(c) for c in row] for row in table]
            self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
            self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
            self.dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
            by_fan_in: dict[int, list[int]] = {}
            for row, inputs in enumerate(self.table):
                by_fan_in.setdefault(len(inputs), []).append(row)
            # Output channels of each group, and the input channels it gathers (row after row).
            self.rows = [rows for _, rows in sorted(by_fan_in.items())]
            self.sources = [[c for r in rows for c in self.table[r]] for rows in self.rows]
            kh, kw = self.kernel_size
            self.weights = nn.ParameterList(
                nn.Parameter(torch.empty(len(rows), len(self.table[rows[0]]), kh, kw)) for rows in self.rows
            )
            self.bias = nn.Parameter(torch.empty(len(self.table))) if bias else None
            order = [r for rows in self.rows for r in rows]
            # Position of each output channel in the concatenated group outputs; None when in order.
            self.order = None if order == sorted(order) else sorted(range(len(order)), key=order.__getitem__)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            """Uniform in +-1/sqrt(fan_in) per row, torch's Conv2d default for its fan-in."""
            kh, kw = self.kernel_size
            for weight in self.weights:
                bound = 1 / math.sqrt(weight.shape[1] * kh * kw)
                nn.init.uniform_(weight, -bound, bound)
            if self.bias is not None:
                fan_in = sum(len(row) for row in self.table) * kh * kw / len(self.table)
                nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

        def forward(self, x):
            parts = [
                F.conv2d(x[:, sources], weight, None, self.stride, 0, self.dilation, len(rows))
                for rows, sources, weight in zip(self.rows, self.sources, self.weights)
            ]
            y = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
            if self.order is not None:
                y = y[:, self.order]
            if self.bias is not None:
                y = y + self.bias.view(1, -1, 1, 1)
            return y

        def extra_repr(self) -> str:
            return (
                f"{len(self.table)} outputs from a table of {sum(map(len, self.table))} connections, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, bias={self.bias is not None}"
            )

    return TableConv2d
