"""Pooling: windowed max/average, global and adaptive average, LeNet-5's trainable subsampling."""

from __future__ import annotations

import math

from archcalc.ops.base import (
    Field,
    Op,
    OpError,
    ReceptiveStep,
    OpWarning,
    Saved,
    dropped_pixels,
    expect_image,
    numel,
    register,
    resolve_padding,
    saved_input,
    window_output,
)


class _WindowPool(Op):
    family = "pool"
    fields = (
        Field("kernel", "pair", doc="window size: n or [h, w]", minimum=1),
        Field("stride", "pair", None, "step (defaults to the kernel)", minimum=1),
        Field("padding", "padding", 0, "n, [h, w], 'same' or 'valid'"),
        Field("ceil_mode", "bool", False, "round the output size up, as Caffe and GoogLeNet do"),
    )
    positional = ("kernel", "stride", "padding")

    def output_shape(self, node):
        c, h, w = expect_image(node)
        a = node.args
        if a["stride"] is None:
            a["stride"] = a["kernel"]
        a["pads"] = pads = resolve_padding(node, h, w)
        (kh, kw), (sh, sw) = a["kernel"], a["stride"]
        if max(pads[0], pads[1]) > kh // 2 or max(pads[2], pads[3]) > kw // 2:
            raise OpError(
                f"{self.kind} '{node.name}': padding {list(pads)} (top, bottom, left, right) must be at most "
                f"half the kernel {kh}x{kw}",
                "padding",
            )
        ho = window_output(h, kh, sh, pads[0] + pads[1], 1, a["ceil_mode"], "height", node, pads[0])
        wo = window_output(w, kw, sw, pads[2] + pads[3], 1, a["ceil_mode"], "width", node, pads[2])
        return (c, ho, wo)

    def other_ops(self, node):
        kh, kw = node.args["kernel"]
        return numel(node.shape) * kh * kw

    def receptive_step(self, node):
        return ReceptiveStep(node.args["kernel"], node.args["stride"])

    def warnings(self, node):
        a = node.args
        if not a["ceil_mode"]:
            return dropped_pixels(node, "set `ceil_mode: true` to keep a last, partial window, or pad the input")
        _, h, w = node.inputs[0].shape
        top, bottom, left, right = a["pads"]
        (kh, kw), (sh, sw) = a["kernel"], a["stride"]
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

    def _torch_padding(self, node):
        top, bottom, left, right = node.args["pads"]
        if top != bottom or left != right:
            raise OpError(f"{self.kind} '{node.name}': torch pools pad symmetrically only")
        return (top, left)


@register
class MaxPool(_WindowPool):
    kind = "maxpool"
    aliases = ("max_pool",)
    doc = "Max pooling over a sliding window."

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """max_pool2d_with_indices keeps its input and the int64 index of each maximum."""
        if not needs_input_grad[0]:
            return []
        return [saved_input(node), Saved("indices", node.shape, "int64")]

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.MaxPool2d(a["kernel"], a["stride"], self._torch_padding(node), ceil_mode=a["ceil_mode"])


@register
class AvgPool(_WindowPool):
    kind = "avgpool"
    aliases = ("avg_pool",)
    doc = "Average pooling over a sliding window (padding counted in the average, as in torch)."

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """avg_pool2d's backward takes its input (for the shape and padding), so autograd keeps it."""
        return [saved_input(node)] if needs_input_grad[0] else []

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.AvgPool2d(a["kernel"], a["stride"], self._torch_padding(node), ceil_mode=a["ceil_mode"])


class _GlobalPool(Op):
    family = "pool"

    def output_shape(self, node):
        c, _, _ = expect_image(node)
        return (c, 1, 1)

    def other_ops(self, node):
        return numel(node.inputs[0].shape)

    def receptive_step(self, node):
        _, h, w = node.inputs[0].shape
        return ReceptiveStep((h, w), (h, w))


@register
class GlobalAvgPool(_GlobalPool):
    kind = "global_avgpool"
    aliases = ("gap",)
    doc = "Average over all positions: (C, H, W) -> (C, 1, 1)."

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """Adaptive average pooling to 1x1 runs as ``mean``, which keeps only sizes."""
        return []

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)


@register
class GlobalMaxPool(_GlobalPool):
    kind = "global_maxpool"
    doc = "Maximum over all positions: (C, H, W) -> (C, 1, 1)."

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """adaptive_max_pool2d keeps its input and the int64 index of each maximum."""
        if not needs_input_grad[0]:
            return []
        return [saved_input(node), Saved("indices", node.shape, "int64")]

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveMaxPool2d(1)


@register
class AdaptiveAvgPool(Op):
    kind = "adaptive_avgpool"
    family = "pool"
    doc = "Average pooling to a fixed output size, with torch's bin edges."
    fields = (Field("size", "pair", doc="output size: n or [h, w]", minimum=1),)
    positional = ("size",)

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

    def other_ops(self, node):
        return numel(node.inputs[0].shape)

    def receptive_step(self, node):
        _, h, w = node.inputs[0].shape
        oh, ow = node.args["size"]
        (kh, sh), (kw, sw) = self._bin(h, oh), self._bin(w, ow)
        return ReceptiveStep((kh, kw), (sh, sw))

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """To 1x1 torch takes the mean (keeps nothing); otherwise _adaptive_avg_pool2d keeps its input."""
        if not needs_input_grad[0] or tuple(node.args["size"]) == (1, 1):
            return []
        return [saved_input(node)]

    def torch_module(self, node):
        from torch import nn

        return nn.AdaptiveAvgPool2d(node.args["size"])


@register
class Subsample(Op):
    kind = "subsample"
    family = "pool"
    doc = (
        "LeNet-5's trainable subsampling: the sum over a window times one learnt "
        "coefficient per map, plus one bias per map."
    )
    fields = (
        Field("kernel", "pair", 2, "window size", minimum=1),
        Field("stride", "pair", None, "step (defaults to the kernel)", minimum=1),
    )
    positional = ("kernel", "stride")

    def output_shape(self, node):
        c, h, w = expect_image(node)
        a = node.args
        if a["stride"] is None:
            a["stride"] = a["kernel"]
        (kh, kw), (sh, sw) = a["kernel"], a["stride"]
        return (
            c,
            window_output(h, kh, sh, 0, 1, False, "height", node),
            window_output(w, kw, sw, 0, 1, False, "width", node),
        )

    def params(self, node):
        c = node.shape[0]
        return c, c

    def warnings(self, node):
        return dropped_pixels(node, "give the maps a size the window divides")

    def macs(self, node):
        return numel(node.shape)

    def other_ops(self, node):
        kh, kw = node.args["kernel"]
        return numel(node.shape) * kh * kw

    def receptive_step(self, node):
        return ReceptiveStep(node.args["kernel"], node.args["stride"])

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
        from archcalc.torch import modules

        return modules.Subsample(node.shape[0], node.args["kernel"], node.args["stride"])
