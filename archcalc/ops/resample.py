"""Resampling without learnt weights: interpolation (upsample) and the pixel (un)shuffle."""

from __future__ import annotations

import math
from fractions import Fraction

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    describe,
    expect_image,
    keeps_nothing,
    no_params,
    bind_call,
    none,
    numel,
    register,
    torch_pair,
)

# Input elements one output element of each mode blends: its other ops per output element
# (fvcore counts bilinear so too).
_TAPS = {"nearest": 1, "bilinear": 4, "bicubic": 16}
# Half the width of the taps' support: the positions i with |i - source| < reach are read.
_REACH = {"bilinear": 1, "bicubic": 2}


class _Resample(Op):
    family = "resample"
    params = no_params
    buffers = none
    macs = none
    # Its backward needs only the sizes.
    saved_for_backward = keeps_nothing


@register
class Upsample(_Resample):
    kind = "upsample"
    aliases = ("interpolate", "resize")
    doc = "Interpolation to a new size (torch nn.Upsample / F.interpolate): nearest, bilinear or bicubic."
    rules = (
        "output `floor(input·scale)` or `size` (torch's rule); no params, no MACs; other ops per output "
        "element: the input elements it blends (nearest 1, bilinear 4, bicubic 16); the receptive field is "
        "exact for power-of-two ratios without `align_corners`, an upper bound otherwise"
    )
    fields = (
        Field("scale", "float", None, "multiplier of the height and width (give `scale` or `size`)", minimum=0),
        Field("size", "pair", None, "output height and width: n or [h, w]", minimum=1),
        Field("mode", "choice", "nearest", "interpolation", choices=tuple(_TAPS)),
        Field("align_corners", "bool", False, "map the corner pixels onto each other (bilinear, bicubic)"),
    )
    positional = ("scale", "mode")
    examples = (
        Example((2, 3, 4), [2]),
        Example((2, 4, 3), {"scale": 2, "mode": "bilinear"}),
        Example((2, 3, 3), {"scale": 4, "mode": "bicubic"}),
        Example((2, 5, 6), {"size": [9, 7], "mode": "bilinear", "align_corners": True}),
        Example((2, 8, 6), {"scale": 0.5, "mode": "bilinear"}),
        Example((2, 4, 5), {"size": [12, 7]}),
        Example((1, 3, 4), {"scale": 1.5, "mode": "bicubic"}),
    )

    torch_classes = ("torch.nn.Upsample",)
    torch_functions = ("interpolate",)
    # F.interpolate's arguments after the input, in order, with their defaults (bind_call).
    call_arguments = {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
                      "recompute_scale_factor": None, "antialias": False}

    def from_torch(self, module):
        return self.from_torch_call("interpolate", [], {"size": module.size, "scale_factor": module.scale_factor,
                                                        "mode": module.mode, "align_corners": module.align_corners,
                                                        "recompute_scale_factor": module.recompute_scale_factor})

    def from_torch_call(self, name, constants, kwargs):
        """F.interpolate / nn.Upsample: one scale for both axes, or a size; no antialias, and no
        recomputed scale factor (torch then maps positions by the rounded sizes instead)."""
        a = bind_call(self.call_arguments, constants, kwargs)
        if a is None or a["mode"] not in _TAPS or a["antialias"] or a["recompute_scale_factor"]:
            return None
        scale, size = a["scale_factor"], a["size"]
        if isinstance(scale, (tuple, list)):
            if len(set(scale)) != 1:
                return None
            scale = scale[0]
        args = {"mode": a["mode"], "align_corners": bool(a["align_corners"])}
        if size is not None:
            args["size"] = torch_pair(size)
        if scale is not None:
            args["scale"] = int(scale) if float(scale).is_integer() else float(scale)
        return args

    def derive(self, node):
        a = node.args
        if (a["scale"] is None) == (a["size"] is None):
            raise OpError(f"upsample '{node.name}': give either `scale` or `size`", "scale")
        if a["align_corners"] and a["mode"] == "nearest":
            raise OpError(f"upsample '{node.name}': `align_corners` applies to bilinear and bicubic only",
                          "align_corners")
        return None

    def output_shape(self, node):
        c, h, w = expect_image(node)
        a = node.args
        if a["size"] is not None:
            return (c, *a["size"])
        out = (math.floor(h * a["scale"]), math.floor(w * a["scale"]))
        if min(out) < 1:
            raise OpError(f"upsample '{node.name}': scale {a['scale']:g} makes the {h}x{w} input from "
                          f"'{node.inputs[0].name}' {describe(out)}", "scale")
        return (c, *out)

    def other_ops(self, node):
        return numel(node.shape) * _TAPS[node.args["mode"]]

    def _ratio(self, node, axis: int) -> Fraction:
        """Input positions per output position, as torch maps them (its source-index scale)."""
        a, before, after = node.args, node.inputs[0].shape[1 + axis], node.shape[1 + axis]
        if a["align_corners"]:
            return Fraction(before - 1, after - 1) if after > 1 else Fraction(0)
        if a["scale"] is not None:
            return 1 / Fraction(a["scale"]).limit_denominator(1 << 16)
        return Fraction(before, after)

    def receptive_step(self, node):
        """Output position o reads the input around its source position (o·r for nearest and
        align_corners, (o + 1/2)·r − 1/2 otherwise, r the ratio): floor of it (nearest), or the
        positions nearer than 1 (bilinear) or 2 (bicubic). torch computes r in floating point, exact
        for powers of two only: other ratios widen the window by one on each side (an upper bound)."""
        a = node.args
        ratios = (self._ratio(node, 0), self._ratio(node, 1))
        exact = not a["align_corners"] and all(r > 0 and _power_of_two(r) for r in ratios)
        if a["mode"] == "bicubic":  # an integer source position reads itself only
            exact = exact and all(r != 1 for r in ratios)
        steps = [self._axis(node, r, 0 if exact else 1) for r in ratios]
        return ReceptiveStep(tuple(s[0] for s in steps), ratios, tuple(s[1] for s in steps), exact)

    def _axis(self, node, r: Fraction, margin: int) -> tuple[Fraction, Fraction]:
        """(kernel, padding) of one axis: the window [o·r − padding, o·r − padding + kernel − 1]."""
        a = node.args
        # Source positions are multiples of `grain`, so "nearer than" is "at most `grain` less than".
        grain = Fraction(1, 2 * r.denominator)
        if a["mode"] == "nearest":
            first, last = -(1 - Fraction(1, r.denominator)), Fraction(0)
        else:
            offset = Fraction(0) if a["align_corners"] else (r - 1) / 2
            reach = _REACH[a["mode"]] - grain
            first, last = offset - reach, offset + reach
        return last - first + 1 + 2 * margin, margin - first

    def torch_module(self, node):
        from torch import nn

        a = node.args
        return nn.Upsample(size=a["size"], scale_factor=a["scale"], mode=a["mode"],
                           align_corners=None if a["mode"] == "nearest" else a["align_corners"])


def _power_of_two(r: Fraction) -> bool:
    return r.numerator & (r.numerator - 1) == 0 and r.denominator & (r.denominator - 1) == 0


class _PixelShuffle(_Resample):
    fields = (Field("factor", "int", doc="the upscale (shuffle) or downscale (unshuffle) factor", minimum=1),)
    positional = ("factor",)
    # Moves data only.
    other_ops = none
    # The torch.nn class of the kind.
    module_name: str

    def torch_module(self, node):
        from torch import nn

        return getattr(nn, self.module_name)(node.args["factor"])


@register
class PixelShuffle(_PixelShuffle):
    kind = "pixel_shuffle"
    doc = "Depth to space (torch PixelShuffle): (C·r², H, W) -> (C, H·r, W·r)."
    rules = "(C·r², H, W) → (C, H·r, W·r); moves data, no ops; jump 1/r"
    module_name = "PixelShuffle"
    examples = (Example((8, 3, 2), [2]), Example((9, 2, 2), [3]))

    def output_shape(self, node):
        c, h, w = expect_image(node)
        r = node.args["factor"]
        if c % (r * r):
            raise OpError(f"pixel_shuffle '{node.name}': channels {c} from '{node.inputs[0].name}' are not "
                          f"divisible by factor² = {r * r}", "factor")
        return (c // (r * r), h * r, w * r)

    def receptive_step(self, node):
        """Output position o comes from input position floor(o / r)."""
        r = node.args["factor"]
        return ReceptiveStep((2 - Fraction(1, r),) * 2, (Fraction(1, r),) * 2, (1 - Fraction(1, r),) * 2)


@register
class PixelUnshuffle(_PixelShuffle):
    kind = "pixel_unshuffle"
    doc = "Space to depth (torch PixelUnshuffle): (C, H·r, W·r) -> (C·r², H, W)."
    rules = "(C, H·r, W·r) → (C·r², H, W); moves data, no ops; an r×r window of stride r"
    module_name = "PixelUnshuffle"
    examples = (Example((2, 4, 6), [2]),)

    def output_shape(self, node):
        c, h, w = expect_image(node)
        r = node.args["factor"]
        if h % r or w % r:
            raise OpError(f"pixel_unshuffle '{node.name}': the {h}x{w} input from '{node.inputs[0].name}' is not "
                          f"divisible by factor {r}", "factor")
        return (c * r * r, h // r, w // r)

    def receptive_step(self, node):
        r = node.args["factor"]
        return ReceptiveStep((r, r), (r, r))
