"""Pooling: windowed max/average, global and adaptive average, LeNet-5's trainable subsampling."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    OpWarning,
    REQUIRED,
    Saved,
    Window,
    bind_call,
    dropped_pixels,
    expect_image,
    keeps_nothing,
    no_params,
    none,
    numel,
    register,
    resolve_padding,
    saved_input,
    torch_pair,
    torch_class,
    window_label,
    window_output,
)


class _WindowPool(Op):
    family = "pool"
    rules = "torch's output rule, ceil mode included; padding at most half the kernel; other ops: the window per output"
    fields = (
        Field("kernel", "pair", doc="window size: n or [h, w]", minimum=1),
        Field("stride", "pair", None, "step (defaults to the kernel)", minimum=1),
        Field("padding", "padding", 0, "n, [h, w], 'same' or 'valid'"),
        Field("ceil_mode", "bool", False, "round the output size up, as Caffe and GoogLeNet do"),
    )
    positional = ("kernel", "stride", "padding")
    examples = (
        Example((3, 9, 9), {"kernel": 3, "stride": 2, "padding": 1}),
        Example((2, 8, 7), {"kernel": [3, 2], "stride": 2, "ceil_mode": True}),
        Example((2, 6, 6), [2]),
    )

    def derive(self, node):
        _, h, w = expect_image(node)
        a = node.args
        stride = a["kernel"] if a["stride"] is None else a["stride"]
        pads = resolve_padding(a["padding"], a["kernel"], stride, (1, 1), h, w)
        kh, kw = a["kernel"]
        if max(pads[0], pads[1]) > kh // 2 or max(pads[2], pads[3]) > kw // 2:
            raise OpError(
                f"{self.kind} '{node.name}': padding {list(pads)} (top, bottom, left, right) must be at most "
                f"half the kernel {kh}x{kw}",
                "padding",
            )
        return Window(stride, pads)

    def output_shape(self, node):
        c, h, w = node.inputs[0].shape
        a, g = node.args, node.derived
        (kh, kw), (sh, sw), pads = a["kernel"], g.stride, g.pads
        ho = window_output(h, kh, sh, pads[0] + pads[1], 1, a["ceil_mode"], "height", node, pads[0])
        wo = window_output(w, kw, sw, pads[2] + pads[3], 1, a["ceil_mode"], "width", node, pads[2])
        return (c, ho, wo)

    params = no_params
    buffers = none
    macs = none

    def other_ops(self, node):
        kh, kw = node.args["kernel"]
        return numel(node.shape) * kh * kw

    def receptive_step(self, node):
        g = node.derived
        return ReceptiveStep(node.args["kernel"], g.stride, (g.pads[0], g.pads[2]))

    def label(self, node):
        return window_label(self.kind, node.args["kernel"], node.derived.stride)

    def warnings(self, node):
        a, g = node.args, node.derived
        if not a["ceil_mode"]:
            return dropped_pixels(node, "set `ceil_mode: true` to keep a last, partial window, or pad the input")
        _, h, w = node.inputs[0].shape
        top, bottom, left, right = g.pads
        (kh, kw), (sh, sw) = a["kernel"], g.stride
        rounded_up = (-(-(h + top + bottom - kh) // sh) + 1, -(-(w + left + right - kw) // sw) + 1)
        if rounded_up == node.shape[1:]:
            return []
        return [OpWarning(
            "ceil-padding",
            f"{self.kind} '{node.name}': with ceil_mode the last window would start in the padding, so torch "
            f"leaves it out: the output is {node.shape[1]}x{node.shape[2]}, not the "
            f"{rounded_up[0]}x{rounded_up[1]} that rounding up gives (and Caffe computes)",
            "lower the padding so that every window starts inside the input, or check the output size you port",
        )]

    # torch.nn.functional's arguments after the input, in order, with their defaults (bind_call).
    call_arguments: dict[str, Any] = {}

    def from_torch_call(self, name, constants, kwargs):
        """F.max_pool2d / F.avg_pool2d: the same arguments as the module's, read the same way."""
        bound = bind_call(self.call_arguments, constants, kwargs)
        return None if bound is None else self.from_torch(SimpleNamespace(**bound))

    def from_torch(self, module):
        if getattr(module, "dilation", 1) not in (1, (1, 1)) or getattr(module, "return_indices", False) \
                or not getattr(module, "count_include_pad", True) or getattr(module, "divisor_override", None):
            return None
        stride = module.stride if module.stride is not None else module.kernel_size
        return {"kernel": torch_pair(module.kernel_size), "stride": torch_pair(stride),
                "padding": torch_pair(module.padding), "ceil_mode": bool(module.ceil_mode)}

    def _torch_padding(self, node):
        g = node.derived
        if not g.symmetric:
            raise OpError(f"{self.kind} '{node.name}': torch pools pad symmetrically only")
        return (g.pads[0], g.pads[2])


@register
class MaxPool(_WindowPool):
    kind = "maxpool"
    aliases = ("max_pool",)
    doc = "Max pooling over a sliding window."
    torch_classes = ("torch.nn.MaxPool2d",)
    torch_functions = ("max_pool2d",)
    call_arguments = {"kernel_size": REQUIRED, "stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                      "return_indices": False}

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """max_pool2d_with_indices keeps its input and the int64 index of each maximum."""
        if not needs_input_grad[0]:
            return []
        return [saved_input(node), Saved("indices", node.shape, "int64")]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.MaxPool2d(a["kernel"], node.derived.stride, self._torch_padding(node), ceil_mode=a["ceil_mode"])


@register
class AvgPool(_WindowPool):
    kind = "avgpool"
    aliases = ("avg_pool",)
    doc = "Average pooling over a sliding window (padding counted in the average, as in torch)."
    torch_classes = ("torch.nn.AvgPool2d",)
    torch_functions = ("avg_pool2d",)
    call_arguments = {"kernel_size": REQUIRED, "stride": None, "padding": 0, "ceil_mode": False,
                      "count_include_pad": True, "divisor_override": None}

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """avg_pool2d's backward takes its input (for the shape and padding), so autograd keeps it."""
        return [saved_input(node)] if needs_input_grad[0] else []

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.AvgPool2d(a["kernel"], node.derived.stride, self._torch_padding(node), ceil_mode=a["ceil_mode"])


# F.adaptive_avg_pool2d's arguments after the input (bind_call).
_ADAPTIVE_CALL = {"output_size": REQUIRED}


class _GlobalPool(Op):
    family = "pool"
    rules = "(C, H, W) → (C, 1, 1); other ops: one per input element; its receptive field is the whole input"
    examples = (Example((3, 5, 4)),)

    def output_shape(self, node):
        c, _, _ = expect_image(node)
        return (c, 1, 1)

    params = no_params
    buffers = none
    macs = none

    def other_ops(self, node):
        return numel(node.inputs[0].shape)

    def receptive_step(self, node):
        _, h, w = node.inputs[0].shape
        return ReceptiveStep((h, w), (h, w))


@register
class GlobalAvgPool(_GlobalPool):
    kind = "global_avgpool"
    aliases = ("gap",)
    doc = "Average over all positions: (C, H, W) -> (C, 1, 1), or (C,) without `keepdim` (as x.mean([2, 3]))."
    rules = ("(C, H, W) → (C, 1, 1), (C,) with `keepdim: false`; other ops: one per input element; its receptive "
             "field is the whole input")
    fields = (Field("keepdim", "bool", True, "keep the 1x1 positions; false gives a flat (C,), as x.mean([2, 3])"),)
    examples = (Example((3, 5, 4)), Example((4, 3, 3), {"keepdim": False}, before=({"conv": {"out": 4, "kernel": 1}},)))

    def output_shape(self, node):
        c, _, _ = expect_image(node)
        return (c, 1, 1) if node.args["keepdim"] else (c,)

    # Adaptive average pooling to 1x1 runs as ``mean``, which keeps only sizes.
    saved_for_backward = keeps_nothing

    torch_classes = ("torch.nn.AdaptiveAvgPool2d",)
    torch_functions = ("adaptive_avg_pool2d", "mean")

    def from_torch(self, module):
        return {} if torch_pair(module.output_size) == 1 else None

    def from_torch_call(self, name, constants, kwargs):
        """``x.mean([2, 3])`` (keepdim as given), or ``F.adaptive_avg_pool2d(x, 1)``."""
        if name == "mean":
            a = bind_call({"dim": REQUIRED, "keepdim": False, "dtype": None}, constants, kwargs)
            spatial = a is not None and isinstance(a["dim"], (list, tuple)) and sorted(a["dim"]) in ([2, 3], [-2, -1])
            return {"keepdim": bool(a["keepdim"])} if spatial and a["dtype"] is None else None
        a = bind_call(_ADAPTIVE_CALL, constants, kwargs)
        return {} if a is not None and torch_pair(a["output_size"]) == 1 else None

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1) if node.args["keepdim"] else SpatialMean()


@torch_class
def SpatialMean(torch, nn, F, math):
    class SpatialMean(nn.Module):
        """(B, C, H, W) -> (B, C): the mean over positions, as MNASNet's and ShuffleNetV2's x.mean([2, 3])."""

        def forward(self, x):
            return x.mean([2, 3])

    return SpatialMean


@register
class GlobalMaxPool(_GlobalPool):
    kind = "global_maxpool"
    doc = "Maximum over all positions: (C, H, W) -> (C, 1, 1)."

    torch_classes = ("torch.nn.AdaptiveMaxPool2d",)
    torch_functions = ("adaptive_max_pool2d",)

    def from_torch(self, module):
        return {} if torch_pair(module.output_size) == 1 else None

    def from_torch_call(self, name, constants, kwargs):
        size = [*constants, *kwargs.values()]
        return {} if len(size) == 1 and torch_pair(size[0]) == 1 else None

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """adaptive_max_pool2d keeps its input and the int64 index of each maximum."""
        if not needs_input_grad[0]:
            return []
        return [saved_input(node), Saved("indices", node.shape, "int64")]

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveMaxPool2d(1)


def _bins_read(size: int, out: int) -> int:
    """Input positions torch's ``out`` bins over ``size`` read in all: their widths sum to
    ``size + out - gcd(size, out)`` (bins overlap when ``out`` does not divide ``size``)."""
    return size + out - math.gcd(size, out)


@register
class AdaptiveAvgPool(Op):
    kind = "adaptive_avgpool"
    family = "pool"
    doc = "Average pooling to a fixed output size, with torch's bin edges."
    rules = (
        "(C, H, W) → (C, size) with torch's bins; other ops: the width of every bin; the receptive field is "
        "exact when `size` divides the input, else the widest bin placed on a regular grid, an upper bound"
    )
    fields = (Field("size", "pair", doc="output size: n or [h, w]", minimum=1),)
    positional = ("size",)
    examples = (Example((2, 8, 6), [[4, 3]]), Example((2, 7, 5), [3]), Example((2, 6, 6), [1]),
                Example((2, 2, 3), [[6, 5]]))  # growing the map, as a torchvision head does on a small input

    torch_classes = ("torch.nn.AdaptiveAvgPool2d",)
    torch_functions = ("adaptive_avg_pool2d",)

    def from_torch(self, module):
        size = module.output_size
        return None if size is None or (isinstance(size, tuple) and None in size) else {"size": torch_pair(size)}

    def from_torch_call(self, name, constants, kwargs):
        a = bind_call(_ADAPTIVE_CALL, constants, kwargs)
        return None if a is None else self.from_torch(SimpleNamespace(**a))

    def output_shape(self, node):
        c, _, _ = expect_image(node)
        oh, ow = node.args["size"]
        return (c, oh, ow)

    @staticmethod
    def _bin(size: int, out: int) -> tuple[int, int]:
        """(widest bin, step) of torch's bins [floor(i*size/out), ceil((i+1)*size/out)).

        Bin i is ceil((r + size) / out) wide with r = i*size mod out, and r reaches
        out - gcd(size, out) at most: a closed form, since ``out`` may be huge.
        """
        widest = -(-(out - math.gcd(size, out) + size) // out)
        return widest, max(size // out, 1)

    params = no_params
    buffers = none
    macs = none

    def other_ops(self, node):
        c, h, w = node.inputs[0].shape
        oh, ow = node.args["size"]
        return c * _bins_read(h, oh) * _bins_read(w, ow)

    def receptive_step(self, node):
        _, h, w = node.inputs[0].shape
        oh, ow = node.args["size"]
        (kh, sh, ph), (kw, sw, pw) = self._axis(h, oh), self._axis(w, ow)
        return ReceptiveStep((kh, kw), (sh, sw), (ph, pw), exact=h % oh == 0 and w % ow == 0)

    @classmethod
    def _axis(cls, size: int, out: int) -> tuple:
        """(kernel, stride, padding) of one axis. Growing the map (out > size), bin i spans
        [floor(i·size/out), ceil((i+1)·size/out)): within (out-1)/out of i·size/out on either
        side, a fractional window that holds it."""
        if out <= size:
            return (*cls._bin(size, out), 0)
        from fractions import Fraction  # only growing maps need it: fractions costs start-up time

        step, slack = Fraction(size, out), Fraction(out - 1, out)
        return step + 2 * slack, step, slack

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """To 1x1 torch takes the mean (keeps nothing); otherwise _adaptive_avg_pool2d keeps its input."""
        if not needs_input_grad[0] or tuple(node.args["size"]) == (1, 1):
            return []
        return [saved_input(node)]

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(node.args["size"])


@register
class Subsampling(Op):
    kind = "subsample"
    family = "pool"
    doc = (
        "LeNet-5's trainable subsampling: the sum over a window times one learnt "
        "coefficient per map, plus one bias per map."
    )
    rules = "LeNet-5's S layers: 2C params; MACs one per output (the coefficient), other ops the window sum"
    fields = (
        Field("kernel", "pair", 2, "window size", minimum=1),
        Field("stride", "pair", None, "step (defaults to the kernel)", minimum=1),
    )
    positional = ("kernel", "stride")
    # Its module scales an average pool, an elementwise product no counter files as a MAC.
    mac_counters = ()
    examples = (Example((3, 8, 8)), Example((2, 7, 9), {"kernel": 3, "stride": 2}))

    def derive(self, node):
        expect_image(node)
        a = node.args
        return Window(a["kernel"] if a["stride"] is None else a["stride"], (0, 0, 0, 0))

    def output_shape(self, node):
        c, h, w = node.inputs[0].shape
        (kh, kw), (sh, sw) = node.args["kernel"], node.derived.stride
        return (
            c,
            window_output(h, kh, sh, 0, 1, False, "height", node),
            window_output(w, kw, sw, 0, 1, False, "width", node),
        )

    def params(self, node):
        c = node.shape[0]
        return c, c

    buffers = none

    def warnings(self, node):
        return dropped_pixels(node, "give the maps a size the window divides")

    def macs(self, node):
        return numel(node.shape)

    def other_ops(self, node):
        """The window sum (read as an average pool) and the bias add; the coefficient is the MAC."""
        kh, kw = node.args["kernel"]
        return numel(node.shape) * (kh * kw + 1)

    def receptive_step(self, node):
        return ReceptiveStep(node.args["kernel"], node.derived.stride)

    def label(self, node):
        return window_label(self.kind, node.args["kernel"], node.derived.stride)

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Average pooling keeps the input; ``pooled * (area * weight)`` keeps the pooled map for
        the coefficient's gradient and the per-map scale for the input's."""
        saved = []
        if needs_input_grad[0]:
            saved += [saved_input(node), Saved("scale", (node.shape[0],), per_sample=False)]
        if trainable:
            saved.append(Saved("pooled", node.shape))
        return saved

    def torch_module(self, node):
        return Subsample(node.shape[0], node.args["kernel"], node.derived.stride)


@torch_class
def Subsample(torch, nn, F, math):
    class Subsample(nn.Module):
        """LeNet-5's subsampling: the sum over each window times one coefficient per map, plus one bias.

        Written as average pooling scaled by the window area, so it costs one multiply per
        output value (the analytic MACs) and holds exactly two parameters per map.
        """

        def __init__(self, channels, kernel_size=2, stride=None):
            super().__init__()
            self.channels = channels
            self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
            stride = self.kernel_size if stride is None else stride
            self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
            self.weight = nn.Parameter(torch.empty(channels))
            self.bias = nn.Parameter(torch.empty(channels))
            self.reset_parameters()

        def reset_parameters(self) -> None:
            """LeCun et al. 1998 (appendix C): uniform in +-2.4 / fan_in; the bias starts at zero."""
            fan_in = self.kernel_size[0] * self.kernel_size[1]
            nn.init.uniform_(self.weight, -2.4 / fan_in, 2.4 / fan_in)
            nn.init.zeros_(self.bias)

        def forward(self, x):
            area = self.kernel_size[0] * self.kernel_size[1]
            pooled = F.avg_pool2d(x, self.kernel_size, self.stride)
            return pooled * (area * self.weight).view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    return Subsample
